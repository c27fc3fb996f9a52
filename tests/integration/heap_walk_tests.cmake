# The glibc heap walk on real programs' shapes: threads in waves (freed
# tcaches of exited threads, issue 22), mmapped chunks among other anonymous
# mappings and memory that follows the heap, not the core (issue 15).
# Included by CMakeLists.txt.
heapscope_integration_test(walk.thread_waves.core thread_waves_test.CoreTest TIMEOUT 300)
heapscope_integration_test(walk.thread_waves.live thread_waves_test.LiveTest TIMEOUT 300)
heapscope_integration_test(walk.anon_maps anon_maps_test.FalseMmappedTest TIMEOUT 120)
heapscope_integration_test(walk.memory anon_maps_test.MemoryTest TIMEOUT 120)
set_tests_properties(integration.walk.thread_waves.core integration.walk.thread_waves.live
  PROPERTIES LABELS "integration;gdb;lldb")
set_tests_properties(integration.walk.memory PROPERTIES LABELS "integration;memory")
heapscope_integration_test(walk.address_wrap address_wrap_test TIMEOUT 200)
