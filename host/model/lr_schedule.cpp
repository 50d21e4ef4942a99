// Learning-rate schedules (lr_schedule.h).
#include "cudamlp/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

constexpr LrScheduleKind kEveryKind[] = {LrScheduleKind::kConstant, LrScheduleKind::kStep, LrScheduleKind::kCosine,
                                         LrScheduleKind::kLinear};

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

const char* lr_schedule_name(LrScheduleKind kind) {
  switch (kind) {
    case LrScheduleKind::kConstant: return "constant";
    case LrScheduleKind::kStep: return "step";
    case LrScheduleKind::kCosine: return "cosine";
    case LrScheduleKind::kLinear: return "linear";
  }
  return "?";
}

std::optional<LrScheduleKind> lr_schedule_kind(const std::string& name) {
  for (const LrScheduleKind kind : kEveryKind)
    if (name == lr_schedule_name(kind)) return kind;
  return std::nullopt;
}

void check_lr_schedule(const LrSchedule& schedule, float lr, int64_t total_steps) {
  if (schedule.warmup_steps < 0) throw UsageError("--warmup must not be negative");
  if (schedule.warmup_steps > 0 && schedule.warmup_steps >= total_steps)
    throw UsageError("--warmup of " + std::to_string(schedule.warmup_steps) + " steps is not shorter than the run (" +
                     std::to_string(total_steps) + " steps)");
  if (!(schedule.lr_min >= 0.0f && schedule.lr_min <= lr))
    throw UsageError("--lr-min " + number_text(schedule.lr_min) + " is not in [0, --lr " + number_text(lr) + "]");
  if (schedule.kind == LrScheduleKind::kStep) {
    if (schedule.step_epochs < 1) throw UsageError("--lr-step E,G: E must be at least 1 epoch (--lr-schedule step)");
    if (!(schedule.step_gamma > 0.0f && schedule.step_gamma <= 1.0f))
      throw UsageError("--lr-step E,G: G " + number_text(schedule.step_gamma) + " is not in (0, 1]");
  }
}

float scheduled_lr(const LrSchedule& schedule, float lr, int64_t step, int64_t steps_per_epoch, int64_t total_steps) {
  const double base = lr;
  const int64_t warmup = schedule.warmup_steps;
  if (step < warmup) return float(base * double(step + 1) / double(warmup));
  // Past the planned end (a run resumed for more epochs than planned), cosine and linear stay at the end.
  const double span = double(total_steps - warmup);
  const double progress = span > 0 ? std::min(1.0, double(step - warmup) / span) : 1.0;
  const double end = schedule.lr_min;
  switch (schedule.kind) {
    case LrScheduleKind::kConstant: return lr;
    case LrScheduleKind::kStep: {
      const int64_t epoch = step / steps_per_epoch;
      return float(base * std::pow(double(schedule.step_gamma), double(epoch / schedule.step_epochs)));
    }
    case LrScheduleKind::kCosine: return float(end + (base - end) * (1.0 + std::cos(std::numbers::pi * progress)) / 2.0);
    case LrScheduleKind::kLinear: return float(base + (end - base) * progress);
  }
  return lr;
}

}  // namespace cudamlp
