#ifndef VIGIL_PTY_H
#define VIGIL_PTY_H
#include <stddef.h>

/// posix_openpt + grantpt + unlockpt + ptsname_r in one call (Glibc's Swift module hides these
/// XSI functions). Returns the master fd and writes the slave path into `path`, or -1 with errno set.
int vigil_open_pty_master(int flags, char *path, size_t path_size);

/// Sets the calling thread's timer slack (prctl PR_SET_TIMERSLACK, variadic in C). The default
/// 50 us slack would stretch every paced byte of the virtual serial line. Returns 0 or -1.
int vigil_set_timer_slack_ns(unsigned long nanoseconds);

/// Sets the calling thread's nice value (setpriority on its tid: per thread on Linux), e.g. so the
/// operator console never competes with the scan cycle for a CPU. Returns 0 or -1 with errno.
int vigil_set_thread_nice(int nice);

#endif
