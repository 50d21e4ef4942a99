// Network construction: shapes, He-uniform initialisation, reproducibility, size checks.
#include <gtest/gtest.h>

#include <cmath>

#include "cudamlp/errors.h"
#include "cudamlp/model.h"

using namespace cudamlp;

TEST(MakeMlp, HasPyTorchLinearShapesAndParameterCount) {
  const std::vector<int> sizes = {784, 128, 64, 10};
  const Mlp model = make_mlp(sizes, 1);
  ASSERT_EQ(model.layers.size(), 3u);
  EXPECT_EQ(model.sizes(), sizes);
  for (size_t l = 0; l < 3; ++l) {
    EXPECT_EQ(model.layers[l].in, sizes[l]);
    EXPECT_EQ(model.layers[l].out, sizes[l + 1]);
    EXPECT_EQ(model.layers[l].weight.size(), size_t(sizes[l] * sizes[l + 1]));  // [out, in]
    EXPECT_EQ(model.layers[l].bias.size(), size_t(sizes[l + 1]));
  }
  EXPECT_EQ(model.parameter_count(), 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10);
}

TEST(MakeMlp, UsesHeUniformWeightsAndZeroBiases) {
  const std::vector<int> sizes = {784, 256};
  const Mlp model = make_mlp(sizes, 3);
  const double bound = std::sqrt(6.0 / 784);
  double sum = 0, sum_sq = 0;
  for (float w : model.layers[0].weight) {
    ASSERT_LE(std::abs(w), bound);
    sum += w;
    sum_sq += double(w) * w;
  }
  const double n = double(model.layers[0].weight.size());
  // He: variance 2 / fan_in. With 200k samples the estimate is within a few percent.
  EXPECT_NEAR(sum_sq / n - (sum / n) * (sum / n), 2.0 / 784, 0.05 * 2.0 / 784);
  EXPECT_NEAR(sum / n, 0.0, 1e-3);
  for (float b : model.layers[0].bias) EXPECT_EQ(b, 0.0f);
}

TEST(MakeMlp, SameSeedGivesBitwiseSameWeightsAndPinnedValues) {
  const std::vector<int> sizes = {784, 10, 10, 10};
  const Mlp a = make_mlp(sizes, 1), b = make_mlp(sizes, 1), c = make_mlp(sizes, 2);
  for (size_t l = 0; l < a.layers.size(); ++l) EXPECT_EQ(a.layers[l].weight, b.layers[l].weight);
  EXPECT_NE(a.layers[0].weight, c.layers[0].weight);
  // Pinned: only integer arithmetic, one IEEE multiply-add and sqrt make these, so they are the same
  // on every machine. A change here changes every seeded run; do it on purpose only.
  EXPECT_EQ(a.layers[0].weight[0], -0x1.7ac722p-8f);
}
