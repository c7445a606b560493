#ifndef VIGIL_CMODBUS_SHIM_H
#define VIGIL_CMODBUS_SHIM_H
#include <modbus/modbus.h>
#endif
