# jemalloc model tests (examples/jemalloc_*, linked with libjemalloc or
# preloaded). Included by CMakeLists.txt here. Labels: integration, jemalloc.
if(NOT HEAPSCOPE_JEMALLOC_LIBRARY)
  message(STATUS "heapscope: no libjemalloc, jemalloc tests disabled")
  return()
endif()
# What LD_PRELOAD names: the library the examples link (libjemalloc.so.2).
get_filename_component(HEAPSCOPE_JEMALLOC_SONAME ${HEAPSCOPE_JEMALLOC_LIBRARY} REALPATH)
add_executable(jemalloc_model_dump ${CMAKE_CURRENT_SOURCE_DIR}/programs/jemalloc_model_dump.cc)
target_link_libraries(jemalloc_model_dump PRIVATE heapscope::core)
set_target_properties(jemalloc_model_dump PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/programs)
foreach(name threads tcache live preload static cxx front_ends)
  string(REPLACE "_" ";" words ${name})
  set(class "")
  foreach(word ${words})
    string(SUBSTRING ${word} 0 1 first)
    string(TOUPPER ${first} first)
    string(SUBSTRING ${word} 1 -1 rest)
    string(APPEND class ${first}${rest})
  endforeach()
  heapscope_integration_test(jemalloc.${name} jemalloc_test.Jemalloc${class}Test TIMEOUT 180)
  set_property(TEST integration.jemalloc.${name} APPEND PROPERTY LABELS jemalloc)
  set_property(TEST integration.jemalloc.${name} APPEND PROPERTY ENVIRONMENT
    "HEAPSCOPE_LIBJEMALLOC=${HEAPSCOPE_JEMALLOC_SONAME}"
    "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")
endforeach()
