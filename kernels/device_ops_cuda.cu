// cuda_ops(): the kernels compiled by nvcc and launched on the GPU, with checked CUDA memory calls, and
// NCCL for the gradient sums of data-parallel training.
#include <chrono>
#include <memory>
#include <span>
#include <thread>

#if CUDAMLP_HAVE_NCCL
#include <nccl.h>
#endif

#include "cudamlp/communicator.h"
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

void* cuda_stream_create() {
  cudaStream_t stream = nullptr;
  SIMT_CUDA_CHECK(cudaStreamCreate(&stream));  // blocking: cudaMemcpy on the default stream waits for it
  return stream;
}

void cuda_stream_destroy(void* stream) { cudaStreamDestroy(static_cast<cudaStream_t>(stream)); }

void* cuda_graph_capture(void* stream, void (*record)(void* context), void* context) {
  const auto s = static_cast<cudaStream_t>(stream);
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

#if CUDAMLP_HAVE_NCCL

// An NCCL communicator in non-blocking mode: every call returns at once, and wait() polls for the
// result, so that a rank that died or hangs ends in an Error (and ncclCommAbort) instead of a hang.
struct NcclComm {
  ncclComm_t comm = nullptr;
  int rank = 0;
  int size = 1;
  double timeout = 0;
};

void check_nccl(ncclResult_t status, const char* call, const char* file, int line) {
  if (status == ncclSuccess || status == ncclInProgress) return;
  throw Error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " + ncclGetErrorString(status));
}
#define CUDAMLP_NCCL_CHECK(call) check_nccl((call), #call, __FILE__, __LINE__)

// Until comm's pending operations and (when given) the work queued on stream have completed.
void wait(NcclComm& c, cudaStream_t stream, const char* what) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    ncclResult_t state = ncclSuccess;
    CUDAMLP_NCCL_CHECK(ncclCommGetAsyncError(c.comm, &state));
    if (state != ncclSuccess && state != ncclInProgress)
      throw Error(std::string("NCCL ") + what + " failed: " + ncclGetErrorString(state));
    bool done = state == ncclSuccess;
    if (done && stream != nullptr) {
      const cudaError_t query = cudaStreamQuery(stream);
      if (query == cudaErrorNotReady) {
        done = false;
      } else {
        SIMT_CUDA_CHECK(query);
      }
    }
    if (done) return;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > c.timeout) {
      ncclCommAbort(c.comm);
      c.comm = nullptr;
      throw Error("rank " + std::to_string(c.rank) + " of " + std::to_string(c.size) + " waited " +
                  std::to_string(int(c.timeout)) + " s for the other GPUs in " + what +
                  ": a rank has died or hangs (--dist-timeout sets how long to wait)");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

void* nccl_comm_create(Communicator& host) {
  int devices = 0;
  SIMT_CUDA_CHECK(cudaGetDeviceCount(&devices));
  if (host.local_rank() >= devices)
    throw Error("rank " + std::to_string(host.rank()) + " is rank " + std::to_string(host.local_rank()) +
                " on its machine, which has " + std::to_string(devices) +
                " GPUs: NCCL needs a GPU per rank, so start at most that many ranks per machine");
  SIMT_CUDA_CHECK(cudaSetDevice(host.local_rank()));
  ncclUniqueId id{};
  if (host.rank() == 0) CUDAMLP_NCCL_CHECK(ncclGetUniqueId(&id));
  host.broadcast(std::as_writable_bytes(std::span(&id, 1)), 0);  // NCCL's bootstrap goes through MPI
  auto c = std::make_unique<NcclComm>();
  c->rank = host.rank();
  c->size = host.size();
  c->timeout = host.timeout_seconds();
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  CUDAMLP_NCCL_CHECK(ncclCommInitRankConfig(&c->comm, host.size(), id, host.rank(), &config));
  wait(*c, nullptr, "ncclCommInitRankConfig");
  return c.release();
}

void nccl_comm_destroy(void* comm) {
  std::unique_ptr<NcclComm> c(static_cast<NcclComm*>(comm));
  if (c->comm != nullptr) ncclCommDestroy(c->comm);
}

void nccl_sum(float* values, int64_t n, float scale, void* comm, void* stream) {
  NcclComm& c = *static_cast<NcclComm*>(comm);
  if (c.comm == nullptr) throw Error("NCCL communicator used after it was aborted");
  const auto s = static_cast<cudaStream_t>(stream);
  // PreMulSum: each rank's values are scaled by its own `scale` as they enter the sum.
  ncclRedOp_t op{};
  CUDAMLP_NCCL_CHECK(ncclRedOpCreatePreMulSum(&op, &scale, ncclFloat, ncclScalarHostImmediate, c.comm));
  CUDAMLP_NCCL_CHECK(ncclAllReduce(values, values, size_t(n), ncclFloat, op, c.comm, s));
  wait(c, s, "the gradient all-reduce");
  CUDAMLP_NCCL_CHECK(ncclRedOpDestroy(op, c.comm));
}

#endif  // CUDAMLP_HAVE_NCCL

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
#if CUDAMLP_HAVE_NCCL
    table.comm_create = nccl_comm_create;
    table.comm_destroy = nccl_comm_destroy;
    table.sum = nccl_sum;
#endif
    return table;
  }();
  return &ops;
}

}  // namespace cudamlp
