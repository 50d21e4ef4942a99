// The gpu backend against the reference backend, for both GEMM engines: every phase of a step over the
// network grid, and whole 100-step training runs (several architectures and batch sizes, partial last
// batches, momentum, the shuffle computed on the device) through the trainer. Runs on the SIMT emulator
// (`Emulated/...`, always) and on a real GPU (`Gpu/...`, skipped with the reason when there is none).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backend_comparison.h"
#include "cudamlp/gpu_info.h"
#include "cudamlp/trainer.h"
#include "gpu_backend.h"
#include "reference_backend.h"
#include "test_helpers.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

// After 100 SGD steps the float32 backends drift from the double-summing reference: the error model's
// bound for training runs (error_model.h, which says why 5e-4).
constexpr double kTrainingTolerance = verify::kTrainingRunTolerance;

struct GpuCase {
  const char* executor;  // "simt" or "cuda"
  GemmEngine engine;
};

std::string case_text(const GpuCase& c) {
  return std::string(c.executor) + (c.engine == GemmEngine::kCustom ? "_custom" : "_cublas");
}
std::string case_name(const ::testing::TestParamInfo<GpuCase>& info) { return case_text(info.param); }
void PrintTo(const GpuCase& c, std::ostream* out) { *out << case_text(c); }

class GpuBackendTest : public ::testing::TestWithParam<GpuCase> {
 protected:
  void SetUp() override {
    if (std::string(GetParam().executor) == "simt") {
      ops = &emulated_ops();
      return;
    }
    const GpuInfo gpu = query_gpu();
    if (!gpu.usable) GTEST_SKIP() << "no GPU to run on: " << gpu.description;
    ops = cuda_ops();
  }
  GpuBackend make() const { return GpuBackend(*ops, GetParam().engine); }
  const DeviceOps* ops = nullptr;
};

// Trains `backend` and a ReferenceBackend from the same model for `epochs` through the trainer.
void train_both(Backend& backend, ReferenceBackend& reference, const std::vector<int>& sizes, const Dataset& data,
                const TrainOptions& options) {
  const Model model = make_mlp(sizes, options.seed);
  for (Backend* b : {&backend, static_cast<Backend*>(&reference)}) {
    b->set_model(model, options.optimizer);
    train(*b, data, nullptr, options, [](const EpochReport&) {});
  }
}

}  // namespace

TEST_P(GpuBackendTest, EveryPhaseOfAStepMatchesReferenceOnNetworkGrid) {
  for (const std::vector<int>& sizes : network_grid()) {
    for (int64_t batch : {int64_t{1}, int64_t{3}, int64_t{64}}) {
      if (too_slow_under_sanitizer(batch * mlp_network(sizes).parameter_count())) continue;
      GpuBackend backend = make();
      expect_step_matches_reference(backend, backend, sizes, batch);
      if (HasFailure()) return;
    }
  }
}

TEST_P(GpuBackendTest, EveryPhaseOfAStepOnFloatFeaturesMatchesReference) {
  for (const std::vector<int>& sizes : kFloatFeatureNetworks) {
    for (int64_t batch : {int64_t{1}, int64_t{3}, int64_t{64}}) {
      GpuBackend backend = make();
      expect_step_matches_reference(backend, backend, sizes, batch, 0.0f, InputScale::kNone);
      if (HasFailure()) return;
    }
  }
}

TEST_P(GpuBackendTest, EveryPhaseOfAStepMatchesReferenceOnANetworkThatIsNotAnMlp) {
  for (const int64_t batch : {int64_t{3}, int64_t{64}}) {
    GpuBackend backend = make();
    expect_step_matches_reference(backend, backend, network_with_a_linear_hidden_layer(), batch);
  }
}

TEST_P(GpuBackendTest, EveryPhaseOfAStepWithDropoutMatchesReferenceOnNetworkGrid) {
  for (const std::vector<int>& sizes : network_grid()) {
    for (int64_t batch : {int64_t{3}, int64_t{64}}) {
      if (too_slow_under_sanitizer(batch * mlp_network(sizes).parameter_count())) continue;
      GpuBackend backend = make();
      expect_step_matches_reference(backend, backend, sizes, batch, 0.3f);
      if (HasFailure()) return;
    }
  }
  GpuBackend backend = make();
  expect_step_matches_reference(backend, backend, network_with_a_linear_hidden_layer(), 64, 0.5f);
}

