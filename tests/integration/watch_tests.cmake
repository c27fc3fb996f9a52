# heapscope --pid PID --watch SECONDS heap stats (issue 20): samples of a
# live process that grows by known steps, and the growth plot in Chromium.
# Included by CMakeLists.txt here. Labels: integration, live, watch.
heapscope_integration_test(live.watch watch_test TIMEOUT 180)
set_tests_properties(integration.live.watch PROPERTIES LABELS "integration;live;watch")
