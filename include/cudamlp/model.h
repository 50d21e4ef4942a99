// The network: a multi-layer perceptron of dense layers y = x W^T + b (PyTorch's nn.Linear layout),
// ReLU after every hidden layer, softmax on the output, trained on mean cross-entropy.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace cudamlp {

struct DenseLayer {
  int in = 0;
  int out = 0;
  std::vector<float> weight;  // W: [out, in] row-major
  std::vector<float> bias;    // b: [out]
};

struct Mlp {
  std::vector<DenseLayer> layers;  // layer l maps sizes()[l] -> sizes()[l + 1]

  std::vector<int> sizes() const;  // [D, hidden..., C]
  int input_size() const { return layers.front().in; }
  int output_size() const { return layers.back().out; }
  int64_t parameter_count() const;
};

// Largest layer width accepted anywhere (flags, model files): keeps W's element count in int64 range
// and far below what fits in memory, so a corrupt size fails with a message instead of bad_alloc.
inline constexpr int kMaxLayerSize = 1 << 16;

// Throws UsageError unless sizes has >= 2 entries, each in [1, kMaxLayerSize].
void check_layer_sizes(std::span<const int> sizes);

// A network of the given sizes [D, hidden..., C] with He (Kaiming) uniform weights,
// W ~ U(-sqrt(6 / in), sqrt(6 / in)) (variance 2 / in, PyTorch's kaiming_uniform_ with ReLU gain),
// and zero biases. Only sqrt and multiplication are used, so a seed gives bitwise the same weights on
// every machine.
Mlp make_mlp(std::span<const int> sizes, uint64_t seed);

// An Mlp of the same shape as `shape` with every value zero (gradients, momentum buffers).
Mlp zeros_like(const Mlp& shape);

// True when a and b have the same layers: the same in, out and buffer sizes (a model and its momentum
// buffers, a model and a checkpoint's).
bool same_shape(const Mlp& a, const Mlp& b);

}  // namespace cudamlp
