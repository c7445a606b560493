// The only file in Vigil that calls libgpiod. See include/vigil_gpiod.h for the contract.
//
// Two implementations, chosen at compile time: libgpiod v1 defines GPIOD_LINE_BULK_MAX_LINES,
// v2 does not. The normal build uses the system's library (v1, 1.6.3, on Debian 12);
// scripts/test-gpiod2 builds the v2 branch against Debian 13's libgpiod 2. docs/GPIO.md says
// what was checked on which library and kernel.
#include "vigil_gpiod.h"

#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int neg_errno(void) { return errno > 0 ? -errno : -EIO; }

static void set_err(int *err, int value) {
    if (err) *err = value;
}

#if defined(GPIOD_LINE_BULK_MAX_LINES)
// ---------------------------------------------------------------------------------------------
// libgpiod v1 (1.x). Compiled and tested on Debian 12.
// ---------------------------------------------------------------------------------------------

int vigil_gpiod_api_version(void) { return 1; }

struct vigil_gpio_chip {
    struct gpiod_chip *chip;
};

struct vigil_gpio_line {
    struct gpiod_line *line;
    int edge_events;
};

vigil_gpio_chip *vigil_gpio_chip_open(const char *name, int *err) {
    if (!name || !*name) {
        set_err(err, -EINVAL);
        return NULL;
    }
    errno = 0;
    // No gpiod_chip_open_lookup: it would also match labels and numbers, and a config naming
    // "gpiochip4" must not silently open a chip whose label happens to be "gpiochip4".
    struct gpiod_chip *chip = strchr(name, '/') ? gpiod_chip_open(name) : gpiod_chip_open_by_name(name);
    if (!chip) {
        set_err(err, neg_errno());
        return NULL;
    }
    vigil_gpio_chip *handle = calloc(1, sizeof *handle);
    if (!handle) {
        gpiod_chip_close(chip);
        set_err(err, -ENOMEM);
        return NULL;
    }
    handle->chip = chip;
    set_err(err, 0);
    return handle;
}

void vigil_gpio_chip_close(vigil_gpio_chip *chip) {
    if (!chip) return;
    gpiod_chip_close(chip->chip);
    free(chip);
}

const char *vigil_gpio_chip_label(vigil_gpio_chip *chip) { return gpiod_chip_label(chip->chip); }

int vigil_gpio_chip_num_lines(vigil_gpio_chip *chip) { return (int)gpiod_chip_num_lines(chip->chip); }

static vigil_gpio_line *request_line(vigil_gpio_chip *chip, unsigned int offset, const char *consumer,
                                     int request_type, int flags, int default_value, int edge_events, int *err) {
    if (offset >= gpiod_chip_num_lines(chip->chip)) {
        set_err(err, -ERANGE);
        return NULL;
    }
    errno = 0;
    struct gpiod_line *line = gpiod_chip_get_line(chip->chip, offset);
    if (!line) {
        set_err(err, neg_errno());
        return NULL;
    }
    struct gpiod_line_request_config config = {
        .consumer = consumer ? consumer : "vigil",
        .request_type = request_type,
        .flags = flags,
    };
    errno = 0;
    if (gpiod_line_request(line, &config, default_value) < 0) {
        set_err(err, neg_errno());
        return NULL;
    }
    vigil_gpio_line *handle = calloc(1, sizeof *handle);
    if (!handle) {
        gpiod_line_release(line);
        set_err(err, -ENOMEM);
        return NULL;
    }
    handle->line = line;
    handle->edge_events = edge_events;
    set_err(err, 0);
    return handle;
}

vigil_gpio_line *vigil_gpio_request_input(vigil_gpio_chip *chip, unsigned int offset, const char *consumer,
                                          int active_low, int bias, int edge_events, int *err) {
    int flags = active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
    switch (bias) {
    case VIGIL_GPIO_BIAS_AS_IS: break;
    case VIGIL_GPIO_BIAS_DISABLED: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE; break;
    case VIGIL_GPIO_BIAS_PULL_UP: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP; break;
    case VIGIL_GPIO_BIAS_PULL_DOWN: flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN; break;
    default: set_err(err, -EINVAL); return NULL;
    }
    int type;
    switch (edge_events) {
    case VIGIL_GPIO_EDGE_NONE: type = GPIOD_LINE_REQUEST_DIRECTION_INPUT; break;
    case VIGIL_GPIO_EDGE_RISING: type = GPIOD_LINE_REQUEST_EVENT_RISING_EDGE; break;
    case VIGIL_GPIO_EDGE_FALLING: type = GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE; break;
    case VIGIL_GPIO_EDGE_BOTH: type = GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES; break;
    default: set_err(err, -EINVAL); return NULL;
    }
    return request_line(chip, offset, consumer, type, flags, 0, edge_events, err);
}

