#include "vigil_bench.h"
#include <time.h>

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
