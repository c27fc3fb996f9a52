# heap leaks / heap refs / types on the leak scenarios (examples/leaks_*),
# with valgrind and lldb cross-checks. Included by CMakeLists.txt here.
heapscope_integration_test(leaks.basic leaks_test.LeaksBasicTest)
heapscope_integration_test(leaks.cxx leaks_test.LeaksCxxTest)
heapscope_integration_test(leaks.tls leaks_test.LeaksTlsTest)
heapscope_integration_test(leaks.jemalloc_basic leaks_test.JemallocLeaksBasicTest)
heapscope_integration_test(leaks.jemalloc_cxx leaks_test.JemallocLeaksCxxTest)
set_property(TEST integration.leaks.basic integration.leaks.cxx APPEND PROPERTY ENVIRONMENT
  "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so")