vigil_gpio_line *vigil_gpio_request_output(vigil_gpio_chip *chip, unsigned int offset, const char *consumer,
                                           int active_low, int initial, int *err) {
    int flags = active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
    return request_line(chip, offset, consumer, GPIOD_LINE_REQUEST_DIRECTION_OUTPUT, flags, initial ? 1 : 0,
                        VIGIL_GPIO_EDGE_NONE, err);
}

int vigil_gpio_get(vigil_gpio_line *line) {
    errno = 0;
    int value = gpiod_line_get_value(line->line);
    return value < 0 ? neg_errno() : value;
}

int vigil_gpio_set(vigil_gpio_line *line, int value) {
    errno = 0;
    return gpiod_line_set_value(line->line, value ? 1 : 0) < 0 ? neg_errno() : 0;
}

int vigil_gpio_event_wait(vigil_gpio_line *line, int64_t timeout_ns) {
    if (line->edge_events == VIGIL_GPIO_EDGE_NONE) return -EINVAL;
    if (timeout_ns < 0) timeout_ns = 0;
    struct timespec timeout = {
        .tv_sec = (time_t)(timeout_ns / 1000000000),
        .tv_nsec = (long)(timeout_ns % 1000000000),
    };
    errno = 0;
    int rc = gpiod_line_event_wait(line->line, &timeout);
    return rc < 0 ? neg_errno() : rc;
}

int vigil_gpio_event_read(vigil_gpio_line *line, int *rising, uint64_t *timestamp_ns) {
    if (line->edge_events == VIGIL_GPIO_EDGE_NONE) return -EINVAL;
    struct gpiod_line_event event;
    errno = 0;
    if (gpiod_line_event_read(line->line, &event) < 0) return neg_errno();
    if (rising) *rising = event.event_type == GPIOD_LINE_EVENT_RISING_EDGE;
    if (timestamp_ns) *timestamp_ns = (uint64_t)event.ts.tv_sec * 1000000000u + (uint64_t)event.ts.tv_nsec;
    return 0;
}

int vigil_gpio_event_fd(vigil_gpio_line *line) {
    if (line->edge_events == VIGIL_GPIO_EDGE_NONE) return -EINVAL;
    errno = 0;
    int fd = gpiod_line_event_get_fd(line->line);
    return fd < 0 ? neg_errno() : fd;
}

void vigil_gpio_release(vigil_gpio_line *line) {
    if (!line) return;
    gpiod_line_release(line->line);
    free(line);
}

#else
// ---------------------------------------------------------------------------------------------
// libgpiod v2 (2.x). Built against 2.2.1 (Debian 13) by scripts/test-gpiod2 (chip-open paths, on
// any kernel) and scripts/test-gpio-sim (requests, values, bias and edge events on the kernel's
// gpio-sim, in a VM); docs/GPIO.md.
//
// Edge directions are logical in the v2 uAPI as in v1 (rising = inactive -> active), and no
// kernel debounce is set: Vigil debounces in software, the same on both APIs.
// ---------------------------------------------------------------------------------------------

int vigil_gpiod_api_version(void) { return 2; }

struct vigil_gpio_chip {
    struct gpiod_chip *chip;
    char *label;
    unsigned int num_lines;
};

struct vigil_gpio_line {
    struct gpiod_line_request *request;
    unsigned int offset;
    int edge_events;
    struct gpiod_edge_event_buffer *events;
};

