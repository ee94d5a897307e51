# weft_add_library(NAME core SOURCES ... DEPS ...): one weft library with its
# public headers under <dir>/include, registered for install as weft::NAME.
function(weft_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(weft_${name} ${ARG_SOURCES})
  add_library(weft::${name} ALIAS weft_${name})
  set_target_properties(weft_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME weft_${name})
  target_include_directories(weft_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(weft_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE weft_build_flags ${ARG_PRIVATE_DEPS})
  target_compile_features(weft_${name} PUBLIC cxx_std_20)
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  set_property(GLOBAL APPEND PROPERTY WEFT_INSTALL_TARGETS weft_${name})
endfunction()
