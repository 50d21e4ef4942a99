// cuda_ops(): the kernels compiled by nvcc and launched on the GPU, with checked CUDA memory calls, streams
// and CUDA graphs.
#include "cudamlp/errors.h"
#include "device_ops_table.h"
#include "epoch_order.cuh"

namespace cudamlp {

namespace {

void* cuda_alloc(size_t bytes) {
  void* pointer = nullptr;
  const cudaError_t status = cudaMalloc(&pointer, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw Error("out of GPU memory: cudaMalloc of " + std::to_string(bytes) + " bytes failed");
  }
  CUDAMLP_CUDA_CHECK(status);
  return pointer;
}

void cuda_free(void* pointer) { CUDAMLP_CUDA_CHECK(cudaFree(pointer)); }

void cuda_to_device(void* dst, const void* src, size_t bytes) {
  CUDAMLP_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void cuda_to_host(void* dst, const void* src, size_t bytes) {
  CUDAMLP_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

void cuda_synchronize() { CUDAMLP_CUDA_CHECK(cudaDeviceSynchronize()); }

cudaStream_t cuda_stream(DeviceStream* stream) { return reinterpret_cast<cudaStream_t>(stream); }
cudaGraphExec_t cuda_graph(DeviceGraph* graph) { return reinterpret_cast<cudaGraphExec_t>(graph); }

DeviceStream* cuda_stream_create() {
  cudaStream_t stream = nullptr;
  CUDAMLP_CUDA_CHECK(cudaStreamCreate(&stream));  // blocking: cudaMemcpy on the default stream waits for it
  return reinterpret_cast<DeviceStream*>(stream);
}

void cuda_stream_destroy(DeviceStream* stream) { cudaStreamDestroy(cuda_stream(stream)); }

DeviceGraph* cuda_graph_capture(DeviceStream* stream, void (*record)(void* context), void* context) {
  const cudaStream_t s = cuda_stream(stream);
  kernels::cublas_context();  // made now if not yet: cublasCreate and cudaMalloc are not allowed in a capture
  CUDAMLP_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  cudaGraph_t graph = nullptr;
  try {
    record(context);
  } catch (...) {
    cudaStreamEndCapture(s, &graph);  // leave the stream usable, then report the first error
    if (graph != nullptr) cudaGraphDestroy(graph);
    throw;
  }
  CUDAMLP_CUDA_CHECK(cudaStreamEndCapture(s, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  CUDAMLP_CUDA_CHECK(status);
  return reinterpret_cast<DeviceGraph*>(exec);
}

void cuda_graph_launch(DeviceGraph* graph, DeviceStream* stream) {
  CUDAMLP_CUDA_CHECK(cudaGraphLaunch(cuda_graph(graph), cuda_stream(stream)));
}

void cuda_graph_destroy(DeviceGraph* graph) { cudaGraphExecDestroy(cuda_graph(graph)); }

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
    return table;
  }();
  return &ops;
}

}  // namespace cudamlp
