// A model: a network (network.h) with its parameters in the network's flat layout. What backends take
// and hand back, model files store, and checkpoints hold with the optimizer's state.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cudamlp/network.h"

namespace cudamlp {

struct Model {
  Network network;
  std::vector<float> parameters;  // [network.parameter_count()], the flat layout

  // Layer l's weight W [out, in] (row-major) and bias b [out], as views into parameters.
  std::span<float> weight(size_t l);
  std::span<const float> weight(size_t l) const;
  std::span<float> bias(size_t l);
  std::span<const float> bias(size_t l) const;

  std::vector<int> sizes() const { return network.sizes(); }
  int input_size() const { return network.input_size(); }
  int output_size() const { return network.output_size(); }
  int64_t parameter_count() const { return network.parameter_count(); }
};

// An MLP of the given sizes [D, hidden..., C] (mlp_network) with He (Kaiming) uniform weights,
// W ~ U(-sqrt(6 / in), sqrt(6 / in)) (variance 2 / in, PyTorch's kaiming_uniform_ with ReLU gain), and
// zero biases. Only sqrt and multiplication are used, so a seed gives bitwise the same weights on every
// machine. input_scale: what the network's input is made from (input_scale.h), the training data's.
Model make_mlp(std::span<const int> sizes, uint64_t seed, InputScale input_scale = InputScale::kPixel255);

}  // namespace cudamlp
