/* scenario_single: one thread, chunks in every state (in use, tcache, fast,
 * unsorted, small, large, top), then glibc's own figures and a core dump.
 *   ./scenario_single          prints the oracle, then abort()s (core)
 *   ./scenario_single --exit   prints the oracle, then exits 0
 */
#include "oracle.h"
#include "single_heap.h"

int main(int argc, char **argv) {
  oracle_init();
  int exit_normally = oracle_wants_exit(argc, argv);
  build_single_heap();
  oracle_finish(exit_normally);
  return 0;
}
