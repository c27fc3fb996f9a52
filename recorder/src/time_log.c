/* When allocations happened, without a timestamp per record: a log of
 * (first seq, time) marks, one each time the coarse clock has moved on by
 * the log's interval. When the log is full every other mark is dropped and
 * the interval doubles, so the log stays bounded in a long run. */
#define _GNU_SOURCE
#include <time.h>

#include "recorder.h"

#define R heapscope_record_root
#define CAPACITY 65536u
#define FIRST_INTERVAL_NS 1000000ull /* 1 ms */

static uint64_t now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int hsr_time_log_init(void) {
    struct hsr_time_mark *log = hsr_map(CAPACITY * sizeof(struct hsr_time_mark));
    if (!log)
        return 0;
    R.time_log = (uint64_t)(uintptr_t)log;
    R.time_log_capacity = CAPACITY;
    R.time_log_interval_ns = FIRST_INTERVAL_NS;
    R.start_monotonic_ns = now_ns(CLOCK_MONOTONIC);
    R.start_realtime_ns = now_ns(CLOCK_REALTIME);
    return 1;
}

static void halve(struct hsr_time_mark *log) {
    uint64_t kept = 0;
    for (uint64_t i = 0; i < R.time_log_count; i += 2)
        log[kept++] = log[i];
    R.time_log_count = kept;
    R.time_log_interval_ns *= 2;
}

void hsr_time_log_note(uint64_t seq) {
    struct hsr_time_mark *log = (struct hsr_time_mark *)(uintptr_t)R.time_log;
    if (!log)
        return;
    /* The coarse clock is a memory read in the vDSO: cheap enough per call. */
    uint64_t now = now_ns(CLOCK_MONOTONIC_COARSE);
    if (R.time_log_count > 0 && now < log[R.time_log_count - 1].time_ns + R.time_log_interval_ns)
        return;
    if (R.time_log_count == R.time_log_capacity)
        halve(log);
    log[R.time_log_count].seq = seq;
    log[R.time_log_count].time_ns = now;
    R.time_log_count++;
}
