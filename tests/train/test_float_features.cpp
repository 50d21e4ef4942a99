// Float32 features through the library: every backend trains on them as given (no /255), evaluation and
// prediction read them as given, first(), hold_out and checkpoints keep them, model files record
// `cudamlp.input_scale` "none", and data that disagrees with the model's input scale is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "backend_comparison.h"
#include "cudamlp/checkpoint.h"
#include "cudamlp/errors.h"
#include "cudamlp/model_file.h"
#include "cudamlp/rng.h"
#include "cudamlp/safetensors.h"
#include "cudamlp/trainer.h"
#include "test_helpers.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

// C classes of D features: class c is a Gaussian blob (std 0.5) around a centre drawn in [-4, 4)^D, far
// outside [0, 1]: a backend that scaled the features by 1/255 would squash the blobs together.
Dataset blob_dataset(int64_t n, int D, int C, uint64_t seed) {
  const std::vector<float> centres = random_floats(size_t(C) * size_t(D), -4.0f, 4.0f, 99);
  Rng rng(seed);
  std::vector<float> features(size_t(n) * size_t(D));
  std::vector<uint8_t> labels(static_cast<size_t>(n));
  for (int64_t s = 0; s < n; ++s) {
    const int c = int(rng.below(uint64_t(C)));
    labels[size_t(s)] = uint8_t(c);
    for (int d = 0; d < D; ++d) {
      // Box-Muller from two uniform draws.
      const double u = 1.0 - rng.uniform(), v = rng.uniform();
      const double normal = std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * 3.14159265358979 * v);
      features[size_t(s) * size_t(D) + size_t(d)] = centres[size_t(c) * size_t(D) + size_t(d)] + float(0.5 * normal);
    }
  }
  return float_dataset(std::move(features), n, D, std::move(labels), C);
}

TrainOptions small_run() {
  TrainOptions options;
  options.epochs = 4;
  options.batch = 16;
  options.lr = 0.05f;
  options.optimizer.momentum = 0.9f;
  options.seed = 3;
  return options;
}

// Weights after 4 epochs (about 100 steps) on different backends, relative to each tensor's largest
// value: float against double sums drift apart step by step; measured ~1e-5, the bound leaves room.
constexpr double kTrainedWeightsTolerance = 1e-3;

std::string message_of(const std::function<void()>& run) {
  try {
    run();
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UsageError";
  return "";
}

}  // namespace

TEST(FloatFeatures, EveryBackendLearnsThemAsGivenAndEndsNearTheReference) {
  const Dataset train_set = blob_dataset(300, 3, 4, 1), test_set = blob_dataset(200, 3, 4, 2);
  const TrainOptions options = small_run();
  const Model initial = make_mlp(std::vector<int>{3, 16, 4}, options.seed, InputScale::kNone);
  const auto reference = make_backend("reference");
  reference->set_model(initial, options.optimizer);
  const TrainResult result = train(*reference, train_set, &test_set, options, TrainHooks{});
  EXPECT_EQ(result.position.epoch, 4);
  // Well separated blobs: near-perfect once learnt; features scaled by 1/255 would stay near chance (25%).
  EXPECT_GE(evaluate(*reference, test_set).accuracy(), 0.97);
#if CUDAMLP_HAVE_CPU_BACKEND
  const std::vector<std::string> devices = {"cpu", "gpu-emulated"};
#else
  const std::vector<std::string> devices = {"gpu-emulated"};
#endif
  for (const std::string& device : devices) {
    SCOPED_TRACE(device);
    const auto backend = make_backend(device);
    backend->set_model(initial, options.optimizer);
    train(*backend, train_set, &test_set, options, TrainHooks{});
    EXPECT_TRUE(models_near(backend->model(), reference->model(), kTrainedWeightsTolerance, "trained weights"));
    EXPECT_EQ(backend->model().network.input_scale, InputScale::kNone);
  }
}

