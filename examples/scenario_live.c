/* scenario_live: the heap of scenario_single in a process that stays alive.
 * It prints the oracle, then "READY pid=N", then waits for one line on
 * stdin without touching the heap (read(2) on fd 0, no stdio buffers), then
 * prints "BYE" and exits 0. Tests attach with `heapscope --pid`, gdb or lldb
 * while it waits.
 */
#include "oracle.h"
#include "single_heap.h"

int main(void) {
  oracle_init();
  build_single_heap();
  oracle_print();
  ready_and_wait();
  say("BYE\n");
  return 0;
}
