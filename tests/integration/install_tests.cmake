# Installing: the generated man page and shell completions against the CLI's
# own help, and `cmake --install` into a scratch DESTDIR run from there (CLI,
# gdb with ~/.gdbinit, lldb with ~/.lldbinit, man). The same driver checks the
# installed .deb in CI (scripts/package-test.sh). Label: install.
foreach(_case generated_docs_test install_tree_test)
  heapscope_integration_test(install.${_case} ${_case} TIMEOUT 300)
  set_tests_properties(integration.install.${_case} PROPERTIES LABELS "integration;install")
endforeach()
