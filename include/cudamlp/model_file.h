// Model files: safetensors with PyTorch's state_dict names for
//   nn.Sequential(nn.Linear(D, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(), ..., nn.Linear(hk, C))
// i.e. "0.weight" [h1, D], "0.bias" [h1], "2.weight", "2.bias", ... (the network's flat layout, network.h)
// so PyTorch loads a cudamlp model with load_state_dict and cudamlp loads a state_dict saved from
// PyTorch. __metadata__ records the network's layer list, the architecture and the input scaling (see
// model_file.cpp for the keys).
#pragma once

#include <string>

#include "cudamlp/model.h"
#include "cudamlp/safetensors.h"

namespace cudamlp {

// recipe: how the model was trained (`cudamlp train` writes its run's settings as JSON), stored as
// __metadata__ cudamlp.recipe and shown by `cudamlp info`; empty: none. PyTorch ignores it.
void save_model(const std::string& path, const Model& model, const std::string& recipe = "");

// Accepts any file with exactly the tensors above, shapes chaining layer to layer. Metadata is optional
// (a file saved from PyTorch has none of ours, a file of an older cudamlp no layer list) but must agree
// with the tensors when present, and every value must be finite. A checkpoint (checkpoint.h) too: its weights, without the optimizer's
// tensors.
Model load_model(const std::string& path);

// The two halves of save_model and load_model, for files that hold a model and more (checkpoints).
// path only names the file in errors.
SafetensorsFile model_to_safetensors(const std::string& path, const Model& model);  // tensors and metadata
Model model_from_safetensors(const std::string& path, SafetensorsFile file);      // every check of load_model

// Throws FileError naming path, the tensor and the index of its first NaN or infinite value: what
// model_from_safetensors checks of every weight, and the checkpoint reader of every optimizer value.
void check_finite(const std::string& path, const Tensor& tensor);

// Whether a tensor name is one of a model's ("<index>.weight", "<index>.bias"), or one of a checkpoint's
// optimizer tensors ("<slot>.<model tensor>": "momentum_buffer.0.weight"; "velocity.0.weight" in format 1).
bool is_model_tensor_name(const std::string& name);
bool is_optimizer_tensor_name(const std::string& name);
// A checkpoint's copy of the best validation epoch's weights ("best.0.weight", ...; checkpoint.h).
inline constexpr const char* kBestWeightsPrefix = "best.";
bool is_best_weights_tensor_name(const std::string& name);

// A checkpoint is marked by this __metadata__ key (checkpoint.h).
inline constexpr const char* kCheckpointKey = "cudamlp.checkpoint";

}  // namespace cudamlp
