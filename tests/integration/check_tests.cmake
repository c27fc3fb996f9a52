# heap check on real corrupted heaps (examples/corrupt_heap) and on the clean
# examples, through the CLI, gdb and lldb. Included by CMakeLists.txt.
heapscope_integration_test(check.cli check_corruption_test.CliCorruptionTest TIMEOUT 300)
heapscope_integration_test(check.clean check_corruption_test.CleanExamplesTest TIMEOUT 300)
heapscope_integration_test(check.gdb check_corruption_test.GdbCorruptionTest TIMEOUT 600)
heapscope_integration_test(check.lldb check_corruption_test.LldbCorruptionTest TIMEOUT 600)
set_tests_properties(integration.check.gdb PROPERTIES LABELS "integration;gdb")
set_tests_properties(integration.check.lldb PROPERTIES LABELS "integration;lldb")
