// Model files: an Mlp as a safetensors file holding PyTorch's nn.Sequential state_dict.
// Layer l is the nn.Linear at Sequential index 2l (the ReLUs sit at the odd indices and have no
// parameters), so its tensors are "<2l>.weight" [out, in] and "<2l>.bias" [out].
// __metadata__ (all values are strings, as the format requires):
//   format              "pt"            lets safetensors' PyTorch helpers (safe_open, load_file) accept it
//   cudamlp.sizes       "784,128,64,10" layer widths [D, hidden..., C]
//   cudamlp.activation  "relu"          after every hidden layer
//   cudamlp.output      "softmax"       on the last layer's outputs
//   cudamlp.input_scale "pixel/255"     the input is x = pixel / 255 in [0, 1], no mean/std normalisation
//   cudamlp.version     "1"             bumped when a file's meaning changes
// load_model needs none of them (a state_dict saved from PyTorch has none) but rejects any that
// disagrees with the tensors or with what cudamlp computes.
#include "cudamlp/model_file.h"

#include <string>
#include <vector>

#include "cudamlp/errors.h"
#include "cudamlp/safetensors.h"

namespace cudamlp {

namespace {

constexpr const char* kFormatVersion = "1";

std::string weight_name(size_t layer) { return std::to_string(2 * layer) + ".weight"; }
std::string bias_name(size_t layer) { return std::to_string(2 * layer) + ".bias"; }

std::string sizes_text(const std::vector<int>& sizes) {
  std::string text;
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? "," : "") + std::to_string(sizes[i]);
  return text;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// The Sequential index of a parameter name "<index>.weight" or "<index>.bias", or -1 for any other
// name. Only canonical decimal (no sign, no leading zeros) and at most 9 digits, so it fits an int.
int sequential_index(const std::string& name) {
  const size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 9) return -1;
  const std::string kind = name.substr(dot + 1);
  if (kind != "weight" && kind != "bias") return -1;
  int index = 0;
  for (size_t i = 0; i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    index = index * 10 + (name[i] - '0');
  }
  if (name[0] == '0' && dot > 1) return -1;
  return index;
}

// The layer count implied by the tensor names, after checking the names are exactly
// 0.weight, 0.bias, 2.weight, 2.bias, ..., <2(L-1)>.weight, <2(L-1)>.bias.
size_t count_layers(const std::string& path, const SafetensorsFile& file) {
  if (file.tensors.empty())
    throw FileError(path, "holds no tensors; a model needs at least one layer (0.weight, 0.bias)");
  int last_index = 0;
  std::string last_name;  // the tensor with the highest index, which sets the layer count
  for (const Tensor& tensor : file.tensors) {
    const int index = sequential_index(tensor.name);
    if (index < 0 || index % 2 != 0)
      throw FileError(path, "has an unexpected tensor '" + tensor.name +
                                "'; a model holds <i>.weight and <i>.bias of nn.Linear layers at even "
                                "nn.Sequential indices 0, 2, 4, ... (ReLUs at the odd ones)");
    if (last_name.empty() || index > last_index) {
      last_index = index;
      last_name = tensor.name;
    }
  }
  const size_t layers = static_cast<size_t>(last_index) / 2 + 1;
  for (size_t l = 0; l < layers; ++l)
    for (const std::string& name : {weight_name(l), bias_name(l)})
      if (!file.find(name))
        throw FileError(path, "has no tensor '" + name + "' (it has '" + last_name + "', so every layer 0, 2, ..., " +
                                  std::to_string(last_index) + " needs a weight and a bias)");
  return layers;
}

// A metadata entry, when present, must say exactly what cudamlp assumes.
void check_metadata(const std::string& path, const SafetensorsFile& file, const std::string& key,
                    const std::string& expected, const std::string& meaning) {
  const auto it = file.metadata.find(key);
  if (it != file.metadata.end() && it->second != expected)
    throw FileError(path, "metadata " + key + " is '" + it->second + "' but " + meaning + " '" + expected + "'");
}

// Moves a tensor's values out of the file; count_layers has made sure the name exists.
std::vector<float> take_data(SafetensorsFile& file, const std::string& name) {
  for (Tensor& tensor : file.tensors)
    if (tensor.name == name) return std::move(tensor.data);
  return {};
}

}  // namespace

void save_model(const std::string& path, const Mlp& model) { write_safetensors(path, model_to_safetensors(path, model)); }