TEST_P(GpuBackendTest, DropoutTrainsLikeTheReferenceWithGraphsReplayedOrNot) {
  // A replayed graph must draw each step's masks: the step number from step_values_, the batch's
  // position from the device's cursor. cudamlp verify's short run (step_check.h: three epochs of 150
  // samples in batches of 32, the last of 22, momentum, dropout 0.25), eagerly and with graphs: each near
  // the reference (kTrainingRunTolerance, this file's kTrainingTolerance), and bitwise alike.
  std::vector<Model> models;
  for (bool graphs : {false, true}) {
    GpuBackend backend(*ops, GetParam().engine, false, graphs);
    EXPECT_TRUE(all_passed(verify::check_training_run(backend))) << (graphs ? "graphs" : "eager");
    models.push_back(backend.model());
  }
  EXPECT_EQ(models[0].parameters, models[1].parameters);
}

TEST_P(GpuBackendTest, HundredTrainingStepsEndNearTheReference) {
  struct Run {
    std::vector<int> sizes;
    int64_t samples, batch;
    float momentum;
  };
  // At least 100 steps each. Every run has a partial last batch. Inputs stay small (the emulator runs
  // every CUDA thread); the phase test above covers MNIST's 784 inputs.
  for (const Run& run : {Run{{49, 16, 10}, 320, 33, 0.9f},      // 10 steps per epoch (last batch 23)
                         Run{{49, 7, 5, 3}, 250, 64, 0.0f},      // 4 per epoch (last batch 58)
                         Run{{100, 24, 10}, 300, 128, 0.5f}}) {  // 3 per epoch (last batch 44)
    const int64_t steps_per_epoch = (run.samples + run.batch - 1) / run.batch;
    TrainOptions options;
    options.epochs = int((100 + steps_per_epoch - 1) / steps_per_epoch);
    options.batch = run.batch;
    options.lr = 0.05f;
    options.optimizer.momentum = run.momentum;
    options.seed = 3;
    const Dataset data = random_dataset(run.samples, run.sizes.front(), run.sizes.back(), 11);
    GpuBackend backend = make();
    ReferenceBackend reference;
    train_both(backend, reference, run.sizes, data, options);
    SCOPED_TRACE(backend.name() + " batch " + std::to_string(run.batch));
    EXPECT_TRUE(models_near(backend.model(), reference.model(), kTrainingTolerance, "weights after 100 steps"));
    const BatchStats got = backend.epoch_stats(), want = reference.epoch_stats();
    EXPECT_EQ(got.count, want.count);
    EXPECT_NEAR(got.loss, want.loss, 1e-3 * std::max(1.0, want.loss));
  }
}

TEST_P(GpuBackendTest, SameSeedGivesBitwiseTheSameWeights) {
  const std::vector<int> sizes = {49, 12, 10};
  const Dataset data = random_dataset(100, 49, 10, 5);
  TrainOptions options;
  options.epochs = 3;
  options.batch = 16;
  options.lr = 0.1f;
  options.optimizer.momentum = 0.9f;
  std::vector<Model> runs;
  for (int run = 0; run < 2; ++run) {
    GpuBackend backend = make();
    backend.set_model(make_mlp(sizes, 1), options.optimizer);
    train(backend, data, nullptr, options, [](const EpochReport&) {});
    runs.push_back(backend.model());
  }
  EXPECT_EQ(runs[0].parameters, runs[1].parameters);
}

TEST_P(GpuBackendTest, GraphReplayTrainsBitwiseLikeEagerLaunches) {
  // A replayed graph bakes in its kernel arguments: anything that changes from step to step (where the
  // batch starts, the partial last batch) must come from the device, or replays train the wrong samples.
  const std::vector<int> sizes = {49, 12, 10};
  const Dataset data = random_dataset(150, 49, 10, 8);  // batches of 32: four full, one of 22
  TrainOptions options;
  options.epochs = 3;
  options.batch = 32;
  options.lr = 0.1f;
  options.optimizer.momentum = 0.9f;
  std::vector<Model> models;
  for (bool graphs : {false, true}) {
    GpuBackend backend(*ops, GetParam().engine, false, graphs);
    backend.set_model(make_mlp(sizes, 2), options.optimizer);
    train(backend, data, nullptr, options, [](const EpochReport&) {});
    models.push_back(backend.model());
  }
  EXPECT_EQ(models[0].parameters, models[1].parameters);
}

