// The optimizer, a concept of its own (tiny-cuda-nn's Optimizer, llm.c's adamw_update): a configuration
// fixed for the whole run, values that change from step to step (the learning rate a schedule gives, the
// step number), and a state of named slots, each a flat buffer in the parameters' layout (network.h),
// named as in PyTorch's optimizer state. A backend runs the update as one elementwise op over all its
// parameters; this header decides what the update is.
//
// SGD (PyTorch's torch.optim.SGD): v = momentum * v + g; w -= lr * v, with the slot v "momentum_buffer"
// (zero at the start; with momentum 0 the update is w -= lr * g).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cudamlp {

enum class OptimizerKind { kSgd };

// Fixed for a run: what every step of it does.
struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;
  float momentum = 0.0f;  // SGD, in [0, 1)
};
// (By hand, not defaulted: nvcc compiles this header as C++17.)
inline bool operator==(const OptimizerConfig& a, const OptimizerConfig& b) {
  return a.kind == b.kind && a.momentum == b.momentum;
}

// What changes from step to step. A GPU keeps them in device memory, written in stream order before
// each step, so that one captured CUDA graph serves any learning-rate schedule.
struct StepValues {
  float lr = 0;       // the learning rate of this step
  int64_t step = 0;   // optimizer steps taken before this one, all epochs
  int64_t epoch = 0;  // the epoch this step belongs to (0-based): augmentation draws afresh every epoch
};

// "sgd": the name flags and files use; optimizer_kind is its inverse (nullopt for an unknown name).
const char* optimizer_name(OptimizerKind kind);
std::optional<OptimizerKind> optimizer_kind(const std::string& name);

// One hyper-parameter of an optimizer's config, by the name files and logs use (checkpoints store it as
// cudamlp.run.<name>), with its valid range.
struct HyperParameter {
  const char* name;                 // "momentum"
  float OptimizerConfig::*value;    // where it lives in the config
  bool (*valid)(float value);       // its range, as a test
  const char* range;                // ... and as text, for messages: "[0, 1)"
};
// The hyper-parameters of kind, in a fixed order: SGD {momentum}.
std::vector<HyperParameter> hyper_parameters(OptimizerKind kind);

// The names of config's slots, in the order backends keep them: SGD {"momentum_buffer"}.
std::vector<std::string> optimizer_slots(const OptimizerConfig& config);
// Whether name is a slot of any optimizer.
bool is_optimizer_slot_name(const std::string& name);

// The state: each of the config's slots, [parameter_count] values in the parameters' layout.
struct OptimizerState {
  std::map<std::string, std::vector<float>> slots;
};

// A state of config's slots, all zero: what a run starts from.
OptimizerState zero_state(const OptimizerConfig& config, int64_t parameter_count);

// Throws Error unless state holds exactly config's slots, each of parameter_count values; `who` ("cpu
// backend") names the caller in the message.
void check_state(const OptimizerState& state, const OptimizerConfig& config, int64_t parameter_count,
                 const std::string& who);

}  // namespace cudamlp
