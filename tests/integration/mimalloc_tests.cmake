# mimalloc model tests (examples/mimalloc_*, linked with libmimalloc or
# preloaded). Included by CMakeLists.txt here. Labels: integration, mimalloc.
if(NOT HEAPSCOPE_MIMALLOC_LIBRARY)
  message(STATUS "heapscope: no libmimalloc, mimalloc tests disabled")
  return()
endif()
# What LD_PRELOAD names: the library the examples link (libmimalloc.so.2).
get_filename_component(HEAPSCOPE_MIMALLOC_SONAME ${HEAPSCOPE_MIMALLOC_LIBRARY} REALPATH)
add_executable(mimalloc_model_dump ${CMAKE_CURRENT_SOURCE_DIR}/programs/mimalloc_model_dump.cc)
target_link_libraries(mimalloc_model_dump PRIVATE heapscope::core nlohmann_json::nlohmann_json)
set_target_properties(mimalloc_model_dump PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/programs)
foreach(class Threads Preload Exited Live FrontEnds)
  string(TOLOWER ${class} name)
  heapscope_integration_test(mimalloc.${name} mimalloc_test.Mimalloc${class}Test TIMEOUT 180)
  set_property(TEST integration.mimalloc.${name} APPEND PROPERTY LABELS mimalloc)
  set_property(TEST integration.mimalloc.${name} APPEND PROPERTY ENVIRONMENT
    "HEAPSCOPE_LIBMIMALLOC=${HEAPSCOPE_MIMALLOC_SONAME}"
    "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")
endforeach()
# The leak scenarios linked with mimalloc: the same expected sets as on glibc.
foreach(class Basic Cxx)
  string(TOLOWER ${class} name)
  heapscope_integration_test(leaks.mimalloc_${name} leaks_test.MimallocLeaks${class}Test TIMEOUT 180)
  set_property(TEST integration.leaks.mimalloc_${name} APPEND PROPERTY LABELS mimalloc)
endforeach()
