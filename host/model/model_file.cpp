// Model files: a Model as a safetensors file holding PyTorch's nn.Sequential state_dict.
// Layer l is the nn.Linear at Sequential index 2l (the ReLUs sit at the odd indices and have no
// parameters), so its tensors are "<2l>.weight" [out, in] and "<2l>.bias" [out] (Network::tensors()).
// __metadata__ (all values are strings, as the format requires):
//   format              "pt"            lets safetensors' PyTorch helpers (safe_open, load_file) accept it
//   cudamlp.layers      the network's layer list as JSON: [{"in": 784, "out": 128, "activation": "relu"},
//                       ..., {"in": 64, "out": 10, "activation": "none"}] (files before 2026-12 have none)
//   cudamlp.sizes       "784,128,64,10" layer widths [D, hidden..., C]
//   cudamlp.activation  "relu"          after every hidden layer
//   cudamlp.output      "softmax"       on the last layer's outputs
//   cudamlp.input_scale "pixel/255"     the input is x = pixel / 255 in [0, 1], no mean/std normalisation;
//                       or "none"       float32 features used as given (input_scale.h); absent: pixel/255
//   cudamlp.version     "1"             bumped when a file's meaning changes
//   cudamlp.recipe      (optional) how `cudamlp train` made it: its run settings as JSON (optimizer,
//                       schedule, regularisation, data, epochs, ...), for people; never read back
// load_model needs none of them (a state_dict saved from PyTorch has none) but rejects any that
// disagrees with the tensors or with what cudamlp computes.
#include "cudamlp/model_file.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cudamlp/errors.h"
#include "cudamlp/optimizer.h"
#include "cudamlp/safetensors.h"
#include "format.h"

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
      throw FileError(path, "has an unexpected tensor " + quoted_excerpt(tensor.name) +
                                "; a model holds <i>.weight and <i>.bias of nn.Linear layers at even "
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
        throw FileError(path, "has no tensor '" + name + "' (it has " + quoted_excerpt(last_name) +
                                  ", so every layer 0, 2, ..., " +
                                  std::to_string(last_index) + " needs a weight and a bias)");
  return layers;
}

// A metadata entry, when present, must say exactly what cudamlp assumes.
void check_metadata(const std::string& path, const SafetensorsFile& file, const std::string& key,
                    const std::string& expected, const std::string& meaning) {
  const auto it = file.metadata.find(key);
  if (it != file.metadata.end() && it->second != expected)
    throw FileError(path, "metadata " + key + " is " + quoted_excerpt(it->second) + " but " + meaning + " '" +
                              expected + "'");
}

// The layer list as the metadata records it.
nlohmann::json layers_json(const Network& network) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerSpec& layer : network.layers)
    layers.push_back({{"in", layer.in}, {"out", layer.out}, {"activation", activation_name(layer.activation)}});
  return layers;
}

// The metadata's layer list, when present, must be the network the tensors make: cudamlp's MLP.
void check_layers(const std::string& path, const SafetensorsFile& file, const Network& network) {
  const auto it = file.metadata.find("cudamlp.layers");
  if (it == file.metadata.end()) return;
  nlohmann::json recorded;
  try {
    recorded = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception&) {
    throw FileError(path, "metadata cudamlp.layers is not JSON: " + quoted_excerpt(it->second));
  }
  const nlohmann::json expected = layers_json(network);
  if (recorded != expected)
    // The file's own text, cut: re-serialising what an attacker nested 50,000 deep would recurse as deep.
    throw FileError(path, "metadata cudamlp.layers is " + excerpt(it->second) + " but the tensors make " +
                              excerpt(expected.dump()) + " (cudamlp reads MLPs with ReLU after every hidden layer)");
}

}  // namespace

void check_finite(const std::string& path, const Tensor& tensor) {
  for (size_t i = 0; i < tensor.data.size(); ++i) {
    const float value = tensor.data[i];
    if (std::isfinite(value)) continue;
    // An F64 value beyond float's range became an infinity on reading: the file itself may say 1e300.
    const bool nan = std::isnan(value);
    throw FileError(path, "tensor '" + tensor.name + "' holds " + (nan ? "NaN" : "an infinity") + " at index " +
                              std::to_string(i) + " (row-major" +
                              (nan ? "" : "; an F64 value beyond float32's range reads as one") +
                              "): a model's values must be finite");
  }
}

bool is_model_tensor_name(const std::string& name) { return sequential_index(name) >= 0; }

bool is_best_weights_tensor_name(const std::string& name) {
  return name.starts_with(kBestWeightsPrefix) && is_model_tensor_name(name.substr(std::string(kBestWeightsPrefix).size()));
}

