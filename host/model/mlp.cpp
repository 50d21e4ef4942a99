// Mlp shapes, He-uniform initialisation and parameter counting.
#include <cmath>
#include <string>

#include "cudamlp/errors.h"
#include "cudamlp/model.h"
#include "cudamlp/rng.h"

namespace cudamlp {

std::vector<int> Mlp::sizes() const {
  std::vector<int> sizes;
  if (layers.empty()) return sizes;
  sizes.push_back(layers.front().in);
  for (const DenseLayer& layer : layers) sizes.push_back(layer.out);
  return sizes;
}

int64_t Mlp::parameter_count() const {
  int64_t count = 0;
  for (const DenseLayer& layer : layers) count += int64_t{layer.out} * layer.in + layer.out;
  return count;
}

void check_layer_sizes(std::span<const int> sizes) {
  if (sizes.size() < 2) throw UsageError("a network needs an input and an output size");
  for (int size : sizes)
    if (size < 1 || size > kMaxLayerSize)
      throw UsageError("layer size " + std::to_string(size) + " is outside [1, " +
                       std::to_string(kMaxLayerSize) + "]");
}

Mlp zeros_like(const Mlp& shape) {
  Mlp zeros;
  for (const DenseLayer& layer : shape.layers) {
    zeros.layers.push_back({layer.in, layer.out, std::vector<float>(layer.weight.size(), 0.0f),
                            std::vector<float>(layer.bias.size(), 0.0f)});
  }
  return zeros;
}

bool same_shape(const Mlp& a, const Mlp& b) {
  if (a.layers.size() != b.layers.size()) return false;
  for (size_t l = 0; l < a.layers.size(); ++l) {
    const DenseLayer& x = a.layers[l];
    const DenseLayer& y = b.layers[l];
    if (x.in != y.in || x.out != y.out || x.weight.size() != y.weight.size() || x.bias.size() != y.bias.size())
      return false;
  }
  return true;
}

Mlp make_mlp(std::span<const int> sizes, uint64_t seed) {
  check_layer_sizes(sizes);
  Rng rng(derive_seed(seed, 0));
  Mlp model;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    DenseLayer layer{sizes[l], sizes[l + 1], {}, {}};
    // He uniform: U(-bound, bound) has variance bound^2 / 3 = 2 / in, the ReLU-preserving variance.
    const double bound = std::sqrt(6.0 / layer.in);
    layer.weight.resize(static_cast<size_t>(layer.out) * layer.in);  // [out, in]
    for (float& w : layer.weight) w = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
    layer.bias.assign(static_cast<size_t>(layer.out), 0.0f);
    model.layers.push_back(std::move(layer));
  }
  return model;
}

}  // namespace cudamlp
