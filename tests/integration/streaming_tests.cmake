# Streamed listings (issue 16 item 7): memory and first-byte latency of a big
# `heap chunks` on a bench/gen_heap core, and gdb's pager on a streamed
# listing. Included by CMakeLists.txt here. Label: streaming.
heapscope_integration_test(streaming.cli streaming_test TIMEOUT 300)
# "speed": RSS bounds, meaningless under the sanitizers (scripts/sanitize.sh skips it).
set_tests_properties(integration.streaming.cli PROPERTIES LABELS "integration;streaming;speed")
if(HEAPSCOPE_GDB_FOR_TESTS)
  heapscope_integration_test(streaming.gdb_pager gdb_pager_test TIMEOUT 300)
  set_tests_properties(integration.streaming.gdb_pager PROPERTIES LABELS "integration;streaming;gdb")
endif()
