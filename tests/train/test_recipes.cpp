// Training recipes through the trainer: the learning-rate schedules' values, weight decay on weights
// only (every backend), and a run stopped mid-way and resumed from its snapshot ending bitwise equal to
// the uninterrupted run with every recipe option on (reference, cpu).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/errors.h"
#include "cudamlp/lr_schedule.h"
#include "cudamlp/rng.h"
#include "cudamlp/trainer.h"

using namespace cudamlp;

namespace {

// float32 rounding of a double formula, once: what scheduled_lr promises.
constexpr double kRateTolerance = 1e-7;

// 3 classes of 5x4 images: class c brightens row band c (the rest is noise).
Dataset band_dataset(int64_t n, uint64_t seed) {
  Dataset data;
  data.count = n;
  data.rows = 5;
  data.cols = 4;
  data.num_classes = 3;
  Rng rng(seed);
  data.pixels.resize(size_t(n * 20));
  data.labels.resize(size_t(n));
  for (int64_t s = 0; s < n; ++s) {
    const int c = int(rng.below(3));
    data.labels[size_t(s)] = uint8_t(c);
    for (int i = 0; i < 20; ++i) data.pixels[size_t(s * 20 + i)] = uint8_t(i / 7 == c ? 140 + rng.below(116) : rng.below(90));
  }
  return data;
}

// Every recipe option at once: AdamW with decay, warm-up then cosine, dropout and every distortion.
TrainOptions recipe_options() {
  TrainOptions options;
  options.epochs = 3;
  options.batch = 7;  // 61 samples: 9 steps an epoch, the last of 5
  options.lr = 0.01f;
  options.optimizer = {.kind = OptimizerKind::kAdamW, .beta2 = 0.99f, .weight_decay = 0.05f};
  options.schedule = {.kind = LrScheduleKind::kCosine, .warmup_steps = 4, .lr_min = 0.001f};
  options.regularization.dropout = 0.2f;
  options.regularization.augmentation = {.rows = 5, .cols = 4, .rotate_degrees = 10, .scale = 0.1f, .shear = 0.1f,
                                         .shift = 1, .elastic_alpha = 3, .elastic_sigma = 1};
  options.seed = 11;
  return options;
}

std::vector<std::string> host_devices() {
  std::vector<std::string> devices = {"reference"};
  if (cpu_backend_info().built) devices.push_back("cpu");
  return devices;
}

}  // namespace

TEST(LrSchedule, WarmsUpLinearlyThenFollowsEachScheduleToItsEnd) {
  const float lr = 0.1f;
  LrSchedule schedule{.kind = LrScheduleKind::kCosine, .warmup_steps = 4, .lr_min = 0.01f};
  // Warm-up: lr/N, 2lr/N, ..., lr at step N - 1.
  for (int64_t s = 0; s < 4; ++s)
    EXPECT_NEAR(scheduled_lr(schedule, lr, s, 10, 104), 0.1 * double(s + 1) / 4, kRateTolerance) << s;
  EXPECT_NEAR(scheduled_lr(schedule, lr, 4, 10, 104), 0.1, kRateTolerance);    // the cosine's start
  EXPECT_NEAR(scheduled_lr(schedule, lr, 54, 10, 104), 0.055, kRateTolerance); // halfway: the mean
  EXPECT_NEAR(scheduled_lr(schedule, lr, 29, 10, 104),
              0.01 + 0.09 * (1 + std::cos(std::numbers::pi * 25 / 100)) / 2, kRateTolerance);
  schedule.kind = LrScheduleKind::kLinear;
  EXPECT_NEAR(scheduled_lr(schedule, lr, 54, 10, 104), 0.055, kRateTolerance);
  EXPECT_NEAR(scheduled_lr(schedule, lr, 103, 10, 104), 0.01 + 0.09 / 100, kRateTolerance);  // the last step
  schedule = {.kind = LrScheduleKind::kStep, .step_epochs = 2, .step_gamma = 0.5f};
  EXPECT_EQ(scheduled_lr(schedule, lr, 19, 10, 100), lr);  // epoch 1
  EXPECT_NEAR(scheduled_lr(schedule, lr, 20, 10, 100), 0.05, kRateTolerance);  // epoch 2
  EXPECT_NEAR(scheduled_lr(schedule, lr, 99, 10, 100), 0.1 / 16, kRateTolerance);  // epoch 9
  EXPECT_EQ(scheduled_lr({}, lr, 12345, 10, 100), lr);  // constant
}

