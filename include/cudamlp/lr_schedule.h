// Learning-rate schedules: the learning rate of every step as a pure function of the step number, so a
// resumed or data-parallel run takes exactly the rates an uninterrupted one takes, and a GPU replays
// one captured CUDA graph for the whole run (the rate reaches it through device memory, optimizer.h).
//
// For step s (0-based) of a run of T steps with N warm-up steps and base rate lr:
//   warm-up   lr (s + 1) / N                                  while s < N
//   constant  lr
//   step      lr * gamma^floor(epoch / E)                     epoch = s / steps per epoch
//   cosine    lr_min + (lr - lr_min) (1 + cos(pi (s - N) / (T - N))) / 2
//   linear    lr + (lr_min - lr) (s - N) / (T - N)
// computed in double and rounded once to float.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cudamlp {

enum class LrScheduleKind { kConstant, kStep, kCosine, kLinear };

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::kConstant;
  int64_t warmup_steps = 0;  // N
  float lr_min = 0.0f;       // the end value of cosine and linear
  int64_t step_epochs = 0;   // step: E, every this many epochs...
  float step_gamma = 1.0f;   // ... multiply by gamma

  bool operator==(const LrSchedule&) const = default;
};

// "constant", "step", "cosine", "linear": the names flags and files use; lr_schedule_kind is the inverse.
const char* lr_schedule_name(LrScheduleKind kind);
std::optional<LrScheduleKind> lr_schedule_kind(const std::string& name);

// Throws UsageError naming the flag (--warmup, --lr-min, --lr-step) unless the schedule fits a run of
// total_steps steps with base rate lr: warm-up shorter than the run, lr_min in [0, lr], E >= 1 and gamma
// in (0, 1] for step.
void check_lr_schedule(const LrSchedule& schedule, float lr, int64_t total_steps);

// The learning rate of step `step` (0-based) of a run of total_steps steps, steps_per_epoch a epoch.
float scheduled_lr(const LrSchedule& schedule, float lr, int64_t step, int64_t steps_per_epoch, int64_t total_steps);

}  // namespace cudamlp
