#ifndef VIGIL_GPIOD_SHIM_H
#define VIGIL_GPIOD_SHIM_H
// The narrow seam between Vigil and libgpiod. Only this header is visible to Swift; shim.c picks
// the v1 (Debian 12, libgpiod 1.6) or v2 API at compile time. Swift sees opaque handles and plain
// integers, never a libgpiod type, so the v1 -> v2 change stays inside shim.c.
//
// Conventions: functions returning int return >= 0 on success and a negative errno on failure;
// functions returning a handle return NULL on failure and store the negative errno in *err.
// Values are logical: with active_low set, libgpiod inverts reads, writes and edge directions.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An open GPIO chip (a /dev/gpiochipN character device).
typedef struct vigil_gpio_chip vigil_gpio_chip;
/// One requested line (input or output) of a chip.
typedef struct vigil_gpio_line vigil_gpio_line;

/// Bias of an input line (matches VigilCore's GPIOBias).
enum {
    VIGIL_GPIO_BIAS_AS_IS = 0,
    VIGIL_GPIO_BIAS_DISABLED = 1,
    VIGIL_GPIO_BIAS_PULL_UP = 2,
    VIGIL_GPIO_BIAS_PULL_DOWN = 3,
};

/// Edge detection of an input line.
enum {
    VIGIL_GPIO_EDGE_NONE = 0,
    VIGIL_GPIO_EDGE_RISING = 1,
    VIGIL_GPIO_EDGE_FALLING = 2,
    VIGIL_GPIO_EDGE_BOTH = 3,
};

/// 1 when built against libgpiod v1, 2 for v2.
int vigil_gpiod_api_version(void);

/// Opens a chip by name (`gpiochip0`, looked up under /dev) or by path (`/dev/gpiochip0`); on
/// failure returns NULL and sets `*err` to -errno.
/// v1: gpiod_chip_open_by_name / gpiod_chip_open. v2: gpiod_chip_open.
vigil_gpio_chip *vigil_gpio_chip_open(const char *name, int *err);
/// Closes a chip. Release its lines first.
void vigil_gpio_chip_close(vigil_gpio_chip *chip);
/// The kernel label of the chip (`pinctrl-bcm2711`); valid until the chip is closed.
const char *vigil_gpio_chip_label(vigil_gpio_chip *chip);
/// Number of lines of the chip.
int vigil_gpio_chip_num_lines(vigil_gpio_chip *chip);

/// Requests one line as an input. `bias` is a VIGIL_GPIO_BIAS_*, `edge_events` a VIGIL_GPIO_EDGE_*.
/// An offset beyond the chip's lines fails with -ERANGE.
vigil_gpio_line *vigil_gpio_request_input(vigil_gpio_chip *chip, unsigned int offset, const char *consumer,
                                          int active_low, int bias, int edge_events, int *err);
/// Requests one line as an output driven to `initial` (logical) from the start.
vigil_gpio_line *vigil_gpio_request_output(vigil_gpio_chip *chip, unsigned int offset, const char *consumer,
                                           int active_low, int initial, int *err);

/// Reads the logical value: 0 or 1, or a negative errno.
int vigil_gpio_get(vigil_gpio_line *line);
/// Drives an output line to a logical value (0 or 1). 0 or a negative errno.
int vigil_gpio_set(vigil_gpio_line *line, int value);

/// Waits for an edge event: 1 when one is pending, 0 on timeout, or a negative errno.
/// A timeout of 0 polls without blocking.
int vigil_gpio_event_wait(vigil_gpio_line *line, int64_t timeout_ns);
/// Reads one pending edge event (blocks if none is pending): sets *rising to 1 for a rising edge,
/// 0 for a falling one, and *timestamp_ns to the kernel's timestamp (CLOCK_MONOTONIC on kernels
/// >= 5.7 for v1; v2 requests the monotonic clock explicitly). 0 or a negative errno.
int vigil_gpio_event_read(vigil_gpio_line *line, int *rising, uint64_t *timestamp_ns);
/// File descriptor that becomes readable when edge events are pending (for poll/epoll), or a negative errno.
int vigil_gpio_event_fd(vigil_gpio_line *line);

/// Releases a line and frees its handle.
void vigil_gpio_release(vigil_gpio_line *line);

#ifdef __cplusplus
}
#endif

#endif
