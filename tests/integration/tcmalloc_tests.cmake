# gperftools tcmalloc model tests (examples/tcmalloc_*, linked with
# libtcmalloc_minimal). Included by CMakeLists.txt here. Labels: integration, tcmalloc.
if(NOT HEAPSCOPE_TCMALLOC_LIBRARY)
  message(STATUS "heapscope: no libtcmalloc_minimal, tcmalloc tests disabled")
  return()
endif()
add_executable(tcmalloc_model_dump ${CMAKE_CURRENT_SOURCE_DIR}/programs/tcmalloc_model_dump.cc)
target_link_libraries(tcmalloc_model_dump PRIVATE heapscope::core nlohmann_json::nlohmann_json)
set_target_properties(tcmalloc_model_dump PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/programs)
foreach(class ThreadsTest StaticTest FrontEndsTest LiveTest DamagedTest)
  heapscope_integration_test(tcmalloc.${class} tcmalloc_test.Tcmalloc${class} TIMEOUT 180)
  set_property(TEST integration.tcmalloc.${class} APPEND PROPERTY LABELS tcmalloc)
  set_property(TEST integration.tcmalloc.${class} APPEND PROPERTY ENVIRONMENT
    "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")
endforeach()
