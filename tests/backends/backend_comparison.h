// What every fast backend's tests share: the awkward shapes to try, random inputs, and comparisons
// against the reference under the error model. All of it is cudamlp verify's own (host/verify/:
// error_model.h, op_checks.h, step_check.h): the tests assert exactly what `cudamlp verify` checks, so the
// two cannot drift apart. This header turns verify's Comparisons into GoogleTest assertions.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "cudamlp/model.h"
#include "error_model.h"
#include "op_checks.h"
#include "step_check.h"
#include "step_phases.h"

namespace cudamlp::testing {

using verify::absolute;
using verify::DenseShape;
using verify::dense_shape_grid;
using verify::kAwkwardBatches;
using verify::kAwkwardSizes;
using verify::kDotProductSlack;
using verify::kFloatEps;
using verify::network_grid;
using verify::network_with_a_linear_hidden_layer;
using verify::kFloatFeatureNetworks;
using verify::random_dataset;
using verify::random_float_dataset;
using verify::random_floats;

// Passes when the comparison did; otherwise names what, where, both values and the bound.
::testing::AssertionResult passed(const verify::Comparison& comparison);
// Passes when every comparison did; otherwise the first failure.
::testing::AssertionResult all_passed(const std::vector<verify::Comparison>& comparisons);

// verify::compare_dot_products as an assertion.
::testing::AssertionResult near_dot_products(std::span<const float> actual, std::span<const float> expected,
                                             std::span<const float> magnitude, int64_t K, double floor,
                                             const std::string& what);
// verify::compare_relative_to_max as an assertion.
::testing::AssertionResult near_relative_to_max(std::span<const float> actual, std::span<const float> expected,
                                                double tolerance, const std::string& what);

// Flat buffers in network's layout (parameters, gradients, an optimizer slot): the same size, and every
// tensor of the layout near_relative_to_max.
::testing::AssertionResult tensors_near(const Network& network, std::span<const float> actual,
                                        std::span<const float> expected, double tolerance, const std::string& what);
// The same network, and tensors_near over the parameters.
::testing::AssertionResult models_near(const Model& actual, const Model& expected, double tolerance,
                                       const std::string& what);
// The same slots, each tensors_near.
::testing::AssertionResult states_near(const Network& network, const OptimizerState& actual,
                                       const OptimizerState& expected, double tolerance, const std::string& what);

// verify::check_training_step (two steps phase by phase against the reference: loss, count right, every
// gradient, the updated weights, predict's probabilities) on random pixels (kPixel255) or random float32
// features (kNone), each comparison an EXPECT.
void expect_step_matches_reference(Backend& backend, StepPhases& phases, const std::vector<int>& sizes, int64_t batch,
                                   float dropout = 0.0f, InputScale input_scale = InputScale::kPixel255);
// The same for any network, not only the MLP of its sizes: backends must walk its layer list.
void expect_step_matches_reference(Backend& backend, StepPhases& phases, const Network& network, int64_t batch,
                                   float dropout = 0.0f, InputScale input_scale = InputScale::kPixel255);

}  // namespace cudamlp::testing
