#ifndef VIGIL_PTY_H
#define VIGIL_PTY_H
#include <stddef.h>

/// posix_openpt + grantpt + unlockpt + ptsname_r in one call (Glibc's Swift module hides these
/// XSI functions). Returns the master fd and writes the slave path into `path`, or -1 with errno set.
int vigil_open_pty_master(int flags, char *path, size_t path_size);

#endif
