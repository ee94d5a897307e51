# `cmake --install` puts headers, libraries and weftConfig.cmake in place so that
# another project can `find_package(weft)` and link weft::core (and, as they
# arrive, weft::sync and weft::io).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
if(TARGET weft_io)
  set(WEFT_HAVE_IO ON)
else()
  set(WEFT_HAVE_IO OFF)
endif()

get_property(_weft_targets GLOBAL PROPERTY WEFT_INSTALL_TARGETS)
install(TARGETS weft_build_flags ${_weft_targets} EXPORT weftTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT weftTargets NAMESPACE weft:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/weft)
install(FILES cmake/FindConcurrentQueue.cmake DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/weft)

configure_package_config_file(cmake/weftConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/weftConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/weft)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/weftConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/weftConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/weftConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/weft)