vigil_gpio_chip *vigil_gpio_chip_open(const char *name, int *err) {
    if (!name || !*name) {
        set_err(err, -EINVAL);
        return NULL;
    }
    // v2 opens by path only.
    char path[256];
    int length = snprintf(path, sizeof path, strchr(name, '/') ? "%s" : "/dev/%s", name);
    if (length < 0 || (size_t)length >= sizeof path) {
        set_err(err, -ENAMETOOLONG);
        return NULL;
    }
    errno = 0;
    struct gpiod_chip *chip = gpiod_chip_open(path);
    if (!chip) {
        set_err(err, neg_errno());
        return NULL;
    }
    errno = 0;
    struct gpiod_chip_info *info = gpiod_chip_get_info(chip);
    if (!info) {
        int e = neg_errno();
        gpiod_chip_close(chip);
        set_err(err, e);
        return NULL;
    }
    vigil_gpio_chip *handle = calloc(1, sizeof *handle);
    const char *info_label = gpiod_chip_info_get_label(info);
    char *label = strdup(info_label ? info_label : "");
    if (!handle || !label) {
        free(handle);
        free(label);
        gpiod_chip_info_free(info);
        gpiod_chip_close(chip);
        set_err(err, -ENOMEM);
        return NULL;
    }
    handle->chip = chip;
    handle->label = label;
    handle->num_lines = (unsigned int)gpiod_chip_info_get_num_lines(info);
    gpiod_chip_info_free(info);
    set_err(err, 0);
    return handle;
}

void vigil_gpio_chip_close(vigil_gpio_chip *chip) {
    if (!chip) return;
    gpiod_chip_close(chip->chip);
    free(chip->label);
    free(chip);
}

const char *vigil_gpio_chip_label(vigil_gpio_chip *chip) { return chip->label; }

int vigil_gpio_chip_num_lines(vigil_gpio_chip *chip) { return (int)chip->num_lines; }

// Takes ownership of `settings`.
static vigil_gpio_line *request_line(vigil_gpio_chip *chip, unsigned int offset, const char *consumer,
                                     struct gpiod_line_settings *settings, int edge_events, int *err) {
    struct gpiod_line_config *line_config = NULL;
    struct gpiod_request_config *request_config = NULL;
    struct gpiod_line_request *request = NULL;
    struct gpiod_edge_event_buffer *events = NULL;
    vigil_gpio_line *handle = NULL;
    int e = 0;

    if (offset >= chip->num_lines) {
        e = -ERANGE;
        goto out;
    }
    errno = 0;
    line_config = gpiod_line_config_new();
    request_config = gpiod_request_config_new();
    if (!line_config || !request_config) {
        e = -ENOMEM;
        goto out;
    }
    errno = 0;
    if (gpiod_line_config_add_line_settings(line_config, &offset, 1, settings) < 0) {
        e = neg_errno();
        goto out;
    }
    gpiod_request_config_set_consumer(request_config, consumer ? consumer : "vigil");
    errno = 0;
    request = gpiod_chip_request_lines(chip->chip, request_config, line_config);
    if (!request) {
        e = neg_errno();
        goto out;
    }
    if (edge_events != VIGIL_GPIO_EDGE_NONE) {
        events = gpiod_edge_event_buffer_new(1);
        if (!events) {
            e = -ENOMEM;
            goto out;
        }
    }
    handle = calloc(1, sizeof *handle);
    if (!handle) {
        e = -ENOMEM;
        goto out;
    }
    handle->request = request;
    handle->offset = offset;
    handle->edge_events = edge_events;
    handle->events = events;
    request = NULL;
    events = NULL;

out:
    if (events) gpiod_edge_event_buffer_free(events);
    if (request) gpiod_line_request_release(request);
    if (request_config) gpiod_request_config_free(request_config);
    if (line_config) gpiod_line_config_free(line_config);
    if (settings) gpiod_line_settings_free(settings);
    set_err(err, e);
    return handle;
}

