// Network construction: the layer list and its flat layout with PyTorch's names, He-uniform
// initialisation, reproducibility, size checks.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cudamlp/errors.h"
#include "cudamlp/model.h"

using namespace cudamlp;

TEST(MlpNetwork, HasReluAfterEveryHiddenLayerAndNoneAfterTheLast) {
  const Network network = mlp_network(std::vector<int>{784, 128, 64, 10});
  ASSERT_EQ(network.layers.size(), 3u);
  EXPECT_EQ(network.layers[0], (LayerSpec{784, 128, Activation::kRelu}));
  EXPECT_EQ(network.layers[1], (LayerSpec{128, 64, Activation::kRelu}));
  EXPECT_EQ(network.layers[2], (LayerSpec{64, 10, Activation::kNone}));
  EXPECT_EQ(mlp_network(std::vector<int>{7, 3}).layers[0].activation, Activation::kNone);  // no hidden layer
  EXPECT_THROW(mlp_network(std::vector<int>{7}), UsageError);
  EXPECT_THROW(mlp_network(std::vector<int>{7, 0, 3}), UsageError);
  EXPECT_THROW(mlp_network(std::vector<int>{7, kMaxLayerSize + 1, 3}), UsageError);
}

TEST(MlpNetwork, LaysEachWeightThenItsBiasOutFlatUnderPyTorchNames) {
  const Network network = mlp_network(std::vector<int>{5, 4, 3});
  const std::vector<ParameterTensor> tensors = network.tensors();
  ASSERT_EQ(tensors.size(), 4u);
  const std::vector<std::string> names = {"0.weight", "0.bias", "2.weight", "2.bias"};
  const std::vector<std::vector<int64_t>> shapes = {{4, 5}, {4}, {3, 4}, {3}};
  const std::vector<int64_t> offsets = {0, 20, 24, 36};
  for (size_t t = 0; t < tensors.size(); ++t) {
    EXPECT_EQ(tensors[t].name, names[t]);
    EXPECT_EQ(tensors[t].shape, shapes[t]);
    EXPECT_EQ(tensors[t].offset, offsets[t]);
  }
  EXPECT_EQ(network.weight_offset(1), 24);
  EXPECT_EQ(network.bias_offset(1), 36);
  EXPECT_EQ(network.parameter_count(), 39);
}

TEST(MakeMlp, HasPyTorchLinearShapesAndParameterCount) {
  const std::vector<int> sizes = {784, 128, 64, 10};
  const Model model = make_mlp(sizes, 1);
  ASSERT_EQ(model.network.layers.size(), 3u);
  EXPECT_EQ(model.sizes(), sizes);
  for (size_t l = 0; l < 3; ++l) {
    EXPECT_EQ(model.network.layers[l].in, sizes[l]);
    EXPECT_EQ(model.network.layers[l].out, sizes[l + 1]);
    EXPECT_EQ(model.weight(l).size(), size_t(sizes[l] * sizes[l + 1]));  // [out, in]
    EXPECT_EQ(model.bias(l).size(), size_t(sizes[l + 1]));
  }
  EXPECT_EQ(model.parameter_count(), 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10);
  EXPECT_EQ(int64_t(model.parameters.size()), model.parameter_count());
}

TEST(MakeMlp, UsesHeUniformWeightsAndZeroBiases) {
  const std::vector<int> sizes = {784, 256};
  const Model model = make_mlp(sizes, 3);
  const double bound = std::sqrt(6.0 / 784);
  double sum = 0, sum_sq = 0;
  for (float w : model.weight(0)) {
    ASSERT_LE(std::abs(w), bound);
    sum += w;
    sum_sq += double(w) * w;
  }
  const double n = double(model.weight(0).size());
  // He: variance 2 / fan_in. With 200k samples the estimate is within a few percent.
  EXPECT_NEAR(sum_sq / n - (sum / n) * (sum / n), 2.0 / 784, 0.05 * 2.0 / 784);
  EXPECT_NEAR(sum / n, 0.0, 1e-3);
  for (float b : model.bias(0)) EXPECT_EQ(b, 0.0f);
}

TEST(MakeMlp, SameSeedGivesBitwiseSameWeightsAndPinnedValues) {
  const std::vector<int> sizes = {784, 10, 10, 10};
  const Model a = make_mlp(sizes, 1), b = make_mlp(sizes, 1), c = make_mlp(sizes, 2);
  EXPECT_EQ(a.parameters, b.parameters);
  EXPECT_NE(a.parameters, c.parameters);
  // Pinned: only integer arithmetic, one IEEE multiply-add and sqrt make these, so they are the same
  // on every machine. A change here changes every seeded run; do it on purpose only.
  EXPECT_EQ(a.weight(0)[0], -0x1.7ac722p-8f);
}
