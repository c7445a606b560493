#ifndef VIGIL_BENCH_H
#define VIGIL_BENCH_H
#include <stdint.h>
#include <modbus/modbus.h>

/// The reference for `vigil bench`: a plain C loop of modbus_read_registers (function 3), as a
/// C programmer would write it. Returns the number of failed transactions.
long vigil_bench_c_read_loop(modbus_t *ctx, int address, int count, long iterations, uint16_t *dest);

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC).
uint64_t vigil_bench_now_ns(void);
#endif

#ifndef VIGIL_BENCH_SLEEP_H
#define VIGIL_BENCH_SLEEP_H
/// The reference for the cycle-lateness benchmark: a plain C loop that sleeps to absolute
/// CLOCK_MONOTONIC deadlines with clock_nanosleep(TIMER_ABSTIME), as classic soft PLCs do, and
/// records each wake-up's lateness (ns) into `lateness`. Default timer slack, normal scheduler.
void vigil_bench_c_sleep_loop(uint64_t period_ns, long iterations, uint64_t *lateness);
#endif
