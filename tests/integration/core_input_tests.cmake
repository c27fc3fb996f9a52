# Cores as users have them (truncated, compressed, not a file) and the CLI's
# --pid: test_core_input.py. Labels: integration, robustness.
foreach(case TruncatedCoreTest CompressedCoreTest CorePathTest FileNoteBoundTest PidArgumentTest)
  heapscope_integration_test(core_input.${case} test_core_input.${case})
  set_property(TEST integration.core_input.${case} APPEND PROPERTY LABELS robustness)
endforeach()