SafetensorsFile model_to_safetensors(const std::string& path, const Mlp& model) {
  if (model.layers.empty()) throw FileError(path, "cannot save a model with no layers");
  SafetensorsFile file;
  for (size_t l = 0; l < model.layers.size(); ++l) {
    const DenseLayer& layer = model.layers[l];
    // A layer whose buffers disagree with its sizes would write a file that loads as something else.
    if (layer.weight.size() != static_cast<size_t>(layer.out) * static_cast<size_t>(layer.in) ||
        layer.bias.size() != static_cast<size_t>(layer.out) || (l > 0 && layer.in != model.layers[l - 1].out))
      throw FileError(path, "cannot save layer " + std::to_string(l) + ": in " + std::to_string(layer.in) +
                                ", out " + std::to_string(layer.out) + ", but weight has " +
                                std::to_string(layer.weight.size()) + " values and bias " +
                                std::to_string(layer.bias.size()));
    file.tensors.push_back({weight_name(l), {layer.out, layer.in}, layer.weight});  // W: [out, in]
    file.tensors.push_back({bias_name(l), {layer.out}, layer.bias});                // b: [out]
  }
  file.metadata = {
      {"format", "pt"},
      {"cudamlp.sizes", sizes_text(model.sizes())},
      {"cudamlp.activation", "relu"},
      {"cudamlp.output", "softmax"},
      {"cudamlp.input_scale", "pixel/255"},
      {"cudamlp.version", kFormatVersion},
  };
  return file;
}

Mlp load_model(const std::string& path) {
  SafetensorsFile file = read_safetensors(path);
  // A checkpoint is a model file plus the optimizer's tensors: its weights load like any model's.
  if (file.metadata.count(kCheckpointKey))
    std::erase_if(file.tensors, [](const Tensor& tensor) { return tensor.name.starts_with(kOptimizerTensorPrefix); });
  return model_from_safetensors(path, std::move(file));
}

Mlp model_from_safetensors(const std::string& path, SafetensorsFile file) {
  const size_t layer_count = count_layers(path, file);

  std::vector<int> sizes;  // [D, hidden..., C], filled as the layers chain
  for (size_t l = 0; l < layer_count; ++l) {
    const Tensor& weight = *file.find(weight_name(l));
    const Tensor& bias = *file.find(bias_name(l));
    if (weight.shape.size() != 2)
      throw FileError(path, "tensor '" + weight.name + "' has shape " + shape_text(weight.shape) +
                                "; a weight is [out, in]");
    if (bias.shape.size() != 1)
      throw FileError(path, "tensor '" + bias.name + "' has shape " + shape_text(bias.shape) + "; a bias is [out]");
    if (bias.shape[0] != weight.shape[0])
      throw FileError(path, "tensor '" + bias.name + "' has shape " + shape_text(bias.shape) + " but '" +
                                weight.name + "' has " + shape_text(weight.shape) + " (bias length = weight rows)");
    if (l > 0 && weight.shape[1] != sizes.back())
      throw FileError(path, "tensor '" + weight.name + "' has shape " + shape_text(weight.shape) + " but '" +
                                weight_name(l - 1) + "' outputs " + std::to_string(sizes.back()) +
                                " values (layer inputs must equal the previous layer's outputs)");
    // Checked here in int64 before narrowing to int; check_layer_sizes below stays the one rule.
    for (int64_t dim : weight.shape)
      if (dim < 1 || dim > kMaxLayerSize)
        throw FileError(path, "tensor '" + weight.name + "' has shape " + shape_text(weight.shape) +
                                  "; layer sizes must be in [1, " + std::to_string(kMaxLayerSize) + "]");
    if (l == 0) sizes.push_back(static_cast<int>(weight.shape[1]));
    sizes.push_back(static_cast<int>(weight.shape[0]));
  }
  try {
    check_layer_sizes(sizes);
  } catch (const UsageError& e) {
    throw FileError(path, e.what());
  }

  check_metadata(path, file, "cudamlp.sizes", sizes_text(sizes), "the tensors have sizes");
  check_metadata(path, file, "cudamlp.activation", "relu", "cudamlp only computes");
  check_metadata(path, file, "cudamlp.output", "softmax", "cudamlp only computes");
  check_metadata(path, file, "cudamlp.input_scale", "pixel/255", "cudamlp only feeds");
  check_metadata(path, file, "cudamlp.version", kFormatVersion, "this cudamlp reads version");

  Mlp model;
  for (size_t l = 0; l < layer_count; ++l) {
    // The reader checked that each tensor holds product(shape) values: weight [out, in], bias [out].
    DenseLayer layer{sizes[l], sizes[l + 1], {}, {}};
    layer.weight = take_data(file, weight_name(l));
    layer.bias = take_data(file, bias_name(l));
    model.layers.push_back(std::move(layer));
  }
  return model;
}

}  // namespace cudamlp
