// The training loop: it learns a small generated problem, visits batches as documented (partial last
// batch, shuffle or file order), and is reproducible from its seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cudamlp/rng.h"
#include "cudamlp/trainer.h"
#include "reference_backend.h"

using namespace cudamlp;

namespace {

// 4 classes of 6x6 images: class c lights up quadrant c (values 150..255), the rest is noise (0..80).
Dataset quadrant_dataset(int64_t n, uint64_t seed) {
  Dataset data;
  data.count = n;
  data.rows = 6;
  data.cols = 6;
  data.num_classes = 4;
  Rng rng(seed);
  data.pixels.resize(size_t(n * 36));
  data.labels.resize(size_t(n));
  for (int64_t s = 0; s < n; ++s) {
    const int c = int(rng.below(4));
    data.labels[size_t(s)] = uint8_t(c);
    for (int r = 0; r < 6; ++r)
      for (int k = 0; k < 6; ++k) {
        const bool lit = (r / 3) * 2 + (k / 3) == c;
        data.pixels[size_t(s * 36 + r * 6 + k)] = uint8_t(lit ? 150 + rng.below(106) : rng.below(81));
      }
  }
  return data;
}

Model train_quadrants(const TrainOptions& options, const Dataset& data, std::vector<EpochReport>* reports = nullptr) {
  ReferenceBackend backend;
  backend.set_model(make_mlp(std::vector<int>{36, 8, 4}, options.seed), options.optimizer);
  train(backend, data, nullptr, options, [&](const EpochReport& r) {
    if (reports) reports->push_back(r);
  });
  return backend.model();
}

void expect_same_weights(const Model& a, const Model& b) {
  ASSERT_TRUE(a.network == b.network);
  EXPECT_EQ(a.parameters, b.parameters);
}

}  // namespace

TEST(Training, LearnsAGeneratedProblemToNearPerfectAccuracy) {
  const Dataset train_set = quadrant_dataset(400, 1), test_set = quadrant_dataset(200, 2);
  ReferenceBackend backend;
  TrainOptions options;
  options.epochs = 5;
  options.batch = 16;
  options.lr = 0.2f;
  options.optimizer.momentum = 0.5f;
  backend.set_model(make_mlp(std::vector<int>{36, 8, 4}, 5), options.optimizer);
  std::vector<EpochReport> reports;
  train(backend, train_set, &test_set, options, [&](const EpochReport& r) { reports.push_back(r); });
  ASSERT_EQ(reports.size(), 5u);
  EXPECT_LT(reports.back().train_loss, reports.front().train_loss);
  ASSERT_TRUE(reports.back().test.has_value());
  EXPECT_GE(reports.back().test->accuracy(), 0.99);
  EXPECT_EQ(reports.back().steps, 5 * 25);
}

TEST(Training, TrainsThePartialLastBatchAveragedOverItsOwnSize) {
  // 10 samples, batch 4, no shuffle: steps on [0..3], [4..7], [8, 9]. Replaying those steps by hand
  // must give bitwise the same weights.
  const Dataset data = quadrant_dataset(10, 3);
  TrainOptions options;
  options.epochs = 1;
  options.batch = 4;
  options.shuffle = false;
  std::vector<EpochReport> reports;
  const Model trained = train_quadrants(options, data, &reports);
  EXPECT_EQ(reports.at(0).steps, 3);

  ReferenceBackend manual;
  manual.set_model(make_mlp(std::vector<int>{36, 8, 4}, options.seed), options.optimizer);
  manual.set_training_data(data);
  double loss_sum = 0;
  int64_t step = 0;
  for (const std::vector<int64_t>& batch : {std::vector<int64_t>{0, 1, 2, 3}, std::vector<int64_t>{4, 5, 6, 7},
                                            std::vector<int64_t>{8, 9}}) {
    manual.forward(batch);
    const BatchStats stats = manual.loss();
    EXPECT_EQ(stats.count, int64_t(batch.size()));
    loss_sum += stats.loss * double(batch.size());
    manual.backward();
    manual.update(step_values(options, step++, data.count));
  }
  expect_same_weights(trained, manual.model());
  EXPECT_NEAR(reports[0].train_loss, loss_sum / 10, 1e-12);
}

