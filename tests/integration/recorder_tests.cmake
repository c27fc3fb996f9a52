# heap sites on a program run under libheapscope-record (tests/recorder/programs/record_sites.c):
# CLI, gdb and lldb against the program's own record of its allocation sites.
# Included from tests/integration/CMakeLists.txt after heapscope_integration_test().
if(NOT TARGET record_sites OR NOT TARGET heapscope-record)
  return()
endif()
heapscope_integration_test(recorder.heap_sites record_sites_test TIMEOUT 300)
set_property(TEST integration.recorder.heap_sites APPEND PROPERTY LABELS recorder)
set_property(TEST integration.recorder.heap_sites APPEND PROPERTY ENVIRONMENT
  "HEAPSCOPE_RECORD_LIB=$<TARGET_FILE:heapscope-record>"
  "HEAPSCOPE_RECORD_SITES=$<TARGET_FILE:record_sites>"
  "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")

# heap snapshot / heap diff / heapscope diff on record_growth's two cores.
if(TARGET record_growth)
  heapscope_integration_test(recorder.heap_diff record_diff_test TIMEOUT 300)
  set_property(TEST integration.recorder.heap_diff APPEND PROPERTY LABELS recorder)
  set_property(TEST integration.recorder.heap_diff APPEND PROPERTY ENVIRONMENT
    "HEAPSCOPE_RECORD_LIB=$<TARGET_FILE:heapscope-record>"
    "HEAPSCOPE_RECORD_GROWTH=$<TARGET_FILE:record_growth>"
    "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")
endif()
