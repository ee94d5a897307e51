# Warnings and sanitizer flags shared by every weft target.
#
# The sanitizer builds keep -O2: g++ 12 only turns the coroutine hand-offs into
# tail calls from -O2 up (DESIGN.md, hard-won rules), and a stress test at -O0
# under TSan would take the whole CI budget.

add_library(weft_build_flags INTERFACE)
target_compile_options(weft_build_flags INTERFACE -Wall -Wextra)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 warns on valid std::atomic uses inside coroutine frames (PR 105380-like false positives).
  target_compile_options(weft_build_flags INTERFACE -Wno-mismatched-new-delete)
endif()

if(WEFT_SANITIZE STREQUAL "address")
  set(_weft_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${_weft_san})
  add_link_options(${_weft_san})
  add_compile_definitions(WEFT_ASAN=1)
elseif(WEFT_SANITIZE STREQUAL "thread")
  set(_weft_san -fsanitize=thread -fno-omit-frame-pointer)
  add_compile_options(${_weft_san})
  add_link_options(${_weft_san})
  # TSan does not model standalone fences: weft uses seq_cst operations instead under WEFT_TSAN.
  add_compile_definitions(WEFT_TSAN=1)
elseif(NOT WEFT_SANITIZE STREQUAL "")
  message(FATAL_ERROR "WEFT_SANITIZE must be '', 'address' or 'thread', not '${WEFT_SANITIZE}'")
endif()

# The model-checking build (weft/model.hpp): core/ and sync/ run their atomics,
# futexes, clocks and threads through the model scheduler. Only the model tests
# are built: the rest of the suite expects real time and real threads.
if(WEFT_MODEL)
  add_compile_definitions(WEFT_MODEL=1)
endif()

# weft_code_needs_missing_io(CODE OUT): OUT is TRUE when CODE (a source text)
# includes weft's I/O headers (or the I/O tests' support) and this build has
# no weft::io (WEFT_IO=OFF): tools, tests and README snippets that need I/O
# are then left out. Call it after the libraries are defined.
function(weft_code_needs_missing_io code out)
  if(NOT TARGET weft::io AND code MATCHES "#include [<\"][^\">]*(weft/(io|http/|crawler)|io_test_support)")
    set(${out} TRUE PARENT_SCOPE)
  else()
    set(${out} FALSE PARENT_SCOPE)
  endif()
endfunction()
