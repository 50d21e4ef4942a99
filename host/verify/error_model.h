// The error model: how far a correct float32 backend may be from the reference (which sums in double
// and rounds once), op by op, and the comparisons that apply it. `cudamlp verify` and the test suite
// (tests/backends/backend_comparison.h) use exactly these bounds, so the two cannot drift apart.
//
// Dot products. A float32 dot product of length K, however it is blocked or fused, differs from the
// exact one by at most ~K * eps * sum_i |x_i w_i|, and in practice by ~sqrt(K) * eps * sum_i |x_i w_i|
// (rounding errors add like a random walk). The bound is kDotProductSlack * sqrt(K) * eps * sum_i
// |x_i w_i|, with sum_i |x_i w_i| computed by the reference op itself on the absolute values.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace cudamlp::verify {

inline constexpr double kFloatEps = std::numeric_limits<float>::epsilon();  // 2^-23

// Headroom over the sqrt(K) * eps estimate: the largest of up to 10^6 roughly normal errors is about
// 5 standard deviations, and the sum of |x_i w_i| already overstates a random walk's typical size.
inline constexpr double kDotProductSlack = 4.0;
// An exact zero in the reference (a ReLU, a column of zeros) against float rounding noise of size
// eps * magnitude is covered by the relative bound; this floor only keeps 0-vs-1e-45 from failing.
inline constexpr double kZeroFloor = 1e-30;

// softmax_xent: float exp, a float sum over C <= 256 terms and (l - max) rounded in float, against the
// reference in double: a few ulps of relative error per probability, on values at most 1.
inline constexpr double kSoftmaxProbabilityTolerance = 2e-6;
// Its mean loss: the log of a float sum per sample, averaged over the batch; relative (to max(1, loss)).
inline constexpr double kSoftmaxLossTolerance = 1e-6;
// Dropout: a kept unit is one float product, value * scale, correctly rounded here and in the reference
// (which rounds the exact double product to float): the same number. One ulp of slack all the same.
inline constexpr double kDropoutRelativeTolerance = kFloatEps;
// Optimizer updates: the operands of an update are the value before, the change and the gradient, so
// each result may differ by a few ulps of |before| + |change| + |g|.
inline constexpr double kUpdateUlps = 4;
// Augmentation: backends compute the map in float, the reference in double. The source position is off
// by a few float ulps of its coordinates (<= 28 + shift + alpha: ~1e-5 pixels), and bilinear
// interpolation of values in [0, 1] moves by at most that distance times the largest step between
// neighbours (1), so 1e-4 bounds every correct backend while a wrong draw, axis or centre moves pixels
// by ~0.1 or more. Absolute.
inline constexpr double kInterpolationTolerance = 1e-4;

// A whole training step, phase by phase (step_check.h).
// Loss: a mean of float log-sum-exps against the reference's double ones; relative.
inline constexpr double kStepLossTolerance = 1e-5;
// Gradients and weights after a step, relative to each tensor's largest value: about sqrt(K) * eps *
// sqrt(B) (a dW entry sums B terms of both signs, so its magnitude exceeds its value ~sqrt(B) times)
// with K and B up to ~1000, compounded over a few layers: measured ~1e-6 on the first step. The
// second step starts from weights that already differ by the first one's rounding, which a lr-0.1 step
// on a batch of one amplifies in the next gradients: measured up to 5e-5 there.
inline constexpr double kStepTolerance = 2e-4;
// Probabilities are at most 1: float exp and a float sum over C <= 256 terms, compounded over the layers.
inline constexpr double kStepProbabilityTolerance = 1e-5;
// A short training run (tens of steps) and a golden file's outputs: every step adds float-vs-double
// rounding of order sqrt(K) * eps relative and training feeds it back. On the emulator, weights after
// 100 steps differ from the reference by a few 1e-8 of each tensor's largest value; 5e-4 leaves room for
// other GPUs' summation orders while any real bug (a wrong gradient, a skipped batch, a different sample
// order) moves weights by a large fraction of their size. Relative to each tensor's largest value.
inline constexpr double kTrainingRunTolerance = 5e-4;

// One comparison of a backend's result with the reference's: what `verify` prints as a table row and
// what a test asserts.
struct Comparison {
  std::string backend;    // "cpu", "gpu-emulated custom": who was compared with the reference
  std::string op;         // "dense_forward", "sgd-momentum", "training step"
  std::string shape;      // "B=3 in=31 out=129"
  std::string what;       // the output compared: "y", "dW", "0.weight"
  double max_abs = 0;     // max_i |actual_i - expected_i|
  double max_rel = 0;     // max_abs / max_i |expected_i|: relative to the tensor's largest value
  double worst = 0;       // max_i |actual_i - expected_i| / bound_i: the comparison passes when <= 1
  std::string tolerance;  // the bound's formula with its numbers: "4 sqrt(K) eps sum|x w| + 1e-30, K=31"
  bool passed = true;
  std::string detail;     // the first element out of bounds: "y[17]: 0.51 vs reference 0.5, bound 1e-6"
};

// |actual_i - expected_i| <= kDotProductSlack * sqrt(K) * eps * magnitude_i + floor.
Comparison compare_dot_products(std::span<const float> actual, std::span<const float> expected,
                                std::span<const float> magnitude, int64_t K, double floor, const std::string& what);
// |actual_i - expected_i| <= tolerance * max_j |expected_j|: for results of several layers, where
// per-element magnitudes are not at hand, relative to the tensor's largest value.
Comparison compare_relative_to_max(std::span<const float> actual, std::span<const float> expected, double tolerance,
                                   const std::string& what);
// |actual_i - expected_i| <= tolerance (absolute).
Comparison compare_absolute(std::span<const float> actual, std::span<const float> expected, double tolerance,
                            const std::string& what);
// |actual_i - expected_i| <= tolerance * |expected_i|, and zero exactly where the reference is zero (a
// dropped unit must be dropped on both sides).
Comparison compare_relative_same_zeros(std::span<const float> actual, std::span<const float> expected,
                                       double tolerance, const std::string& what);
// An optimizer's update: |actual_i - expected_i| <= kUpdateUlps * eps * (|before_i| + |expected_i -
// before_i| + |g_i|).
Comparison compare_update(std::span<const float> actual, std::span<const float> expected,
                          std::span<const float> before, std::span<const float> g, const std::string& what);
// Bitwise equality (labels, scaled pixels: both sides compute the same float).
Comparison compare_exact(std::span<const float> actual, std::span<const float> expected, const std::string& what);
Comparison compare_exact(std::span<const uint8_t> actual, std::span<const uint8_t> expected, const std::string& what);
// A scalar within tolerance * max(1, |expected|) (a mean loss), and an exact count.
Comparison compare_scalar(double actual, double expected, double tolerance, const std::string& what);
Comparison compare_count(int64_t actual, int64_t expected, const std::string& what);

// A comparison that could not be made (sizes differ, a network differs): failed, worst infinite.
Comparison failed_comparison(const std::string& what, const std::string& detail);

// |v| element-wise: the inputs from which the reference computes sum_i |x_i w_i|.
std::vector<float> absolute(std::span<const float> values);

}  // namespace cudamlp::verify
