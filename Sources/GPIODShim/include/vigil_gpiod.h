#ifndef VIGIL_GPIOD_SHIM_H
#define VIGIL_GPIOD_SHIM_H
// The narrow seam between Vigil and libgpiod. Only this header is visible to Swift; the
// implementation picks the v1 (Debian 12) or v2 API. Placeholder until the GPIO backend lands.
int vigil_gpiod_api_version(void);
#endif
