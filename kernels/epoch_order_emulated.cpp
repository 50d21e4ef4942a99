// epoch_order for the emulated executor: Thrust on its CPP system (emulated device memory is host memory).
#ifndef THRUST_DEVICE_SYSTEM
#define THRUST_DEVICE_SYSTEM THRUST_DEVICE_SYSTEM_CPP
#endif

#include "epoch_order.cuh"