bool is_optimizer_tensor_name(const std::string& name) {
  const size_t dot = name.find('.');
  if (dot == std::string::npos || !is_model_tensor_name(name.substr(dot + 1))) return false;
  const std::string slot = name.substr(0, dot);
  return slot == "velocity" || is_optimizer_slot_name(slot);  // "velocity": checkpoints of format 1
}

void save_model(const std::string& path, const Model& model, const std::string& recipe) {
  SafetensorsFile file = model_to_safetensors(path, model);
  if (!recipe.empty()) file.metadata["cudamlp.recipe"] = recipe;
  write_safetensors(path, file);
}

SafetensorsFile model_to_safetensors(const std::string& path, const Model& model) {
  if (model.network.layers.empty()) throw FileError(path, "cannot save a model with no layers");
  // Parameters that disagree with the network would write a file that loads as something else.
  if (int64_t(model.parameters.size()) != model.parameter_count())
    throw FileError(path, "cannot save a model of " + std::to_string(model.parameters.size()) + " values whose network (" +
                              sizes_text(model.sizes()) + ") has " + std::to_string(model.parameter_count()) +
                              " parameters");
  for (size_t l = 1; l < model.network.layers.size(); ++l)
    if (model.network.layers[l].in != model.network.layers[l - 1].out)
      throw FileError(path, "cannot save layer " + std::to_string(l) + ": it takes " +
                                std::to_string(model.network.layers[l].in) + " inputs, layer " + std::to_string(l - 1) +
                                " has " + std::to_string(model.network.layers[l - 1].out) + " outputs");
  // The file's names are nn.Sequential's with a ReLU between every two Linears: only that network.
  if (!(model.network.layers == mlp_network(model.sizes()).layers))
    throw FileError(path, "cannot save a network that is not an MLP with ReLU after every hidden layer and none after "
                          "the last: model files hold PyTorch's nn.Sequential(Linear, ReLU, ..., Linear)");
  SafetensorsFile file;
  for (const ParameterTensor& tensor : model.network.tensors()) {
    const auto first = model.parameters.begin() + tensor.offset;
    file.tensors.push_back({tensor.name, tensor.shape, std::vector<float>(first, first + tensor.size)});
  }
  file.metadata = {
      {"format", "pt"},
      {"cudamlp.layers", layers_json(model.network).dump()},
      {"cudamlp.sizes", sizes_text(model.sizes())},
      {"cudamlp.activation", "relu"},
      {"cudamlp.output", "softmax"},
      {"cudamlp.input_scale", std::string(input_scale_name(model.network.input_scale))},
      {"cudamlp.version", kFormatVersion},
  };
  return file;
}

Model load_model(const std::string& path) {
  SafetensorsFile file = read_safetensors(path);
  // A checkpoint is a model file plus the optimizer's tensors: its weights load like any model's.
  if (file.metadata.count(kCheckpointKey))
    std::erase_if(file.tensors, [](const Tensor& tensor) {
      return is_optimizer_tensor_name(tensor.name) || is_best_weights_tensor_name(tensor.name);
    });
  return model_from_safetensors(path, std::move(file));
}

Model model_from_safetensors(const std::string& path, SafetensorsFile file) {
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
  InputScale input_scale = InputScale::kPixel255;  // what files without the key (older ones, PyTorch's) meant
  if (const auto it = file.metadata.find("cudamlp.input_scale"); it != file.metadata.end()) {
    const std::optional<InputScale> parsed = parse_input_scale(it->second);
    if (!parsed)
      throw FileError(path, "metadata cudamlp.input_scale is " + quoted_excerpt(it->second) +
                                " but cudamlp only feeds 'pixel/255' or 'none'");
    input_scale = *parsed;
  }
  check_metadata(path, file, "cudamlp.version", kFormatVersion, "this cudamlp reads version");

  Model model;
  model.network = mlp_network(sizes);
  model.network.input_scale = input_scale;
  check_layers(path, file, model.network);
  // The reader checked that each tensor holds product(shape) values: weight [out, in], bias [out].
  model.parameters.reserve(size_t(model.parameter_count()));
  for (const ParameterTensor& tensor : model.network.tensors()) {
    const Tensor& stored = *file.find(tensor.name);
    // A NaN or infinite weight makes every output NaN: eval would print "loss nan", predict null
    // probabilities, and --init a run that "diverges" at its first step.
    check_finite(path, stored);
    model.parameters.insert(model.parameters.end(), stored.data.begin(), stored.data.end());
  }
  return model;
}

}  // namespace cudamlp
