#include "vigil_bench.h"
#include <time.h>
#include <errno.h>

long vigil_bench_c_read_loop(modbus_t *ctx, int address, int count, long iterations, uint16_t *dest) {
    long failures = 0;
    for (long i = 0; i < iterations; i++) {
        if (modbus_read_registers(ctx, address, count, dest) != count) failures++;
    }
    return failures;
}

uint64_t vigil_bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vigil_bench_c_sleep_loop(uint64_t period_ns, long iterations, uint64_t *lateness) {
    uint64_t deadline = vigil_bench_now_ns() + period_ns;
    for (long i = 0; i < iterations; i++) {
        struct timespec ts = { .tv_sec = (time_t)(deadline / 1000000000ull), .tv_nsec = (long)(deadline % 1000000000ull) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
        uint64_t now = vigil_bench_now_ns();
        lateness[i] = now > deadline ? now - deadline : 0;
        deadline += period_ns;
    }
}
