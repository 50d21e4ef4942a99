// Op-by-op checks of a fast backend against the reference ops (reference_ops.h), on the shapes that
// break tiled code: every op the backends share (gather, augmentation, dense forward and both halves of
// dense backward, dropout, softmax-xent, every optimizer's update), each a list of Comparisons under the
// error model (error_model.h). `cudamlp verify` runs them as a table; the tests run the same checks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cudamlp/dataset.h"
#include "cudamlp/optimizer.h"
#include "cudamlp/regularization.h"
#include "error_model.h"
#include "op_runner.h"

namespace cudamlp::verify {

// The sizes that break tiled code: 1, one off either side of a power of two, MNIST's 784 and a
// round 1000. Batches: 1, an odd 3, a full tile 64 and one past a power of two.
inline const std::vector<int> kAwkwardSizes = {1, 7, 31, 33, 127, 129, 784, 1000};
inline const std::vector<int64_t> kAwkwardBatches = {1, 3, 64, 257};

struct DenseShape {
  int64_t batch;
  int in;
  int out;
};
std::string shape_name(const DenseShape& shape);  // "B=3 in=31 out=129"
// A grid in which every awkward size appears as `in` and as `out` and every batch appears with small
// and large layers, without the full product (the reference's double loops would take minutes).
std::vector<DenseShape> dense_shape_grid();
// A few of them, for --quick: each awkward batch, widths of 1, both sides of a power of two, 784.
std::vector<DenseShape> quick_dense_shape_grid();

// n uniform floats in [lo, hi), the same for a seed on every machine.
std::vector<float> random_floats(size_t n, float lo, float hi, uint64_t seed);
// n samples of D random pixels with random labels in [0, C).
Dataset random_dataset(int64_t n, int D, int C, uint64_t seed);
// n samples of D random float32 features in [-3, 3) (not in [0, 1]: a gather that scales them shows) with
// random labels in [0, C).
Dataset random_float_dataset(int64_t n, int D, int C, uint64_t seed);
// Networks on float features whose widths break a gather: one feature, two (the spirals'), odd ones, one
// past 256.
inline const std::vector<std::vector<int>> kFloatFeatureNetworks = {{1, 3}, {2, 7, 3}, {3, 5, 2}, {257, 33, 4}};

// One optimizer configuration to check, by name.
struct OptimizerCase {
  const char* name;
  OptimizerConfig config;
  bool slots_defined = true;  // false: what the slots hold after the update is unspecified
};
// SGD (plain, momentum, Nesterov with weight decay, momentum with decay), Adam (plain, with decay),
// AdamW. A new optimizer adds its cases here.
const std::vector<OptimizerCase>& optimizer_cases();
// Sizes below, at and past a vector width and the cpu backend's parallel threshold.
inline const std::vector<int64_t> kUpdateSizes = {1, 7, 16, 31, 33, 1000, 784 * 129 + 3};

// Augmentation: images of random pixels [rows, cols], 4 classes; every distortion at once.
Dataset image_dataset(int64_t n, int rows, int cols, uint64_t seed);
Augmentation every_distortion(int rows, int cols);
struct AugmentationCase {
  std::string name;
  Augmentation augmentation;
  std::vector<int64_t> indices;
  int64_t epoch;
};
// Each distortion alone and all together, on 1x1, 5x7 and 28x28, batches of 1, 3 and 5.
std::vector<AugmentationCase> augmentation_cases();

// --- the checks: each returns its comparisons, op and shape filled in ---
std::vector<Comparison> check_gather_batch(OpRunner& ops, int64_t B);
std::vector<Comparison> check_dense_forward(OpRunner& ops, const DenseShape& shape);
std::vector<Comparison> check_dense_backward_weights(OpRunner& ops, const DenseShape& shape);
// dx without and with the ReLU mask, and with dropout's mask scale 1 / (1 - 0.3)
std::vector<Comparison> check_dense_backward_input(OpRunner& ops, const DenseShape& shape);
std::vector<Comparison> check_dropout_forward(OpRunner& ops, int64_t B, int units, float P);
// loss, count right, probs and dlogits
std::vector<Comparison> check_softmax_xent(OpRunner& ops, int64_t B, int C);
// Steps 0, 1 and a late one (Adam's bias corrections near 1) of one tensor of n parameters: w and each
// slot after every step; decay: a weight tensor (decayed), else a bias tensor.
std::vector<Comparison> check_optimizer_update(OpRunner& ops, const OptimizerCase& c, int64_t n, bool decay);
std::vector<Comparison> check_augment_batch(OpRunner& ops, const AugmentationCase& c);

// Every check above over its grid (quick: a few shapes of each), rows handed to `row` as they come.
void check_every_op(OpRunner& ops, bool quick, const std::function<void(const Comparison&)>& row);

}  // namespace cudamlp::verify
