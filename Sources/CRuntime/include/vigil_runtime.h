#ifndef VIGIL_RUNTIME_H
#define VIGIL_RUNTIME_H
#include <stdint.h>

/// prctl(PR_SET_TIMERSLACK) for the calling thread. Returns 0 or -errno.
int vigil_rt_set_timer_slack(unsigned long nanoseconds);
/// Pins the calling thread to one CPU (sched_setaffinity). Returns 0 or -errno.
int vigil_rt_pin_to_cpu(int cpu);
/// SCHED_FIFO at `priority` for the calling thread (pthread_setschedparam). Returns 0 or -errno.
int vigil_rt_set_fifo(int priority);
/// Background work (the policy learner): SCHED_IDLE for the calling thread, or nice 19 where that
/// is refused. Returns 0 when SCHED_IDLE took, 1 for nice, or -errno.
/// Sets the calling thread's nice value (Linux: per thread). 0 on success, -errno otherwise.
int vigil_rt_set_thread_nice(int nice);
int vigil_rt_make_background(void);
/// mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT): pages stay resident once touched. Returns 0 or -errno.
int vigil_rt_lock_memory(void);
/// Touches 256 KB of the calling thread's stack so it is resident before the cycle loop starts.
void vigil_rt_prefault_stack(void);
/// Sleeps until an absolute CLOCK_MONOTONIC deadline (clock_nanosleep, TIMER_ABSTIME), restarting on EINTR.
void vigil_rt_sleep_until(uint64_t deadline_ns);
/// CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds.
uint64_t vigil_rt_monotonic_ns(void);
int64_t vigil_rt_realtime_ns(void);
#endif
