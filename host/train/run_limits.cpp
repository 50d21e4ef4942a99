// The limits of a run's options and the memory estimates checked before allocating; see run_limits.h.
#include "cudamlp/run_limits.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "cudamlp/backend.h"
#include "cudamlp/memory_budget.h"
#include "format.h"

namespace cudamlp {

namespace {

// Saturating arithmetic: an estimate too large for uint64 is simply too large.
uint64_t add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
uint64_t mul(uint64_t a, uint64_t b) { return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b; }

std::string range_problem(int64_t value, int64_t first, int64_t last) {
  if (value >= first && value <= last) return "";
  return "must be in [" + std::to_string(first) + ", " + std::to_string(last) + "]";
}

}  // namespace

std::string epochs_problem(int64_t epochs) { return range_problem(epochs, 1, kMaxEpochs); }

std::string batch_problem(int64_t batch) { return range_problem(batch, 1, kMaxBatch); }

std::string learning_rate_problem(float lr) {
  if (!std::isfinite(lr) || lr <= 0) return "must be positive and finite";
  if (lr < FLT_MIN) return format("is a float32 subnormal (below %g): every update would round to nothing", FLT_MIN);
  return "";
}

uint64_t training_bytes(const Network& network, const OptimizerConfig& optimizer, int64_t batch) {
  // Per parameter: the weights, their gradients, every slot, and the Model the caller keeps.
  const uint64_t copies = 3 + optimizer_slots(optimizer).size();
  uint64_t bytes = mul(mul(uint64_t(network.parameter_count()), copies), sizeof(float));
  // Per sample of the batch: every layer's outputs (the input included) and their gradients, and the
  // probabilities and their gradients.
  uint64_t widths = 0;
  for (const int size : network.sizes()) widths = add(widths, uint64_t(size));
  const uint64_t per_sample = add(mul(widths, 2), mul(uint64_t(network.output_size()), 2));
  return add(bytes, mul(mul(per_sample, uint64_t(std::max<int64_t>(batch, 0))), sizeof(float)));
}

uint64_t evaluation_bytes(const Network& network) {
  const uint64_t classes = uint64_t(network.output_size());
  return add(mul(mul(classes, classes), sizeof(int64_t)), mul(mul(uint64_t(kPredictChunk), classes), sizeof(float)));
}

std::string training_memory_problem(const Network& network, const OptimizerConfig& optimizer, int64_t batch) {
  const std::string problem = memory_problem(training_bytes(network, optimizer, batch));
  if (problem.empty()) return "";
  std::string sizes;
  for (const int size : network.sizes()) sizes += (sizes.empty() ? "" : "-") + std::to_string(size);
  return "training the " + sizes + " network " + problem;
}

std::string evaluation_memory_problem(const Network& network) {
  const std::string problem = memory_problem(evaluation_bytes(network));
  if (problem.empty()) return "";
  return "evaluating its " + std::to_string(network.output_size()) + " outputs " + problem;
}

}  // namespace cudamlp
