// cuda_ops(): the kernels compiled by nvcc and launched on the GPU, with checked CUDA memory calls.
#include "cudamlp/errors.h"
#include "device_ops_table.h"
#include "epoch_order.cuh"

namespace cudamlp {

namespace simt {

void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw Error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
              cudaGetErrorString(status));
}

}  // namespace simt

namespace {

void* cuda_alloc(size_t bytes) {
  void* pointer = nullptr;
  const cudaError_t status = cudaMalloc(&pointer, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw Error("out of GPU memory: cudaMalloc of " + std::to_string(bytes) + " bytes failed");
  }
  SIMT_CUDA_CHECK(status);
  return pointer;
}

void cuda_free(void* pointer) { SIMT_CUDA_CHECK(cudaFree(pointer)); }

void cuda_to_device(void* dst, const void* src, size_t bytes) {
  SIMT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void cuda_to_host(void* dst, const void* src, size_t bytes) {
  SIMT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

void cuda_synchronize() { SIMT_CUDA_CHECK(cudaDeviceSynchronize()); }

}  // namespace

const DeviceOps* cuda_ops() {
  static const DeviceOps ops =
      kernels::make_device_ops("cuda", cuda_alloc, cuda_free, cuda_to_device, cuda_to_host, cuda_synchronize);
  return &ops;
}

}  // namespace cudamlp