TEST(FloatFeatures, PredictionsAndEvaluationReadTheFeaturesAsGiven) {
  const Dataset data = blob_dataset(1500, 5, 3, 4);  // more than one prediction chunk of 1024
  const auto backend = make_backend("reference");
  backend->set_model(make_mlp(std::vector<int>{5, 7, 3}, 1, InputScale::kNone), OptimizerConfig{});
  std::vector<float> expected(size_t(data.count) * 3);
  backend->predict(data.features.data(), data.count, expected.data());
  EXPECT_EQ(predict_probabilities(*backend, data, 0, data.count), expected);
  const EvalResult eval = evaluate(*backend, data);
  int64_t correct = 0;
  for (int64_t n = 0; n < data.count; ++n) {
    const float* row = expected.data() + n * 3;
    correct += int64_t(std::max_element(row, row + 3) - row) == data.labels[size_t(n)];
  }
  EXPECT_EQ(eval.correct, correct);
  EXPECT_EQ(eval.count, data.count);
}

TEST(FloatFeatures, FirstAndHoldOutKeepTheFeaturesOfTheirSamples) {
  const Dataset data = blob_dataset(40, 3, 2, 5);
  const Dataset head = data.first(7);
  EXPECT_TRUE(head.has_float_features());
  EXPECT_TRUE(head.pixels.empty());
  EXPECT_EQ(head.features, std::vector<float>(data.features.begin(), data.features.begin() + 21));
  const TrainTestSplit split = hold_out(data, 0.25, 8);
  ASSERT_EQ(split.train.count + split.test.count, 40);
  EXPECT_TRUE(split.train.has_float_features() && split.test.has_float_features());
  EXPECT_EQ(split.train.features.size() + split.test.features.size(), data.features.size());
  // Each held-out sample is one of the data's, features and label together.
  for (int64_t i = 0; i < split.test.count; ++i) {
    const std::vector<float> row(split.test.features.begin() + i * 3, split.test.features.begin() + i * 3 + 3);
    bool found = false;
    for (int64_t n = 0; n < data.count && !found; ++n)
      found = std::equal(row.begin(), row.end(), data.features.begin() + n * 3) &&
              split.test.labels[size_t(i)] == data.labels[size_t(n)];
    EXPECT_TRUE(found) << "held-out sample " << i;
  }
}

TEST(FloatFeatures, TheDataIdentityTellsFeaturesFromPixelsAndFromEachOther) {
  const Dataset data = blob_dataset(20, 2, 2, 6);
  Dataset changed = data;
  changed.features[13] = std::nextafter(changed.features[13], 100.0f);
  EXPECT_EQ(identify_data(data), identify_data(data));
  EXPECT_NE(identify_data(data), identify_data(changed));
  // The same bytes as pixels are another data set.
  Dataset as_pixels;
  as_pixels.count = 20;
  as_pixels.rows = 1;
  as_pixels.cols = 8;
  as_pixels.num_classes = 2;
  as_pixels.pixels.resize(data.features.size() * sizeof(float));
  std::memcpy(as_pixels.pixels.data(), data.features.data(), as_pixels.pixels.size());
  as_pixels.labels = data.labels;
  EXPECT_NE(identify_data(data).checksum, identify_data(as_pixels).checksum);
}