TEST_P(GpuBackendTest, StartsAnEpochMidwayLikeTheReference) {
  // A resumed run begins an epoch at a later sample: the device-side cursor must jump there.
  const std::vector<int> sizes = {49, 10, 10};
  const Dataset data = random_dataset(200, 49, 10, 9);
  GpuBackend backend = make();
  ReferenceBackend reference;
  for (Backend* b : {static_cast<Backend*>(&backend), static_cast<Backend*>(&reference)}) {
    b->set_model(make_mlp(sizes, 5), {OptimizerKind::kSgd, 0.9f});
    b->set_training_data(data);
    b->begin_epoch({200, 5, 2, true});
    int64_t step = 0;
    for (int64_t first : {64, 96, 128, 160}) b->train_batch(first, 32, {0.1f, step++});
    b->set_optimizer_state(b->optimizer_state());  // the checkpoint round trip leaves training unchanged
    b->train_batch(192, 8, {0.1f, step});
  }
  EXPECT_TRUE(models_near(backend.model(), reference.model(), kTrainingTolerance, "weights"));
  EXPECT_TRUE(states_near(backend.network(), backend.optimizer_state(), reference.optimizer_state(),
                          kTrainingTolerance, "optimizer"));
  EXPECT_EQ(backend.epoch_stats().count, 136);
}

namespace {

// The executor's ops with a count of device-to-host copies (the GPU's synchronisation points).
int g_copies_to_host = 0;
void (*g_to_host)(void*, const void*, size_t) = nullptr;
DeviceOps counting_copies_to_host(const DeviceOps& ops) {
  DeviceOps counted = ops;
  g_to_host = ops.to_host;
  counted.to_host = [](void* dst, const void* src, size_t bytes) {
    ++g_copies_to_host;
    g_to_host(dst, src, bytes);
  };
  return counted;
}

}  // namespace

TEST_P(GpuBackendTest, TrainingCopiesMetricsToTheHostOnlyEveryFiftyStepsByDefault) {
  // Issue 4: no device-to-host copy per step. The divergence guard's read is one, so by default it reads
  // every kGuardEveryStepsWhenCostly steps on a GPU; asking for every step still works, and costs a copy each.
  const std::vector<int> sizes = {49, 8, 10};
  const Dataset data = random_dataset(400, 49, 10, 3);  // 100 steps of 4
  const DeviceOps counted = counting_copies_to_host(*ops);
  for (int64_t check_every : {int64_t{0}, int64_t{1}}) {
    SCOPED_TRACE("finite_check_every " + std::to_string(check_every));
    TrainOptions options;
    options.batch = 4;
    options.finite_check_every = check_every;
    GpuBackend backend(counted, GetParam().engine);
    backend.set_model(make_mlp(sizes, 1), {});
    g_copies_to_host = 0;
    train(backend, data, nullptr, options, [](const EpochReport&) {});
    // Besides the guard: the epoch's metrics and the model's parameters for the end-of-epoch checks.
    const int guard_reads = check_every == 0 ? 100 / int(kGuardEveryStepsWhenCostly) : 100;
    EXPECT_LE(g_copies_to_host, guard_reads + 5);
    EXPECT_GE(g_copies_to_host, guard_reads);
  }
  // A jump back to the start of the epoch (what `cudamlp bench` does when it wraps around, and a resumed
  // run) moves the device's cursor in stream order: no copy, so the queued steps need not finish.
  GpuBackend backend(counted, GetParam().engine);
  backend.set_model(make_mlp(sizes, 1), {});
  backend.set_training_data(data);
  backend.begin_epoch({data.count, 1, 0, true});
  g_copies_to_host = 0;
  int64_t step = 0;
  for (int64_t first : {0, 4, 8, 0, 4, 8, 0, 200}) backend.train_batch(first, 4, {0.1f, step++});
  EXPECT_EQ(g_copies_to_host, 0);
  EXPECT_EQ(backend.epoch_stats().count, 32);
}

TEST_P(GpuBackendTest, EvaluatesLikeTheReference) {
  const std::vector<int> sizes = {49, 9, 10};
  const Dataset data = random_dataset(300, 49, 10, 6);
  GpuBackend backend = make();
  ReferenceBackend reference;
  for (Backend* b : {static_cast<Backend*>(&backend), static_cast<Backend*>(&reference)}) b->set_model(make_mlp(sizes, 4));
  const EvalResult got = evaluate(backend, data), want = evaluate(reference, data);
  EXPECT_EQ(got.correct, want.correct);
  EXPECT_NEAR(got.loss, want.loss, 1e-5 * want.loss);
}

