# Warnings and instrumentation shared by every Till target (via the till_options interface).
add_library(till_options INTERFACE)
target_compile_features(till_options INTERFACE cxx_std_20)
target_compile_options(till_options INTERFACE -Wall -Wextra -Wpedantic
  -Wnon-virtual-dtor -Wimplicit-fallthrough
  # clang 14 has no -Wshadow=local; its plain -Wshadow is far noisier than GCC's local flavour.
  $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>)
if(TILL_WERROR)
  target_compile_options(till_options INTERFACE -Werror)
endif()
if(TILL_SANITIZE)
  target_compile_options(till_options INTERFACE -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(till_options INTERFACE -fsanitize=address,undefined)
endif()
if(TILL_COVERAGE)
  target_compile_options(till_options INTERFACE --coverage -O0)
  target_link_options(till_options INTERFACE --coverage)
endif()

# till_add_library(name folder [sources...] LINK deps...): a layer of Till.
function(till_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                     PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC} PRIVATE till_options ${ARG_PRIVATE})
endfunction()

# till_add_program(name sources... LINK deps...): an executable that answers --version.
# A program named till-<something> is one Till ships (test children and benchmarks use
# underscores): it joins the global TILL_PROGRAMS list, and tests/release checks that its
# --version prints exactly "<name> <PROJECT_VERSION>", so a new program is checked too.
function(till_add_program name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE till_options ${ARG_LINK})
  target_compile_definitions(${name} PRIVATE TILL_VERSION="${PROJECT_VERSION}")
  if(name MATCHES "^till-")
    set_property(GLOBAL APPEND PROPERTY TILL_PROGRAMS ${name})
  endif()
endfunction()