TEST(LrSchedule, RefusesAWarmupAsLongAsTheRunAndAnEndAboveTheRate) {
  EXPECT_THROW(check_lr_schedule({.warmup_steps = 10}, 0.1f, 10), UsageError);
  EXPECT_NO_THROW(check_lr_schedule({.warmup_steps = 9}, 0.1f, 10));
  EXPECT_THROW(check_lr_schedule({.kind = LrScheduleKind::kCosine, .lr_min = 0.2f}, 0.1f, 10), UsageError);
  EXPECT_THROW(check_lr_schedule({.kind = LrScheduleKind::kStep}, 0.1f, 10), UsageError);  // no E
}

TEST(Training, StepValuesFollowTheScheduleAndNameTheEpoch) {
  TrainOptions options = recipe_options();
  const StepValues first = step_values(options, 0, 61), tenth = step_values(options, 9, 61);
  EXPECT_NEAR(first.lr, 0.01 / 4, kRateTolerance);
  EXPECT_EQ(first.epoch, 0);
  EXPECT_EQ(tenth.step, 9);
  EXPECT_EQ(tenth.epoch, 1);  // 9 steps an epoch
  EXPECT_NEAR(tenth.lr, 0.001 + 0.009 * (1 + std::cos(std::numbers::pi * 5 / 23)) / 2, kRateTolerance);
}

TEST(Training, WeightDecayChangesTheWeightsAndNeverTheBiases) {
  // From the same start one step's gradient is the same with and without decay: the biases must come out
  // bitwise equal, the weights not.
  const Dataset data = band_dataset(40, 3);
  std::vector<std::string> devices = host_devices();
  devices.push_back("gpu-emulated");
  for (const std::string& device : devices) {
    for (const OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kAdam, OptimizerKind::kAdamW}) {
      SCOPED_TRACE(device + " " + optimizer_name(kind));
      std::vector<Model> trained;
      for (const float decay : {0.0f, 0.1f}) {
        TrainOptions options;
        options.epochs = 1;
        options.batch = 40;
        options.optimizer = {.kind = kind, .momentum = kind == OptimizerKind::kSgd ? 0.9f : 0.0f, .weight_decay = decay};
        std::unique_ptr<Backend> backend = make_backend(device);
        backend->set_model(make_mlp(std::vector<int>{20, 6, 3}, 4), options.optimizer);
        train(*backend, data, nullptr, options, [](const EpochReport&) {});
        trained.push_back(backend->model());
      }
      for (size_t l = 0; l < trained[0].network.layers.size(); ++l) {
        const std::span<const float> with = trained[1].bias(l), without = trained[0].bias(l);
        EXPECT_TRUE(std::equal(with.begin(), with.end(), without.begin())) << "layer " << l << "'s bias decayed";
        const std::span<const float> w1 = trained[1].weight(l), w0 = trained[0].weight(l);
        EXPECT_FALSE(std::equal(w1.begin(), w1.end(), w0.begin())) << "layer " << l << "'s weights did not decay";
      }
    }
  }
}

TEST(Training, ARecipeStoppedAndResumedFromItsSnapshotEndsBitwiseAsTheUninterruptedRun) {
  const Dataset data = band_dataset(61, 5);
  const TrainOptions options = recipe_options();
  for (const std::string& device : host_devices()) {
    SCOPED_TRACE(device);
    const Model start = make_mlp(std::vector<int>{20, 9, 3}, options.seed);
    std::unique_ptr<Backend> whole = make_backend(device, {.threads = 2});
    whole->set_model(start, options.optimizer);
    train(*whole, data, nullptr, options, TrainHooks{});

    // Stopped after step 13 (in the middle of epoch 2), resumed in a new backend from the snapshot.
    std::unique_ptr<Backend> first = make_backend(device, {.threads = 2});
    first->set_model(start, options.optimizer);
    TrainHooks hooks;
    int64_t polls = 0;
    TrainSnapshot snapshot;
    hooks.stop_requested = [&] { return polls++ == 13; };
    hooks.on_snapshot = [&](const TrainSnapshot& s) { snapshot = s; };
    const TrainResult stopped = train(*first, data, nullptr, options, hooks);
    ASSERT_TRUE(stopped.stopped);
    ASSERT_EQ(snapshot.position.step, 13);
    std::unique_ptr<Backend> second = make_backend(device, {.threads = 2});
    second->set_model(snapshot.model, options.optimizer);
    second->set_optimizer_state(snapshot.optimizer);
    train(*second, data, nullptr, options, TrainHooks{}, snapshot.position);

    EXPECT_EQ(second->model().parameters, whole->model().parameters);
    for (const auto& [slot, values] : whole->optimizer_state().slots)
      EXPECT_EQ(second->optimizer_state().slots.at(slot), values) << slot;
  }
}
