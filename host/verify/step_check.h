// Whole training steps of a backend against the reference backend, phase by phase (step_phases.h), and
// a short training run through the trainer: the comparisons `cudamlp verify` and the backends' tests make
// of everything around the ops (the layer walk, the slots, dropout's masks across a step, predict).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/network.h"
#include "error_model.h"
#include "step_phases.h"

namespace cudamlp::verify {

// Small networks [D, hidden..., C] for whole-step comparisons: no hidden layer, widths of 1, odd
// widths, MNIST's input. Class counts stay <= 256 (labels are uint8).
std::vector<std::vector<int>> network_grid();
// A network whose first layer has no activation and whose second has a ReLU: what no MLP is, so a
// backend that assumed "ReLU after every hidden layer" fails on it.
Network network_with_a_linear_hidden_layer();

// Runs two training steps phase by phase on `backend` (whose phases are `phases`: the same object) and
// on a ReferenceBackend from the same model and data (batch `batch`; AdamW with weight decay for odd
// batches, SGD with Nesterov momentum 0.9 and weight decay for even ones) and compares the loss, the
// count of right answers, every gradient tensor, the updated weights and predict()'s probabilities.
// dropout: both train with that P (and the same seed; the steps' numbers and the batches' positions in
// the epoch away from 0), so their masks must be the same. input_scale: the data are random pixels
// (kPixel255) or random float32 features (kNone), and the network takes them. Op "training step", shape
// the network's.
std::vector<Comparison> check_training_step(Backend& backend, StepPhases& phases, const Network& network,
                                            int64_t batch, float dropout = 0.0f,
                                            InputScale input_scale = InputScale::kPixel255);

// Three epochs of 150 samples in batches of 32 (a partial last batch), SGD with momentum and dropout,
// through the trainer on `backend` and on the reference: the final weights, tensor by tensor.
std::vector<Comparison> check_training_run(Backend& backend);

// Flat buffers in network's layout (parameters, gradients, an optimizer slot), tensor by tensor
// (compare_relative_to_max), what = "<prefix> <tensor name>" (the name alone for an empty prefix).
std::vector<Comparison> compare_tensors(const Network& network, std::span<const float> actual,
                                        std::span<const float> expected, double tolerance, const std::string& prefix);

}  // namespace cudamlp::verify