TEST(FloatFeatures, ACheckpointOfAFloatRunResumesBitwise) {
  const Dataset data = blob_dataset(45, 3, 3, 7);
  TrainOptions options = small_run();
  options.epochs = 2;
  options.batch = 7;
  options.snapshot_every_steps = 5;
  const Model initial = make_mlp(std::vector<int>{3, 6, 3}, options.seed, InputScale::kNone);
  std::vector<TrainSnapshot> snapshots;
  TrainHooks hooks;
  hooks.on_snapshot = [&](const TrainSnapshot& s) { snapshots.push_back(s); };
  const auto backend = make_backend("reference");
  backend->set_model(initial, options.optimizer);
  train(*backend, data, nullptr, options, hooks);
  ASSERT_FALSE(snapshots.empty());

  TempDir dir;
  Checkpoint checkpoint;
  checkpoint.state = snapshots.front();
  checkpoint.options = options;
  checkpoint.data = identify_data(data);
  checkpoint.device = "reference";
  save_checkpoint(dir.file("run.ckpt"), checkpoint);
  const Checkpoint loaded = load_checkpoint(dir.file("run.ckpt"));
  EXPECT_EQ(loaded.state.model.network.input_scale, InputScale::kNone);
  EXPECT_EQ(loaded.data, identify_data(data));
  const auto resumed = make_backend("reference");
  resumed->set_model(loaded.state.model, options.optimizer);
  resumed->set_optimizer_state(loaded.state.optimizer);
  train(*resumed, data, nullptr, options, TrainHooks{}, loaded.state.position);
  EXPECT_EQ(resumed->model().parameters, backend->model().parameters);
}

TEST(FloatFeatures, ModelFilesRecordThatTheInputIsUsedAsGiven) {
  TempDir dir;
  const Model model = make_mlp(std::vector<int>{2, 4, 3}, 1, InputScale::kNone);
  save_model(dir.file("float.safetensors"), model);
  EXPECT_EQ(read_safetensors(dir.file("float.safetensors")).metadata.at("cudamlp.input_scale"), "none");
  const Model back = load_model(dir.file("float.safetensors"));
  EXPECT_EQ(back.network.input_scale, InputScale::kNone);
  EXPECT_EQ(back.parameters, model.parameters);
  save_model(dir.file("pixels.safetensors"), make_mlp(std::vector<int>{2, 4, 3}, 1));
  EXPECT_EQ(read_safetensors(dir.file("pixels.safetensors")).metadata.at("cudamlp.input_scale"), "pixel/255");
  EXPECT_EQ(load_model(dir.file("pixels.safetensors")).network.input_scale, InputScale::kPixel255);
}

TEST(FloatFeatures, DataThatDisagreesWithTheModelsInputScaleIsRefused) {
  const Dataset floats = blob_dataset(30, 4, 2, 8);
  const Dataset pixels = random_dataset(30, 4, 2, 8);
  const auto backend = make_backend("reference");
  backend->set_model(make_mlp(std::vector<int>{4, 2}, 1), OptimizerConfig{});  // takes pixels
  const TrainOptions options = small_run();
  EXPECT_NE(message_of([&] { train(*backend, floats, nullptr, options, TrainHooks{}); })
                .find("the model takes uint8 pixels (scaled by 1/255), the data is float32 features"),
            std::string::npos);
  EXPECT_NE(message_of([&] { evaluate(*backend, floats); }).find("float32 features"), std::string::npos);
  backend->set_model(make_mlp(std::vector<int>{4, 2}, 1, InputScale::kNone), OptimizerConfig{});
  EXPECT_NE(message_of([&] { evaluate(*backend, pixels); })
                .find("the model takes float32 features (used as given), the data is uint8 pixels"),
            std::string::npos);
}

TEST(FloatFeatures, AugmentationIsRefusedWithTheFlagsNamed) {
  const Dataset data = blob_dataset(30, 4, 2, 9);
  TrainOptions options = small_run();
  options.regularization.augmentation.rotate_degrees = 10;
  options.regularization.augmentation.rows = 2;
  options.regularization.augmentation.cols = 2;
  const auto backend = make_backend("reference");
  backend->set_model(make_mlp(std::vector<int>{4, 2}, 1, InputScale::kNone), options.optimizer);
  EXPECT_NE(message_of([&] { train(*backend, data, nullptr, options, TrainHooks{}); })
                .find("augmentation (--rotate, --scale, --shear, --shift, --elastic) needs images of uint8 pixels"),
            std::string::npos);
}