TEST(Training, ShufflesEachEpochFromTheSeed) {
  const Dataset data = quadrant_dataset(50, 4);
  TrainOptions options;
  options.epochs = 2;
  options.batch = 7;
  const Model shuffled = train_quadrants(options, data);
  options.shuffle = false;
  const Model in_order = train_quadrants(options, data);
  EXPECT_NE(shuffled.parameters, in_order.parameters);

  // Epoch e visits shuffled_indices(N, seed, e): replay that by hand.
  options.shuffle = true;
  ReferenceBackend manual;
  manual.set_model(make_mlp(std::vector<int>{36, 8, 4}, options.seed), options.optimizer);
  manual.set_training_data(data);
  int64_t step = 0;
  for (int epoch = 0; epoch < 2; ++epoch) {
    const std::vector<int64_t> order = shuffled_indices(50, options.seed, epoch);
    for (size_t first = 0; first < order.size(); first += 7) {
      manual.forward(std::span<const int64_t>(order.data() + first, std::min<size_t>(7, order.size() - first)));
      manual.loss();
      manual.backward();
      manual.update(step_values(options, step++, data.count));
    }
  }
  expect_same_weights(shuffled, manual.model());
}

TEST(Training, SameSeedGivesBitwiseSameWeightsDifferentSeedDoesNot) {
  const Dataset data = quadrant_dataset(100, 5);
  TrainOptions options;
  options.epochs = 2;
  options.batch = 9;
  options.lr = 0.1f;
  options.optimizer.momentum = 0.9f;
  const Model a = train_quadrants(options, data), b = train_quadrants(options, data);
  expect_same_weights(a, b);
  options.seed = 2;
  EXPECT_NE(train_quadrants(options, data).parameters, a.parameters);
}

TEST(Training, RefusesOptionsWhoseOptimizerIsNotTheBackends) {
  // The backend runs the optimizer set_model gave it; checkpoints record the options'. They must agree.
  const Dataset data = quadrant_dataset(20, 7);
  ReferenceBackend backend;
  backend.set_model(make_mlp(std::vector<int>{36, 8, 4}, 1), {OptimizerKind::kSgd, 0.0f});
  TrainOptions options;
  options.optimizer.momentum = 0.9f;
  EXPECT_THROW(train(backend, data, nullptr, options, TrainHooks{}), Error);
}

TEST(Backends, ASetModelThatFailsKeepsTheModelTheyHad) {
  for (const std::string device : {"reference", "cpu", "gpu-emulated"}) {
    if (device == "cpu" && !cpu_backend_info().built) continue;
    SCOPED_TRACE(device);
    const auto backend = make_backend(device);
    const Model model = make_mlp(std::vector<int>{5, 4, 2}, 1);
    backend->set_model(model, {OptimizerKind::kSgd, 0.9f});
    Model broken = make_mlp(std::vector<int>{5, 3, 2}, 2);
    broken.parameters.pop_back();  // fewer values than its network has parameters
    EXPECT_THROW(backend->set_model(broken, {}), Error);
    EXPECT_EQ(backend->model().parameters, model.parameters);
    EXPECT_EQ(backend->optimizer().momentum, 0.9f);
  }
}

TEST(Evaluate, CountsConfusionMatrixAndPerClassAccuracy) {
  const Dataset data = quadrant_dataset(60, 6);
  ReferenceBackend backend;
  backend.set_model(make_mlp(std::vector<int>{36, 8, 4}, 1), {});
  const EvalResult result = evaluate(backend, data);
  EXPECT_EQ(result.count, 60);
  int64_t total = 0, diagonal = 0;
  for (int t = 0; t < 4; ++t)
    for (int p = 0; p < 4; ++p) {
      total += result.confusion[size_t(t * 4 + p)];
      if (t == p) diagonal += result.confusion[size_t(t * 4 + p)];
    }
  EXPECT_EQ(total, 60);
  EXPECT_EQ(diagonal, result.correct);
  EXPECT_TRUE(std::isfinite(result.loss));
  EXPECT_GT(result.loss, 0);
}
