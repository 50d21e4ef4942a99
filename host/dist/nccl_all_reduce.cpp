// make_nccl_all_reduce(): NCCL for the gpu backend's data-parallel gradient sums (device_all_reduce.h).
// The communicator is bootstrapped through the host Communicator (MPI) and runs in NCCL's non-blocking
// mode, so that every wait is bounded: a rank that died or hangs ends in an Error and ncclCommAbort
// instead of a hang.
#include "device_all_reduce.h"

#include "cudamlp/errors.h"

#if CUDAMLP_HAVE_NCCL

#include <nccl.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <thread>

#include "cuda_check.h"
#include "cudamlp/communicator.h"

namespace cudamlp {

namespace {

// An NCCL communicator in non-blocking mode: every call returns at once, and wait() polls for the result.
struct NcclComm {
  ncclComm_t comm = nullptr;
  double timeout = 0;  // seconds
};

void check_nccl(ncclResult_t status, const char* call, const char* file, int line) {
  if (status == ncclSuccess || status == ncclInProgress) return;
  throw Error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
              ncclGetErrorString(status));
}
#define CUDAMLP_NCCL_CHECK(call) check_nccl((call), #call, __FILE__, __LINE__)

// Until comm's pending operations and (when given) the work queued on stream have completed.
void wait(NcclComm& c, cudaStream_t stream, const char* what) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    ncclResult_t state = ncclSuccess;
    CUDAMLP_NCCL_CHECK(ncclCommGetAsyncError(c.comm, &state));
    if (state != ncclSuccess && state != ncclInProgress) {
      const std::string detail = ncclGetLastError(c.comm);
      ncclCommAbort(c.comm);  // a peer is gone or the network failed: this communicator is unusable
      c.comm = nullptr;
      throw Error(std::string("NCCL ") + what + " failed: " + ncclGetErrorString(state) +
                  (detail.empty() ? "" : " (" + detail + ")"));
    }
    bool done = state == ncclSuccess;
    if (done && stream != nullptr) {
      const cudaError_t query = cudaStreamQuery(stream);
      if (query == cudaErrorNotReady) {
        done = false;
      } else {
        CUDAMLP_CUDA_CHECK(query);
      }
    }
    if (done) return;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > c.timeout) {
      ncclCommAbort(c.comm);
      c.comm = nullptr;
      throw Error("waited " + std::to_string(int(c.timeout)) + " s for the other GPUs in " + what +
                  ": a rank has died or hangs (--dist-timeout sets how long to wait)");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

// The communicator of this rank's GPU; see make_nccl_all_reduce().
class NcclAllReduce final : public DeviceAllReduce {
 public:
  explicit NcclAllReduce(Communicator& host) {
    int devices = 0;
    CUDAMLP_CUDA_CHECK(cudaGetDeviceCount(&devices));
    if (host.local_rank() >= devices)
      throw Error("rank " + std::to_string(host.rank()) + " is rank " + std::to_string(host.local_rank()) +
                  " on its machine, which has " + std::to_string(devices) +
                  " GPUs: NCCL needs a GPU per rank, so start at most that many ranks per machine");
    CUDAMLP_CUDA_CHECK(cudaSetDevice(host.local_rank()));
    ncclUniqueId id{};
    if (host.rank() == 0) CUDAMLP_NCCL_CHECK(ncclGetUniqueId(&id));
    host.broadcast(std::as_writable_bytes(std::span(&id, 1)), 0);  // NCCL's bootstrap goes through MPI
    c_.timeout = host.timeout_seconds();
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    CUDAMLP_NCCL_CHECK(ncclCommInitRankConfig(&c_.comm, host.size(), id, host.rank(), &config));
    wait(c_, nullptr, "ncclCommInitRankConfig");
  }

  // Finalize first, within the timeout: a non-blocking communicator's ncclCommDestroy could otherwise
  // wait without bound for a peer that is gone. Never throws (it runs while an error may be unwinding).
  ~NcclAllReduce() override {
    if (c_.comm == nullptr) return;
    try {
      CUDAMLP_NCCL_CHECK(ncclCommFinalize(c_.comm));
      wait(c_, nullptr, "ncclCommFinalize");  // aborts the communicator when it times out or fails
    } catch (...) {
      if (c_.comm != nullptr) ncclCommAbort(c_.comm);
      return;
    }
    if (c_.comm != nullptr) ncclCommDestroy(c_.comm);
  }
  NcclAllReduce(const NcclAllReduce&) = delete;
  NcclAllReduce& operator=(const NcclAllReduce&) = delete;

  void sum(float* values, int64_t n, float scale, DeviceStream* stream) override {
    if (c_.comm == nullptr) throw Error("NCCL communicator used after it was aborted");
    const auto s = reinterpret_cast<cudaStream_t>(stream);
    // PreMulSum: each rank's values are scaled by its own `scale` as they enter the sum.
    // A call that answers ncclInProgress must complete (wait) before the next NCCL call.
    ncclRedOp_t op{};
    CUDAMLP_NCCL_CHECK(ncclRedOpCreatePreMulSum(&op, &scale, ncclFloat, ncclScalarHostImmediate, c_.comm));
    wait(c_, nullptr, "ncclRedOpCreatePreMulSum");
    try {
      CUDAMLP_NCCL_CHECK(ncclAllReduce(values, values, size_t(n), ncclFloat, op, c_.comm, s));
      wait(c_, s, "the gradient all-reduce");
    } catch (...) {
      if (c_.comm != nullptr) ncclRedOpDestroy(op, c_.comm);  // an aborted communicator took its ops with it
      throw;
    }
    CUDAMLP_NCCL_CHECK(ncclRedOpDestroy(op, c_.comm));
    wait(c_, nullptr, "ncclRedOpDestroy");
  }

 private:
  NcclComm c_;
};

}  // namespace

std::unique_ptr<DeviceAllReduce> make_nccl_all_reduce(Communicator& host) {
  return std::make_unique<NcclAllReduce>(host);
}

}  // namespace cudamlp

#else  // no NCCL

namespace cudamlp {

std::unique_ptr<DeviceAllReduce> make_nccl_all_reduce(Communicator&) {
  throw Error("gpu backend: this build cannot sum gradients between GPUs (it was built without NCCL)");
}

}  // namespace cudamlp

#endif
