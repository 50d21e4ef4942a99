// Optimizers: their names, hyper-parameters, slots and zero state (optimizer.h). The updates themselves
// are ops of every backend (reference_ops.h, cpu_ops.h, kernels/optimizer_update.cuh).
#include "cudamlp/optimizer.h"

#include <cfloat>
#include <cmath>
#include <cstdio>

#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

constexpr OptimizerKind kEveryKind[] = {OptimizerKind::kSgd, OptimizerKind::kAdam, OptimizerKind::kAdamW};

// 0, or a normal float32 below 1: a subnormal decay rate is no decay, only less precise.
constexpr bool decay_rate(float value) { return value == 0 || (value >= FLT_MIN && value < 1); }

constexpr HyperParameter kMomentum{"momentum", &OptimizerConfig::momentum, decay_rate, "[0, 1) (0 or a normal float32)"};
constexpr HyperParameter kBeta1{"beta1", &OptimizerConfig::beta1, decay_rate, "[0, 1) (0 or a normal float32)"};
constexpr HyperParameter kBeta2{"beta2", &OptimizerConfig::beta2, decay_rate, "[0, 1) (0 or a normal float32)"};
constexpr HyperParameter kEps{"eps", &OptimizerConfig::eps, [](float e) { return e >= FLT_MIN && e <= 1; },
                          "(0, 1] (a normal float32)"};
constexpr HyperParameter kWeightDecay{"weight_decay", &OptimizerConfig::weight_decay,
                                  [](float wd) { return wd == 0 || (wd >= FLT_MIN && wd <= 1); },
                                  "[0, 1] (0 or a normal float32)"};

}  // namespace

const char* optimizer_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd: return "sgd";
    case OptimizerKind::kAdam: return "adam";
    case OptimizerKind::kAdamW: return "adamw";
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
    case OptimizerKind::kSgd: return {kMomentum, kWeightDecay};
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW: return {kBeta1, kBeta2, kEps, kWeightDecay};
  }
  return {};
}

void check_optimizer(const OptimizerConfig& config) {
  for (const HyperParameter& hyper : hyper_parameters(config.kind)) {
    const float value = config.*hyper.value;
    if (!hyper.valid(value)) {
      char text[32];
      std::snprintf(text, sizeof text, "%g", double(value));
      throw UsageError(std::string(optimizer_name(config.kind)) + "'s " + hyper.name + " " + text + " is not in " +
                       hyper.range);
    }
  }
  if (config.nesterov && (config.kind != OptimizerKind::kSgd || config.momentum == 0))
    throw UsageError("Nesterov momentum needs --optimizer sgd and a --momentum above 0");
}

double adam_bias_correction(float beta, int64_t step) { return 1.0 - std::pow(double(beta), double(step + 1)); }

std::vector<std::string> optimizer_slots(const OptimizerConfig& config) {
  switch (config.kind) {
    case OptimizerKind::kSgd: return {"momentum_buffer"};
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW: return {"exp_avg", "exp_avg_sq"};
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
