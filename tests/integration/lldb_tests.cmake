# LLDB plugin integration tests. tests/integration/CMakeLists.txt includes every
# *_tests.cmake file beside it.
# The tests skip themselves when no lldb is installed; with lldb but without
# the plugin (no liblldb-19-dev at configure time) they fail and say so.

add_executable(lldb_scenario ${CMAKE_CURRENT_LIST_DIR}/programs/lldb_scenario.c)
target_compile_options(lldb_scenario PRIVATE -O0 -g)
# A plain glibc malloc program under HEAPSCOPE_SANITIZE too, like the
# examples: ASan's allocator would replace the heap under test, and ASan
# turns core dumps off.
if(HEAPSCOPE_SANITIZE)
  target_compile_options(lldb_scenario PRIVATE -fno-sanitize=all)
  target_link_options(lldb_scenario PRIVATE -fno-sanitize=all)
endif()
set_target_properties(lldb_scenario PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/programs)

find_package(Python3 COMPONENTS Interpreter REQUIRED)
# The plugin is configured after tests/ (top-level order), so name its file
# by the build layout rather than by target.
set(_heapscope_lldb_env
  "HEAPSCOPE_BUILD_DIR=${PROJECT_BINARY_DIR}"
  "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so"
  "HEAPSCOPE_LLDB_SCENARIO=$<TARGET_FILE:lldb_scenario>"
  "DEBUGINFOD_URLS="
  ${HEAPSCOPE_SANITIZER_TEST_ENV})

add_test(NAME lldb_plugin
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/lldb_plugin_test.py)
# COST: the longest test (about 40 s plain, 300 s under ASan); a fresh build
# has no timing history, so ctest -j would otherwise start it last, alone.
set_tests_properties(lldb_plugin PROPERTIES
  LABELS integration TIMEOUT 900 COST 300 ENVIRONMENT "${_heapscope_lldb_env}")

# lldb_speed_test.py measures `heap stats` inside lldb against the CLI. It is a
# benchmark, not a test (timings on a shared machine are noise), so it is not
# registered; run it by hand with the environment above.
