// Exercises Vigil's C seams on the architecture they were compiled for (scripts/check-arm64 runs
// it under qemu-aarch64): the real-time helpers, the pty shim, the libgpiod shim's error paths
// and the C reference loops' clock. Prints one line per check; exits 1 on the first failure.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vigil_runtime.h"
#include "vigil_pty.h"
#include "vigil_gpiod.h"
#include "vigil_bench.h"

static int failures = 0;
#define CHECK(cond, ...) do { \
    if (cond) { printf("ok    "); printf(__VA_ARGS__); printf("\n"); } \
    else { printf("FAIL  "); printf(__VA_ARGS__); printf("\n"); failures++; } \
} while (0)

int main(void) {
#if defined(__aarch64__)
    CHECK(1, "compiled for aarch64, sizeof(long) = %zu, sizeof(void *) = %zu", sizeof(long), sizeof(void *));
#else
    CHECK(1, "compiled for the host architecture");
#endif
    uint64_t t0 = vigil_rt_monotonic_ns();
    vigil_rt_sleep_until(t0 + 2000000);
    uint64_t t1 = vigil_rt_monotonic_ns();
    CHECK(t1 >= t0 + 2000000, "vigil_rt_sleep_until waits for an absolute deadline (%llu ns)", (unsigned long long)(t1 - t0));
    CHECK(vigil_rt_realtime_ns() > 1600000000LL * 1000000000LL, "vigil_rt_realtime_ns is Unix time in ns");
    CHECK(vigil_rt_set_timer_slack(1) == 0, "vigil_rt_set_timer_slack(1)");
    int nice_rc = vigil_rt_set_thread_nice(5);
    CHECK(nice_rc == 0, "vigil_rt_set_thread_nice(5) = %d", nice_rc);
    vigil_rt_prefault_stack();
    CHECK(1, "vigil_rt_prefault_stack returns");
    uint64_t b0 = vigil_bench_now_ns();
    CHECK(b0 > 0 && vigil_bench_now_ns() >= b0, "vigil_bench_now_ns is monotonic");

    char path[128] = {0};
    int master = vigil_open_pty_master(O_RDWR | O_NOCTTY, path, sizeof path);
    CHECK(master >= 0 && strncmp(path, "/dev/pts/", 9) == 0, "vigil_open_pty_master -> %s", path);
    if (master >= 0) {
        int slave = open(path, O_RDWR | O_NOCTTY);
        CHECK(slave >= 0, "the pty's slave opens");
        if (slave >= 0) {
            const unsigned char frame[] = {0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xC4, 0x0B};
            // Raw mode so the line discipline passes the bytes through unchanged.
            struct termios tio;
            tcgetattr(slave, &tio);
            cfmakeraw(&tio);
            tcsetattr(slave, TCSANOW, &tio);
            ssize_t w = write(master, frame, sizeof frame);
            unsigned char got[16];
            ssize_t r = 0;
            for (int i = 0; i < 100 && r < (ssize_t)sizeof frame; i++) {
                ssize_t n = read(slave, got + r, sizeof got - (size_t)r);
                if (n > 0) r += n; else usleep(1000);
            }
            CHECK(w == (ssize_t)sizeof frame && r == (ssize_t)sizeof frame && memcmp(got, frame, sizeof frame) == 0,
                  "an RTU frame crosses the pty byte for byte (%zd of %zu)", r, sizeof frame);
            close(slave);
        }
        close(master);
    }

    int api = vigil_gpiod_api_version();
    CHECK(api == 1 || api == 2, "vigil_gpiod_api_version = %d", api);
    int err = 0;
    vigil_gpio_chip *chip = vigil_gpio_chip_open("vigil-no-such-chip", &err);
    CHECK(chip == NULL && err == -ENOENT, "a missing chip is -ENOENT (err %d: %s)", err, strerror(-err));
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    err = 0;
    chip = vigil_gpio_chip_open(longname, &err);
    CHECK(chip == NULL && err == -ENAMETOOLONG, "a chip name too long is -ENAMETOOLONG (err %d)", err);

    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
