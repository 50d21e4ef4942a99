// The network description: layer sizes, the flat parameter layout and its PyTorch names.
#include "cudamlp/network.h"

#include <string>

#include "cudamlp/errors.h"

namespace cudamlp {

const char* activation_name(Activation activation) {
  switch (activation) {
    case Activation::kNone: return "none";
    case Activation::kRelu: return "relu";
  }
  return "?";
}

std::vector<int> Network::sizes() const {
  std::vector<int> sizes;
  if (layers.empty()) return sizes;
  sizes.push_back(layers.front().in);
  for (const LayerSpec& layer : layers) sizes.push_back(layer.out);
  return sizes;
}

int64_t Network::parameter_count() const {
  int64_t count = 0;
  for (const LayerSpec& layer : layers) count += int64_t{layer.out} * layer.in + layer.out;
  return count;
}

int64_t Network::weight_offset(size_t l) const {
  int64_t offset = 0;
  for (size_t k = 0; k < l; ++k) offset += int64_t{layers[k].out} * layers[k].in + layers[k].out;
  return offset;
}

std::vector<ParameterTensor> Network::tensors() const {
  std::vector<ParameterTensor> tensors;
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerSpec& layer = layers[l];
    // Layer l is the nn.Linear at nn.Sequential index 2l: the activations take the odd indices.
    const std::string index = std::to_string(2 * l);
    const int64_t weights = int64_t{layer.out} * layer.in;
    tensors.push_back({index + ".weight", {layer.out, layer.in}, weight_offset(l), weights});
    tensors.push_back({index + ".bias", {layer.out}, bias_offset(l), layer.out});
  }
  return tensors;
}

void check_layer_sizes(std::span<const int> sizes) {
  if (sizes.size() < 2) throw UsageError("a network needs an input and an output size");
  for (int size : sizes)
    if (size < 1 || size > kMaxLayerSize)
      throw UsageError("layer size " + std::to_string(size) + " is outside [1, " +
                       std::to_string(kMaxLayerSize) + "]");
}

Network mlp_network(std::span<const int> sizes) {
  check_layer_sizes(sizes);
  Network network;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    const bool hidden = l + 2 < sizes.size();
    network.layers.push_back({sizes[l], sizes[l + 1], hidden ? Activation::kRelu : Activation::kNone});
  }
  return network;
}

}  // namespace cudamlp
