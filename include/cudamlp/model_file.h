// Model files: safetensors with PyTorch's state_dict names for
//   nn.Sequential(nn.Linear(D, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(), ..., nn.Linear(hk, C))
// i.e. "0.weight" [h1, D], "0.bias" [h1], "2.weight", "2.bias", ... so PyTorch loads a cudamlp model with
// load_state_dict and cudamlp loads a state_dict saved from PyTorch. __metadata__ records the
// architecture and the input scaling (see model_file.cpp for the keys).
#pragma once

#include <string>

#include "cudamlp/model.h"
#include "cudamlp/safetensors.h"

namespace cudamlp {

void save_model(const std::string& path, const Mlp& model);

// Accepts any file with exactly the tensors above, shapes chaining layer to layer. Metadata is optional
// (a file saved from PyTorch has none of ours) but must agree with the tensors when present.
// A checkpoint (checkpoint.h) too: its weights, without the optimizer's tensors.
Mlp load_model(const std::string& path);

// The two halves of save_model and load_model, for files that hold a model and more (checkpoints).
// path only names the file in errors.
SafetensorsFile model_to_safetensors(const std::string& path, const Mlp& model);  // tensors and metadata
Mlp model_from_safetensors(const std::string& path, SafetensorsFile file);      // every check of load_model

// A checkpoint is marked by this __metadata__ key and holds, besides the model's tensors, the
// optimizer's: the model's names behind this prefix ("velocity.0.weight", ...).
inline constexpr const char* kCheckpointKey = "cudamlp.checkpoint";
inline constexpr const char* kOptimizerTensorPrefix = "velocity.";

}  // namespace cudamlp