vigil_gpio_line *vigil_gpio_request_input(vigil_gpio_chip *chip, unsigned int offset, const char *consumer,
                                          int active_low, int bias, int edge_events, int *err) {
    enum gpiod_line_bias line_bias;
    switch (bias) {
    case VIGIL_GPIO_BIAS_AS_IS: line_bias = GPIOD_LINE_BIAS_AS_IS; break;
    case VIGIL_GPIO_BIAS_DISABLED: line_bias = GPIOD_LINE_BIAS_DISABLED; break;
    case VIGIL_GPIO_BIAS_PULL_UP: line_bias = GPIOD_LINE_BIAS_PULL_UP; break;
    case VIGIL_GPIO_BIAS_PULL_DOWN: line_bias = GPIOD_LINE_BIAS_PULL_DOWN; break;
    default: set_err(err, -EINVAL); return NULL;
    }
    enum gpiod_line_edge edge;
    switch (edge_events) {
    case VIGIL_GPIO_EDGE_NONE: edge = GPIOD_LINE_EDGE_NONE; break;
    case VIGIL_GPIO_EDGE_RISING: edge = GPIOD_LINE_EDGE_RISING; break;
    case VIGIL_GPIO_EDGE_FALLING: edge = GPIOD_LINE_EDGE_FALLING; break;
    case VIGIL_GPIO_EDGE_BOTH: edge = GPIOD_LINE_EDGE_BOTH; break;
    default: set_err(err, -EINVAL); return NULL;
    }
    struct gpiod_line_settings *settings = gpiod_line_settings_new();
    if (!settings) {
        set_err(err, -ENOMEM);
        return NULL;
    }
    if (gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_INPUT) < 0 ||
        gpiod_line_settings_set_bias(settings, line_bias) < 0 ||
        gpiod_line_settings_set_edge_detection(settings, edge) < 0 ||
        gpiod_line_settings_set_event_clock(settings, GPIOD_LINE_CLOCK_MONOTONIC) < 0) {
        gpiod_line_settings_free(settings);
        set_err(err, -EINVAL);
        return NULL;
    }
    gpiod_line_settings_set_active_low(settings, active_low != 0);
    return request_line(chip, offset, consumer, settings, edge_events, err);
}

vigil_gpio_line *vigil_gpio_request_output(vigil_gpio_chip *chip, unsigned int offset, const char *consumer,
                                           int active_low, int initial, int *err) {
    struct gpiod_line_settings *settings = gpiod_line_settings_new();
    if (!settings) {
        set_err(err, -ENOMEM);
        return NULL;
    }
    if (gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_OUTPUT) < 0 ||
        gpiod_line_settings_set_output_value(settings, initial ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) < 0) {
        gpiod_line_settings_free(settings);
        set_err(err, -EINVAL);
        return NULL;
    }
    gpiod_line_settings_set_active_low(settings, active_low != 0);
    return request_line(chip, offset, consumer, settings, VIGIL_GPIO_EDGE_NONE, err);
}

int vigil_gpio_get(vigil_gpio_line *line) {
    errno = 0;
    enum gpiod_line_value value = gpiod_line_request_get_value(line->request, line->offset);
    if (value == GPIOD_LINE_VALUE_ERROR) return neg_errno();
    return value == GPIOD_LINE_VALUE_ACTIVE ? 1 : 0;
}

int vigil_gpio_set(vigil_gpio_line *line, int value) {
    errno = 0;
    int rc = gpiod_line_request_set_value(line->request, line->offset,
                                          value ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
    return rc < 0 ? neg_errno() : 0;
}

int vigil_gpio_event_wait(vigil_gpio_line *line, int64_t timeout_ns) {
    if (line->edge_events == VIGIL_GPIO_EDGE_NONE) return -EINVAL;
    if (timeout_ns < 0) timeout_ns = 0;
    errno = 0;
    int rc = gpiod_line_request_wait_edge_events(line->request, timeout_ns);
    return rc < 0 ? neg_errno() : rc;
}

int vigil_gpio_event_read(vigil_gpio_line *line, int *rising, uint64_t *timestamp_ns) {
    if (line->edge_events == VIGIL_GPIO_EDGE_NONE) return -EINVAL;
    errno = 0;
    int n = gpiod_line_request_read_edge_events(line->request, line->events, 1);
    if (n < 0) return neg_errno();
    if (n == 0) return -EAGAIN;
    struct gpiod_edge_event *event = gpiod_edge_event_buffer_get_event(line->events, 0);
    if (!event) return -EIO;
    if (rising) *rising = gpiod_edge_event_get_event_type(event) == GPIOD_EDGE_EVENT_RISING_EDGE;
    if (timestamp_ns) *timestamp_ns = gpiod_edge_event_get_timestamp_ns(event);
    return 0;
}

int vigil_gpio_event_fd(vigil_gpio_line *line) {
    if (line->edge_events == VIGIL_GPIO_EDGE_NONE) return -EINVAL;
    errno = 0;
    int fd = gpiod_line_request_get_fd(line->request);
    return fd < 0 ? neg_errno() : fd;
}

void vigil_gpio_release(vigil_gpio_line *line) {
    if (!line) return;
    gpiod_line_request_release(line->request);
    if (line->events) gpiod_edge_event_buffer_free(line->events);
    free(line);
}

#endif
