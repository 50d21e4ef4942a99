// The NCCL half of cuda_ops(): DeviceOps::comm_create, comm_destroy and sum on real GPUs (see
// device_ops.h). Compiled by the host compiler (nccl_comm.cpp); all three are nullptr in a build
// without NCCL, where --distributed cannot use GPUs.
#pragma once

#include <cstdint>

namespace cudamlp {

class Communicator;

extern void* (*const nccl_comm_create)(Communicator& host);
extern void (*const nccl_comm_destroy)(void* comm);
extern void (*const nccl_sum)(float* values, int64_t n, float scale, void* comm, void* stream);

}  // namespace cudamlp
