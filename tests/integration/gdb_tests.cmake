# GDB front-end integration tests, include()d by tests/integration/CMakeLists.txt.
# Each runs the real gdb -batch with share/heapscope/heapscope-gdb.py and
# compares every command with the CLI's output (tests/integration/gdb_*.py).
find_program(HEAPSCOPE_GDB_FOR_TESTS gdb)
if(NOT HEAPSCOPE_GDB_FOR_TESTS)
  message(STATUS "heapscope: gdb not found; GDB integration tests disabled")
  return()
endif()
if(NOT Python3_EXECUTABLE)
  find_package(Python3 COMPONENTS Interpreter)
endif()

# The scenario program the gdb tests stop at (heapscope_stop) or dump.
add_executable(gdb_scenario ${CMAKE_CURRENT_LIST_DIR}/programs/gdb_scenario.c)
target_compile_options(gdb_scenario PRIVATE -g -O1)
# A plain glibc malloc program under HEAPSCOPE_SANITIZE too, like the
# examples: ASan's allocator would replace the heap under test, and ASan
# turns core dumps off.
if(HEAPSCOPE_SANITIZE)
  target_compile_options(gdb_scenario PRIVATE -fno-sanitize=all)
  target_link_options(gdb_scenario PRIVATE -fno-sanitize=all)
endif()
target_link_libraries(gdb_scenario PRIVATE Threads::Threads)

set(_gdb_test_env
  HEAPSCOPE_BUILD_DIR=${PROJECT_BINARY_DIR}
  HEAPSCOPE_CLI=$<TARGET_FILE:heapscope>
  HEAPSCOPE_GDB_SCENARIO=$<TARGET_FILE:gdb_scenario>
  PYTHONDONTWRITEBYTECODE=1
  DEBUGINFOD_URLS=
  ${HEAPSCOPE_SANITIZER_TEST_ENV})
foreach(_case
    CoreTest.test_gdb_scenario CoreTest.test_examples CoreTest.test_no_debuginfo_setting
    LiveTest.test_native LiveTest.test_gdbserver LiveTest.test_session_reused_per_stop
    PrinterTest ErrorTest AddressExpressionTest SmallFixesTest
    DefaultArenaTest MallocParametersTest ChunkDumpTest)
  add_test(NAME integration.gdb.${_case}
    COMMAND ${Python3_EXECUTABLE} -m unittest -v gdb_frontend_test.${_case}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(integration.gdb.${_case} PROPERTIES
    LABELS "integration;gdb" TIMEOUT 900 ENVIRONMENT "${_gdb_test_env}")
endforeach()
# Second longest (170 s under ASan): started early, like lldb_plugin.
set_tests_properties(integration.gdb.CoreTest.test_examples PROPERTIES COST 170)
