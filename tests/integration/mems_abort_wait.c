/*
 * mems_abort_wait — an LD_PRELOAD shim for the mems live integration test.
 * It replaces abort(): a scenario program that would dump core (mems_demo)
 * instead prints READY and waits for a line on stdin, so the same program
 * and the same oracle serve for a core file and for a live process. When the
 * line arrives it prints BYE and exits 0.
 */
#include <stdlib.h>
#include <unistd.h>

void abort(void) {
    static const char ready[] = "READY\n";
    static const char bye[] = "BYE\n";
    if (write(1, ready, sizeof ready - 1) < 0) _exit(3);
    char c;
    while (read(0, &c, 1) == 1 && c != '\n') {
    }
    if (write(1, bye, sizeof bye - 1) < 0) _exit(3);
    _exit(0);
}
