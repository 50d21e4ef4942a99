// The network as an explicit description: a list of dense layers y = activation(x W^T + b) (PyTorch's
// nn.Linear layout), each with its activation, and the one flat layout of their parameters that every
// backend, every optimizer slot and the model files share (llm.c's params, tiny-cuda-nn's weights):
//
//   [ W_0 [out_0, in_0] | b_0 [out_0] | W_1 [out_1, in_1] | b_1 [out_1] | ... ]   row-major, back to back
//
// The layout's tensors carry PyTorch's nn.Sequential state_dict names, "0.weight", "0.bias", "2.weight",
// ... (the activations sit at the odd indices and have no parameters).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cudamlp/input_scale.h"

namespace cudamlp {

// What follows a layer's affine map. The last layer has none: its outputs are the logits, which the loss
// (softmax + cross-entropy) and predict's softmax take.
enum class Activation { kNone, kRelu };

// "none", "relu": the names model files record.
const char* activation_name(Activation activation);

struct LayerSpec {
  int in = 0;
  int out = 0;
  Activation activation = Activation::kNone;
  bool operator==(const LayerSpec&) const = default;
};

// One tensor of the flat layout.
struct ParameterTensor {
  std::string name;            // "0.weight", "0.bias", "2.weight", ...
  std::vector<int64_t> shape;  // weight [out, in], bias [out]
  int64_t offset = 0;          // where its first value lies in the flat buffer
  int64_t size = 0;            // product(shape)

  bool is_weight() const { return shape.size() == 2; }  // weight decay applies to weights only
};

struct Network {
  std::vector<LayerSpec> layers;  // layer l maps sizes()[l] -> sizes()[l + 1]
  // What its input x is made from (input_scale.h): the data it trains and predicts on must agree.
  InputScale input_scale = InputScale::kPixel255;

  std::vector<int> sizes() const;  // [D, hidden..., C]
  int input_size() const { return layers.front().in; }
  int output_size() const { return layers.back().out; }
  int64_t parameter_count() const;
  // Where layer l's W and b start in the flat layout.
  int64_t weight_offset(size_t l) const;
  int64_t bias_offset(size_t l) const { return weight_offset(l) + int64_t(layers[l].out) * layers[l].in; }
  // Every tensor of the layout, in layout order (each layer's weight, then its bias).
  std::vector<ParameterTensor> tensors() const;

  bool operator==(const Network&) const = default;
};

// Largest layer width accepted anywhere (flags, model files): keeps W's element count in int64 range
// and far below what fits in memory, so a corrupt size fails with a message instead of bad_alloc.
inline constexpr int kMaxLayerSize = 1 << 16;

// Throws UsageError unless sizes has >= 2 entries, each in [1, kMaxLayerSize].
void check_layer_sizes(std::span<const int> sizes);

// The MLP cudamlp trains: sizes [D, hidden..., C], ReLU after every hidden layer, none after the last.
// Throws UsageError as check_layer_sizes does.
Network mlp_network(std::span<const int> sizes);

}  // namespace cudamlp
