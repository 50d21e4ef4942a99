// Model files: safetensors with PyTorch's state_dict names for
//   nn.Sequential(nn.Linear(D, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(), ..., nn.Linear(hk, C))
// i.e. "0.weight" [h1, D], "0.bias" [h1], "2.weight", "2.bias", ... so PyTorch loads a cudamlp model with
// load_state_dict and cudamlp loads a state_dict saved from PyTorch. __metadata__ records the
// architecture and the input scaling (see model_file.cpp for the keys).
#pragma once

#include <string>

#include "cudamlp/model.h"

namespace cudamlp {

void save_model(const std::string& path, const Mlp& model);

// Accepts any file with exactly the tensors above, shapes chaining layer to layer. Metadata is optional
// (a file saved from PyTorch has none of ours) but must agree with the tensors when present.
Mlp load_model(const std::string& path);

}  // namespace cudamlp
