# mems integration tests: mems_demo run to a core (and, through an abort()
# shim, kept alive for --pid), then the `mems ...` commands held against what
# the program printed. Included from tests/integration/CMakeLists.txt after
# heapscope_integration_test() is defined.
if(NOT TARGET mems_demo)
  message(STATUS "heapscope: no mems_demo, mems integration tests disabled")
  return()
endif()

add_library(mems_abort_wait MODULE ${CMAKE_CURRENT_LIST_DIR}/mems_abort_wait.c)
set_target_properties(mems_abort_wait PROPERTIES PREFIX ""
  LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/programs)
target_compile_options(mems_abort_wait PRIVATE -O0 -g)

heapscope_integration_test(mems.core mems_cli_test.MemsCoreTest)
heapscope_integration_test(mems.stripped mems_cli_test.MemsStrippedTest)
heapscope_integration_test(mems.absent mems_cli_test.MemsAbsentTest)
heapscope_integration_test(mems.live mems_cli_test.MemsLiveTest)
heapscope_integration_test(mems.model mems_model_test.MemsModelTest)
set_property(TEST integration.mems.model APPEND PROPERTY ENVIRONMENT
  "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")
set_property(TEST integration.mems.live APPEND PROPERTY ENVIRONMENT
  "HEAPSCOPE_MEMS_ABORT_WAIT=$<TARGET_FILE:mems_abort_wait>")

# mems leaks on examples/mems_leaks (CLI, gdb, lldb).
if(TARGET mems_leaks)
  heapscope_integration_test(mems.leaks mems_leaks_test.MemsLeaksTest)
  set_property(TEST integration.mems.leaks APPEND PROPERTY ENVIRONMENT
    "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")
endif()

# MeMS sites through heap sites / chunk / flamegraph on examples/mems_sites (CLI, gdb, lldb).
if(TARGET mems_sites)
  heapscope_integration_test(mems.sites mems_sites_test TIMEOUT 300)
  set_property(TEST integration.mems.sites APPEND PROPERTY LABELS mems)
  set_property(TEST integration.mems.sites APPEND PROPERTY ENVIRONMENT
    "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")
endif()
