// Backend selection by --device name, and the default training step.
#include <memory>

#include "cudamlp/backend.h"
#include "cudamlp/errors.h"
#include "cudamlp/gpu_info.h"
#include "reference/reference_backend.h"

namespace cudamlp {

BatchStats Backend::train_step(std::span<const int64_t> indices, const SgdOptions& sgd) {
  forward(indices);
  const BatchStats stats = loss();
  backward();
  update(sgd);
  return stats;
}

std::unique_ptr<Backend> make_backend(const std::string& device) {
  if (device == "reference" || device == "auto") return std::make_unique<ReferenceBackend>();
  if (device == "cpu")
    throw UsageError("--device cpu: the fast CPU backend is not built yet; use --device reference");
  if (device == "gpu") {
    const GpuInfo gpu = query_gpu();
    if (!gpu.usable) throw Error("--device gpu: " + gpu.description);
    throw UsageError("--device gpu: the GPU training backend is not built yet (found " + gpu.description +
                     "); use --device reference");
  }
  throw UsageError("--device " + device + ": unknown device (expected reference, cpu, gpu or auto)");
}

}  // namespace cudamlp
