// The optimizer, a concept of its own (tiny-cuda-nn's Optimizer, llm.c's adamw_update): a configuration
// fixed for the whole run, values that change from step to step (the learning rate a schedule gives, the
// step number), and a state of named slots, each a flat buffer in the parameters' layout (network.h),
// named as in PyTorch's optimizer state. A backend runs the update as an elementwise op over each
// parameter tensor; this header decides what the update is. Exactly PyTorch's rules (torch.optim), with
// g the gradient, w the parameter, lr this step's learning rate and t = step + 1:
//
//   SGD   g += wd w;  v = momentum v + g  ("momentum_buffer", zero at the start);
//         w -= lr (g + momentum v) with Nesterov, else w -= lr v   (momentum 0: w -= lr g)
//   Adam  g += wd w;  m = b1 m + (1 - b1) g  ("exp_avg");  s = b2 s + (1 - b2) g^2  ("exp_avg_sq");
//         w -= (lr / (1 - b1^t)) m / (sqrt(s) / sqrt(1 - b2^t) + eps)
//   AdamW w *= 1 - lr wd (decoupled decay), then Adam's update with no decay in g
//
// Weight decay wd applies to weights only, never to biases (the convention of llm.c and most recipes;
// PyTorch reaches it with two parameter groups): a backend passes wd for a weight tensor, 0 for a bias.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cudamlp {

enum class OptimizerKind { kSgd, kAdam, kAdamW };

// Fixed for a run: what every step of it does. PyTorch's defaults.
struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;
  float momentum = 0.0f;      // SGD, in [0, 1)
  bool nesterov = false;      // SGD: Nesterov momentum (needs momentum > 0)
  float beta1 = 0.9f;         // Adam(W): decay of the first moment, in [0, 1)
  float beta2 = 0.999f;       // ... and of the second, in [0, 1)
  float eps = 1e-8f;          // ... added outside the square root, > 0
  float weight_decay = 0.0f;  // every optimizer, weights only, >= 0
};
// (By hand, not defaulted: nvcc compiles this header as C++17.)
inline bool operator==(const OptimizerConfig& a, const OptimizerConfig& b) {
  return a.kind == b.kind && a.momentum == b.momentum && a.nesterov == b.nesterov && a.beta1 == b.beta1 &&
         a.beta2 == b.beta2 && a.eps == b.eps && a.weight_decay == b.weight_decay;
}

// What changes from step to step. A GPU keeps them in device memory, written in stream order before
// each step, so that one captured CUDA graph serves any learning-rate schedule.
struct StepValues {
  float lr = 0;       // the learning rate of this step
  int64_t step = 0;   // optimizer steps taken before this one, all epochs
  int64_t epoch = 0;  // the epoch this step belongs to (0-based): augmentation draws afresh every epoch
};

// "sgd", "adam", "adamw": the names flags and files use; optimizer_kind is its inverse (nullopt for an
// unknown name).
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
// The numeric hyper-parameters of kind, in a fixed order: SGD {momentum, weight_decay}, Adam and AdamW
// {beta1, beta2, eps, weight_decay}. SGD's nesterov is a flag of its own (OptimizerConfig::nesterov).
std::vector<HyperParameter> hyper_parameters(OptimizerKind kind);

// Throws UsageError naming the problem unless every hyper-parameter of config is in its range and
// Nesterov has a momentum (PyTorch refuses it without one).
void check_optimizer(const OptimizerConfig& config);

// The bias corrections of Adam(W)'s step `step` (0-based, so t = step + 1): 1 - beta^t, in double.
double adam_bias_correction(float beta, int64_t step);

// The names of config's slots, in the order backends keep them: SGD {"momentum_buffer"} (zeros with
// momentum 0, as checkpoints have always held), Adam and AdamW {"exp_avg", "exp_avg_sq"}.
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
