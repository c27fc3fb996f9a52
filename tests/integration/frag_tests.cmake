# Fragmentation, page residency and heap map tests (issue #7), include()d by
# tests/integration/CMakeLists.txt. They run examples/scenario_frag to a core
# and live, and open the HTML map in headless Chromium (skipped, with the
# reason, when the Debian package `chromium` is not installed).
heapscope_integration_test(frag.core frag_scenario_test.FragCoreTest)
heapscope_integration_test(frag.live frag_scenario_test.FragLiveTest)
heapscope_integration_test(frag.html frag_html_test.HeapMapHtmlTest TIMEOUT 900)
heapscope_integration_test(frag.html_million frag_html_test.HeapMapMillionTest TIMEOUT 1800)
heapscope_integration_test(frag.mems frag_mems_test)
