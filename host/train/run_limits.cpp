// The limits of a run's options; see run_limits.h.
#include "cudamlp/run_limits.h"

#include <cfloat>
#include <cmath>

#include "format.h"

namespace cudamlp {

namespace {

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

}  // namespace cudamlp
