# LLDB plugin integration tests. Included from tests/integration/CMakeLists.txt:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/lldb_tests.cmake)
# The tests skip themselves when no lldb is installed; with lldb but without
# the plugin (no liblldb-19-dev at configure time) they fail and say so.

add_executable(lldb_scenario ${CMAKE_CURRENT_LIST_DIR}/programs/lldb_scenario.c)
target_compile_options(lldb_scenario PRIVATE -O0 -g)
set_target_properties(lldb_scenario PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/programs)

find_package(Python3 COMPONENTS Interpreter REQUIRED)
# The plugin is configured after tests/ (top-level order), so name its file
# by the build layout rather than by target.
set(_heapscope_lldb_env
  "HEAPSCOPE_BUILD_DIR=${PROJECT_BINARY_DIR}"
  "HEAPSCOPE_LLDB_PLUGIN=${PROJECT_BINARY_DIR}/lib/heapscope/libheapscope-lldb.so"
  "HEAPSCOPE_LLDB_SCENARIO=$<TARGET_FILE:lldb_scenario>")

add_test(NAME lldb_plugin
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/lldb_plugin_test.py)
set_tests_properties(lldb_plugin PROPERTIES
  LABELS integration TIMEOUT 900 ENVIRONMENT "${_heapscope_lldb_env}")

add_test(NAME lldb_speed
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_LIST_DIR}/lldb_speed_test.py)
set_tests_properties(lldb_speed PROPERTIES
  LABELS "integration;speed" TIMEOUT 1200 ENVIRONMENT "${_heapscope_lldb_env}")
