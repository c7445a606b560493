#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "vigil_pty.h"

int vigil_open_pty_master(int flags, char *path, size_t path_size) {
    int m = posix_openpt(flags);
    if (m < 0) return -1;
    if (grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, path, path_size) != 0) {
        int e = errno;
        close(m);
        errno = e;
        return -1;
    }
    return m;
}

#include <sys/prctl.h>

int vigil_set_timer_slack_ns(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0);
}

#include <sys/resource.h>
#include <sys/syscall.h>

int vigil_set_thread_nice(int nice) {
    // setpriority(PRIO_PROCESS, tid) sets one thread's nice value on Linux.
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}
