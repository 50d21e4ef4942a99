// Optimizers: their names, slots and zero state (optimizer.h). The updates themselves are ops of every
// backend (reference_ops.h, cpu_ops.h, kernels/optimizer_update.cuh).
#include "cudamlp/optimizer.h"

#include <cfloat>

#include "cudamlp/errors.h"

namespace cudamlp {

namespace {
constexpr OptimizerKind kEveryKind[] = {OptimizerKind::kSgd};
}  // namespace

const char* optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd: return "sgd";
  }
  return "?";
}

std::optional<OptimizerKind> optimizer_kind(const std::string& name) {
  for (const OptimizerKind kind : kEveryKind)
    if (name == optimizer_name(kind)) return kind;
  return std::nullopt;
}

std::vector<HyperParameter> hyper_parameters(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      // 0, or a normal float32 below 1: a subnormal momentum is no momentum, only less precise.
      return {{"momentum", &OptimizerConfig::momentum, [](float m) { return m == 0 || (m >= FLT_MIN && m < 1); },
               "[0, 1) (0 or a normal float32)"}};
  }
  return {};
}

std::vector<std::string> optimizer_slots(const OptimizerConfig& config) {
  switch (config.kind) {
    case OptimizerKind::kSgd: return {"momentum_buffer"};
  }
  return {};
}

bool is_optimizer_slot_name(const std::string& name) {
  for (const OptimizerKind kind : kEveryKind)
    for (const std::string& slot : optimizer_slots({kind}))
      if (slot == name) return true;
  return false;
}

OptimizerState zero_state(const OptimizerConfig& config, int64_t parameter_count) {
  OptimizerState state;
  for (const std::string& slot : optimizer_slots(config)) state.slots[slot].assign(size_t(parameter_count), 0.0f);
  return state;
}

void check_state(const OptimizerState& state, const OptimizerConfig& config, int64_t parameter_count,
                 const std::string& who) {
  const std::vector<std::string> slots = optimizer_slots(config);
  for (const std::string& slot : slots) {
    const auto it = state.slots.find(slot);
    if (it == state.slots.end())
      throw Error(who + ": the optimizer state has no '" + slot + "' (" + optimizer_name(config.kind) + " keeps it)");
    if (int64_t(it->second.size()) != parameter_count)
      throw Error(who + ": the optimizer state's '" + slot + "' has " + std::to_string(it->second.size()) +
                  " values, the model " + std::to_string(parameter_count) + " parameters");
  }
  if (state.slots.size() != slots.size())
    throw Error(who + std::string(": the optimizer state has slots that ") + optimizer_name(config.kind) +
                " does not keep");
}

}  // namespace cudamlp
