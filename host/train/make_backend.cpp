// Backend selection by --device name: the one factory of backends.
#include <memory>

#include "cudamlp/backend.h"
#include "cudamlp/errors.h"
#include "cudamlp/gpu_info.h"
#include "device_all_reduce.h"
#include "gpu_backend.h"
#include "reference_backend.h"
#if CUDAMLP_HAVE_CPU_BACKEND
#include "blas.h"
#include "cpu_backend.h"
#endif

namespace cudamlp {

namespace {

GemmEngine choose_engine(const BackendOptions& options) {
  if (options.gemm == "custom") {
    if (options.tf32) throw UsageError("--tf32 applies to --gemm cublas only");
    return GemmEngine::kCustom;
  }
  if (options.gemm == "cublas" || options.gemm == "auto")
    return options.tf32 ? GemmEngine::kCublasTf32 : GemmEngine::kCublas;
  throw UsageError("--gemm " + options.gemm + ": expected custom, cublas or auto");
}

}  // namespace

std::unique_ptr<Backend> make_backend(const std::string& device, const BackendOptions& options) {
  if (options.threads < 0)
    throw UsageError("--threads " + std::to_string(options.threads) + ": expected a positive thread count");
  const GemmEngine engine = choose_engine(options);
  const bool per_layer = options.gemm == "auto";
  Communicator* comm = options.communicator;
  const bool data_parallel = comm != nullptr && comm->size() > 1;
  if (device == "gpu-emulated") {
    std::unique_ptr<DeviceAllReduce> sum = data_parallel ? make_host_memory_all_reduce(*comm) : nullptr;
    return std::make_unique<GpuBackend>(emulated_ops(), engine, per_layer, options.cuda_graphs, comm, std::move(sum));
  }
  if (device == "gpu" || device == "auto") {
    const GpuInfo gpu = query_gpu();
    if (gpu.usable) {
      // NCCL first: it picks this rank's GPU before the backend touches the device.
      std::unique_ptr<DeviceAllReduce> sum = data_parallel ? make_nccl_all_reduce(*comm) : nullptr;
      return std::make_unique<GpuBackend>(*cuda_ops(), engine, per_layer, options.cuda_graphs, comm, std::move(sum));
    }
    if (device == "gpu") throw Error("--device gpu: " + gpu.description);
  }
#if CUDAMLP_HAVE_CPU_BACKEND
  if (device == "cpu" || device == "auto") return std::make_unique<CpuBackend>(options.threads, comm);
#else
  if (device == "cpu")
    throw UsageError("--device cpu: this build has no CPU backend (configured with CUDAMLP_CPU=OFF); "
                     "use --device reference");
#endif
  if (device == "reference" || device == "auto") return std::make_unique<ReferenceBackend>(comm);
  throw UsageError("--device " + device + ": unknown device (expected reference, cpu, gpu, gpu-emulated or auto)");
}

CpuBackendInfo cpu_backend_info() {
#if CUDAMLP_HAVE_CPU_BACKEND
  return {true, cpu::default_threads(), cpu::blas_description()};
#else
  return {};
#endif
}

}  // namespace cudamlp
