# What `heapscope --pid` costs on a sparse process (issue 16 item 6): a 6 GiB
# untouched mapping and 300 idle threads; peak RSS, wall time and the
# target's own stop time. Included by CMakeLists.txt here. Label: live.
add_executable(live_sparse ${CMAKE_CURRENT_LIST_DIR}/programs/live_sparse.c)
target_compile_options(live_sparse PRIVATE -g -O1)
target_link_libraries(live_sparse PRIVATE Threads::Threads)
if(HEAPSCOPE_SANITIZE)
  target_compile_options(live_sparse PRIVATE -fno-sanitize=all)
  target_link_options(live_sparse PRIVATE -fno-sanitize=all)
endif()
set_target_properties(live_sparse PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/programs)

heapscope_integration_test(live.cost live_cost_test TIMEOUT 300)
# "speed": memory and time bounds, meaningless under the sanitizers (scripts/sanitize.sh skips it).
set_tests_properties(integration.live.cost PROPERTIES LABELS "integration;live;speed")
