// See backend_comparison.h.
#include "backend_comparison.h"

namespace cudamlp::testing {

::testing::AssertionResult passed(const verify::Comparison& c) {
  if (c.passed) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << (c.op.empty() ? "" : c.op + " ") << (c.shape.empty() ? "" : c.shape + ": ")
                                       << c.detail << " (tolerance " << c.tolerance << ")";
}

::testing::AssertionResult all_passed(const std::vector<verify::Comparison>& comparisons) {
  for (const verify::Comparison& c : comparisons)
    if (!c.passed) return passed(c);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult near_dot_products(std::span<const float> actual, std::span<const float> expected,
                                             std::span<const float> magnitude, int64_t K, double floor,
                                             const std::string& what) {
  return passed(verify::compare_dot_products(actual, expected, magnitude, K, floor, what));
}

::testing::AssertionResult near_relative_to_max(std::span<const float> actual, std::span<const float> expected,
                                                double tolerance, const std::string& what) {
  return passed(verify::compare_relative_to_max(actual, expected, tolerance, what));
}

::testing::AssertionResult tensors_near(const Network& network, std::span<const float> actual,
                                        std::span<const float> expected, double tolerance, const std::string& what) {
  return all_passed(verify::compare_tensors(network, actual, expected, tolerance, what));
}

::testing::AssertionResult models_near(const Model& actual, const Model& expected, double tolerance,
                                       const std::string& what) {
  if (!(actual.network == expected.network)) return ::testing::AssertionFailure() << what << ": networks differ";
  return tensors_near(actual.network, actual.parameters, expected.parameters, tolerance, what);
}

::testing::AssertionResult states_near(const Network& network, const OptimizerState& actual,
                                       const OptimizerState& expected, double tolerance, const std::string& what) {
  if (actual.slots.size() != expected.slots.size()) return ::testing::AssertionFailure() << what << ": slots differ";
  for (const auto& [slot, values] : expected.slots) {
    const auto it = actual.slots.find(slot);
    if (it == actual.slots.end()) return ::testing::AssertionFailure() << what << ": no " << slot;
    auto near = tensors_near(network, it->second, values, tolerance, what + " " + slot);
    if (!near) return near;
  }
  return ::testing::AssertionSuccess();
}

void expect_step_matches_reference(Backend& backend, StepPhases& phases, const std::vector<int>& sizes, int64_t batch,
                                   float dropout, InputScale input_scale) {
  expect_step_matches_reference(backend, phases, mlp_network(sizes), batch, dropout, input_scale);
}

void expect_step_matches_reference(Backend& backend, StepPhases& phases, const Network& network, int64_t batch,
                                   float dropout, InputScale input_scale) {
  for (const verify::Comparison& c : verify::check_training_step(backend, phases, network, batch, dropout, input_scale))
    EXPECT_TRUE(passed(c)) << backend.name();
}

}  // namespace cudamlp::testing