namespace {

// The executor's ops with a count of graph captures.
int g_captures = 0;
DeviceGraph* (*g_graph_capture)(DeviceStream*, void (*)(void*), void*) = nullptr;
DeviceOps counting_captures(const DeviceOps& ops) {
  DeviceOps counted = ops;
  g_graph_capture = ops.graph_capture;
  counted.graph_capture = [](DeviceStream* stream, void (*record)(void*), void* context) {
    ++g_captures;
    return g_graph_capture(stream, record, context);
  };
  return counted;
}

// Trains epochs of data in batches of `batch` through train_batch, the learning rate of step s being
// lr(s): what a schedule does.
void train_with_schedule(Backend& backend, const Dataset& data, int epochs, int64_t batch, float (*lr)(int64_t)) {
  backend.set_training_data(data);
  int64_t step = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    backend.begin_epoch({data.count, 3, epoch, true});
    for (int64_t first = 0; first < data.count; first += batch, ++step)
      backend.train_batch(first, std::min(batch, data.count - first), {lr(step), step});
  }
}

float changing_lr(int64_t step) { return 0.2f / float(1 + step % 7); }

}  // namespace

TEST_P(GpuBackendTest, OneGraphPerBatchSizeServesALearningRateThatChangesEveryStep) {
  // The step's learning rate reaches the device in stream order, so a captured graph is replayed with each
  // step's value: 20 steps of changing lr, in batches of 16 and a last batch of 4, capture two graphs.
  if (ops->graph_capture == nullptr) GTEST_SKIP() << "this executor has no graphs";
  const std::vector<int> sizes = {49, 12, 10};
  const Dataset data = random_dataset(68, 49, 10, 4);  // 4 batches of 16 and one of 4 per epoch
  const DeviceOps counted = counting_captures(*ops);
  const OptimizerConfig sgd{OptimizerKind::kSgd, 0.9f};
  GpuBackend replayed(counted, GetParam().engine), eager(*ops, GetParam().engine, false, false);
  ReferenceBackend reference;
  g_captures = 0;
  for (Backend* b : {static_cast<Backend*>(&replayed), static_cast<Backend*>(&eager), static_cast<Backend*>(&reference)}) {
    b->set_model(make_mlp(sizes, 6), sgd);
    train_with_schedule(*b, data, 4, 16, changing_lr);
  }
  EXPECT_EQ(g_captures, 2);
  EXPECT_EQ(replayed.model().parameters, eager.model().parameters);  // each replay took its own step's lr
  EXPECT_TRUE(models_near(replayed.model(), reference.model(), kTrainingTolerance, "weights"));
}

TEST_P(GpuBackendTest, PredictLeavesTheTrainingStepAndItsGraphsAlone) {
  // Evaluating between epochs (as the trainer does) must not drop the captured graphs or touch the step's
  // buffers, even with more samples than the training batch.
  const std::vector<int> sizes = {49, 9, 10};
  const Dataset data = random_dataset(64, 49, 10, 7);
  const std::vector<float> x = random_floats(size_t(kPredictChunk) * 49, 0, 1, 8);
  std::vector<float> probs(size_t(kPredictChunk) * 10);
  const DeviceOps counted = counting_captures(*ops);
  std::vector<std::vector<float>> runs;
  for (const bool predict_between : {false, true}) {
    GpuBackend backend(counted, GetParam().engine);
    backend.set_model(make_mlp(sizes, 3), {OptimizerKind::kSgd, 0.5f});
    backend.set_training_data(data);
    g_captures = 0;
    for (int epoch = 0; epoch < 3; ++epoch) {
      backend.begin_epoch({data.count, 1, epoch, true});
      for (int64_t first = 0; first < data.count; first += 16) backend.train_batch(first, 16, {0.1f, 4 * epoch + first / 16});
      if (predict_between) backend.predict(x.data(), kPredictChunk, probs.data());
    }
    if (ops->graph_capture != nullptr) {
      EXPECT_EQ(g_captures, 1);
    }
    runs.push_back(backend.model().parameters);
  }
  EXPECT_EQ(runs[0], runs[1]);
}

INSTANTIATE_TEST_SUITE_P(Emulated, GpuBackendTest,
                         ::testing::Values(GpuCase{"simt", GemmEngine::kCustom}, GpuCase{"simt", GemmEngine::kCublas}),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Gpu, GpuBackendTest,
                         ::testing::Values(GpuCase{"cuda", GemmEngine::kCustom}, GpuCase{"cuda", GemmEngine::kCublas}),
                         case_name);
