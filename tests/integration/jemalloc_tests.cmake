# jemalloc model tests (examples/jemalloc_*, linked with libjemalloc).
# Included by CMakeLists.txt here. Label: jemalloc.
if(NOT HEAPSCOPE_JEMALLOC_LIBRARY)
  message(STATUS "heapscope: no libjemalloc, jemalloc tests disabled")
  return()
endif()
add_executable(jemalloc_model_dump ${CMAKE_CURRENT_SOURCE_DIR}/programs/jemalloc_model_dump.cc)
target_link_libraries(jemalloc_model_dump PRIVATE heapscope::core)
set_target_properties(jemalloc_model_dump PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/programs)
heapscope_integration_test(jemalloc.threads jemalloc_test.JemallocThreadsTest TIMEOUT 120)
set_property(TEST integration.jemalloc.threads APPEND PROPERTY LABELS jemalloc)
