// Models: views of a layer's tensors in the flat parameters, and He-uniform initialisation.
#include "cudamlp/model.h"

#include <cmath>

#include "cudamlp/rng.h"

namespace cudamlp {

std::span<float> Model::weight(size_t l) {
  const LayerSpec& layer = network.layers[l];
  return std::span(parameters).subspan(size_t(network.weight_offset(l)), size_t(layer.out) * size_t(layer.in));
}

std::span<const float> Model::weight(size_t l) const {
  const LayerSpec& layer = network.layers[l];
  return std::span(parameters).subspan(size_t(network.weight_offset(l)), size_t(layer.out) * size_t(layer.in));
}

std::span<float> Model::bias(size_t l) {
  return std::span(parameters).subspan(size_t(network.bias_offset(l)), size_t(network.layers[l].out));
}

std::span<const float> Model::bias(size_t l) const {
  return std::span(parameters).subspan(size_t(network.bias_offset(l)), size_t(network.layers[l].out));
}

Model make_mlp(std::span<const int> sizes, uint64_t seed, InputScale input_scale) {
  Model model;
  model.network = mlp_network(sizes);
  model.network.input_scale = input_scale;
  model.parameters.assign(size_t(model.network.parameter_count()), 0.0f);  // zero biases
  Rng rng(derive_seed(seed, 0));
  for (size_t l = 0; l < model.network.layers.size(); ++l) {
    // He uniform: U(-bound, bound) has variance bound^2 / 3 = 2 / in, the ReLU-preserving variance.
    const double bound = std::sqrt(6.0 / model.network.layers[l].in);
    for (float& w : model.weight(l)) w = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
  }
  return model;
}

}  // namespace cudamlp
