#include "vigil_gpiod.h"
#include <gpiod.h>
int vigil_gpiod_api_version(void) {
#if defined(GPIOD_LINE_BULK_MAX_LINES)
    return 1;
#else
    return 2;
#endif
}
