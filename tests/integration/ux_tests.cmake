# Issue 21's debugger comforts: colour in the CLI, gdb and lldb.
# Included by CMakeLists.txt.
heapscope_integration_test(color.cli color_test.CliColorTest TIMEOUT 120)
heapscope_integration_test(color.gdb color_test.GdbColorTest TIMEOUT 300)
heapscope_integration_test(color.lldb color_test.LldbColorTest TIMEOUT 300)
set_tests_properties(integration.color.cli PROPERTIES LABELS "integration;ux")
set_tests_properties(integration.color.gdb PROPERTIES LABELS "integration;gdb;ux")
set_tests_properties(integration.color.lldb PROPERTIES LABELS "integration;lldb;ux")
# heap try-free against what the real free() did (examples/try_free).
heapscope_integration_test(try_free.cli try_free_test.TryFreeOracleTest TIMEOUT 120)
heapscope_integration_test(try_free.frontends try_free_test.TryFreeFrontEndsTest TIMEOUT 300)
set_tests_properties(integration.try_free.cli PROPERTIES LABELS "integration;ux")
set_tests_properties(integration.try_free.frontends PROPERTIES LABELS "integration;gdb;lldb;ux")
# heap bins --all: the empty lists too.
heapscope_integration_test(bins_all.cli bins_all_test.BinsAllTest TIMEOUT 120)
heapscope_integration_test(bins_all.frontends bins_all_test.BinsAllFrontEndsTest TIMEOUT 300)
set_tests_properties(integration.bins_all.cli PROPERTIES LABELS "integration;ux")
set_tests_properties(integration.bins_all.frontends PROPERTIES LABELS "integration;gdb;lldb;ux")
# The HTML map: problems and leaks marked and listed, mmapped chunks drawn (headless Chromium).
heapscope_integration_test(frag.html_marks frag_html_test.HeapMapMarksTest TIMEOUT 600)
set_tests_properties(integration.frag.html_marks PROPERTIES LABELS "integration;ux")
