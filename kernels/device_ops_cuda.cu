// cuda_ops(): the kernels compiled by nvcc and launched on the GPU, with checked CUDA memory calls, and
// NCCL (nccl_comm.cpp) for the gradient sums of data-parallel training.
#include "cudamlp/errors.h"
#include "device_ops_table.h"
#include "epoch_order.cuh"
#include "nccl_comm.h"

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

void* cuda_stream_create() {
  cudaStream_t stream = nullptr;
  SIMT_CUDA_CHECK(cudaStreamCreate(&stream));  // blocking: cudaMemcpy on the default stream waits for it
  return stream;
}

void cuda_stream_destroy(void* stream) { cudaStreamDestroy(static_cast<cudaStream_t>(stream)); }

void* cuda_graph_capture(void* stream, void (*record)(void* context), void* context) {
  const auto s = static_cast<cudaStream_t>(stream);
  kernels::cublas_context();  // made now if not yet: cublasCreate and cudaMalloc are not allowed in a capture
  SIMT_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  cudaGraph_t graph = nullptr;
  try {
    record(context);
  } catch (...) {
    cudaStreamEndCapture(s, &graph);  // leave the stream usable, then report the first error
    if (graph != nullptr) cudaGraphDestroy(graph);
    throw;
  }
  SIMT_CUDA_CHECK(cudaStreamEndCapture(s, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  SIMT_CUDA_CHECK(status);
  return exec;
}

void cuda_graph_launch(void* graph, void* stream) {
  SIMT_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(graph), static_cast<cudaStream_t>(stream)));
}

void cuda_graph_destroy(void* graph) { cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(graph)); }

}  // namespace

const DeviceOps* cuda_ops() {
  static const DeviceOps ops = [] {
    DeviceOps table =
        kernels::make_device_ops("cuda", cuda_alloc, cuda_free, cuda_to_device, cuda_to_host, cuda_synchronize);
    table.stream_create = cuda_stream_create;
    table.stream_destroy = cuda_stream_destroy;
    table.graph_capture = cuda_graph_capture;
    table.graph_launch = cuda_graph_launch;
    table.graph_destroy = cuda_graph_destroy;
    table.comm_create = nccl_comm_create;  // nullptr in a build without NCCL
    table.comm_destroy = nccl_comm_destroy;
    table.sum = nccl_sum;
    return table;
  }();
  return &ops;
}

}  // namespace cudamlp
