// See error_model.h.
#include "error_model.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

namespace cudamlp::verify {

namespace {

std::string number(double value) {
  std::ostringstream text;
  text.precision(3);
  text << value;
  return text.str();
}

double largest_magnitude(std::span<const float> values) {
  double largest = 0;
  for (const float v : values) largest = std::max(largest, double(std::abs(v)));
  return largest;
}

// Fills max_abs, max_rel, worst, passed and detail from the bound of each element; `extra` is an
// element's failure beyond the bound (a zero on one side only), or empty.
Comparison compare_with_bounds(std::span<const float> actual, std::span<const float> expected, const std::string& what,
                               std::string tolerance, const std::function<double(size_t)>& bound_of,
                               const std::function<std::string(size_t)>& extra = nullptr) {
  if (actual.size() != expected.size())
    return failed_comparison(what, what + ": " + std::to_string(actual.size()) + " values, the reference has " +
                                       std::to_string(expected.size()));
  Comparison c;
  c.what = what;
  c.tolerance = std::move(tolerance);
  const double largest = largest_magnitude(expected);
  for (size_t i = 0; i < actual.size(); ++i) {
    const double error = std::abs(double(actual[i]) - double(expected[i]));
    const double bound = bound_of(i);
    const std::string problem = extra ? extra(i) : std::string();
    // NaN compares false both ways: an error that is not <= its bound fails, NaN included.
    const bool within = error <= bound && problem.empty();
    const double ratio = std::isnan(error) ? INFINITY : (bound > 0 ? error / bound : (error > 0 ? INFINITY : 0.0));
    c.max_abs = std::isnan(error) ? INFINITY : std::max(c.max_abs, error);
    c.worst = std::max(c.worst, problem.empty() ? ratio : INFINITY);
    if (!within && c.passed) {
      c.passed = false;
      std::ostringstream text;
      text << what << "[" << i << "]: " << actual[i] << " vs reference " << expected[i];
      if (problem.empty()) text << ", bound " << bound;
      else text << ": " << problem;
      c.detail = text.str();
    }
  }
  c.max_rel = largest > 0 ? c.max_abs / largest : (c.max_abs > 0 ? INFINITY : 0.0);
  return c;
}

}  // namespace

Comparison failed_comparison(const std::string& what, const std::string& detail) {
  Comparison c;
  c.what = what;
  c.worst = INFINITY;
  c.passed = false;
  c.detail = detail;
  return c;
}

std::vector<float> absolute(std::span<const float> values) {
  std::vector<float> result(values.size());
  std::transform(values.begin(), values.end(), result.begin(), [](float v) { return std::abs(v); });
  return result;
}

Comparison compare_dot_products(std::span<const float> actual, std::span<const float> expected,
                                std::span<const float> magnitude, int64_t K, double floor, const std::string& what) {
  const double scale = kDotProductSlack * std::sqrt(double(std::max<int64_t>(K, 1))) * kFloatEps;
  if (magnitude.size() != expected.size()) return failed_comparison(what, what + ": sizes differ");
  Comparison c = compare_with_bounds(
      actual, expected, what,
      number(kDotProductSlack) + " sqrt(K) eps sum|x w| + " + number(floor) + ", K=" + std::to_string(K),
      [&](size_t i) { return scale * double(magnitude[i]) + floor; });
  return c;
}

Comparison compare_relative_to_max(std::span<const float> actual, std::span<const float> expected, double tolerance,
                                   const std::string& what) {
  const double largest = largest_magnitude(expected);
  const double bound = tolerance * largest + 1e-30;
  Comparison c = compare_with_bounds(actual, expected, what, number(tolerance) + " max|ref|",
                                     [&](size_t) { return bound; });
  if (!c.passed && actual.size() == expected.size())
    c.detail += " (" + number(tolerance) + " of the largest, " + number(largest) + ")";
  return c;
}

Comparison compare_absolute(std::span<const float> actual, std::span<const float> expected, double tolerance,
                            const std::string& what) {
  return compare_with_bounds(actual, expected, what, number(tolerance) + " absolute",
                             [&](size_t) { return tolerance; });
}

Comparison compare_relative_same_zeros(std::span<const float> actual, std::span<const float> expected,
                                       double tolerance, const std::string& what) {
  return compare_with_bounds(
      actual, expected, what, number(tolerance) + " |ref|, same zeros",
      [&](size_t i) { return tolerance * std::abs(double(expected[i])); },
      [&](size_t i) {
        return (actual[i] == 0.0f) != (expected[i] == 0.0f) ? std::string("zero on one side only") : std::string();
      });
}

Comparison compare_update(std::span<const float> actual, std::span<const float> expected,
                          std::span<const float> before, std::span<const float> g, const std::string& what) {
  if (before.size() != expected.size() || g.size() != expected.size())
    return failed_comparison(what, what + ": sizes differ");
  Comparison c = compare_with_bounds(actual, expected, what,
                                     number(kUpdateUlps) + " eps (|before| + |change| + |g|)", [&](size_t i) {
                                       return kUpdateUlps * kFloatEps *
                                              (std::abs(double(before[i])) +
                                               std::abs(double(expected[i]) - double(before[i])) +
                                               std::abs(double(g[i])));
                                     });
  return c;
}

Comparison compare_exact(std::span<const float> actual, std::span<const float> expected, const std::string& what) {
  return compare_with_bounds(actual, expected, what, "bitwise", [](size_t) { return 0.0; });
}

Comparison compare_exact(std::span<const uint8_t> actual, std::span<const uint8_t> expected, const std::string& what) {
  std::vector<float> a(actual.begin(), actual.end()), e(expected.begin(), expected.end());
  return compare_exact(a, e, what);
}

Comparison compare_scalar(double actual, double expected, double tolerance, const std::string& what) {
  Comparison c;
  c.what = what;
  const double bound = tolerance * std::max(1.0, std::abs(expected));
  c.tolerance = number(tolerance) + " max(1, |ref|)";
  c.max_abs = std::isnan(actual) ? INFINITY : std::abs(actual - expected);
  c.max_rel = expected != 0 ? c.max_abs / std::abs(expected) : c.max_abs;
  c.worst = c.max_abs / bound;
  c.passed = c.max_abs <= bound;
  if (!c.passed) {
    std::ostringstream text;
    text << what << ": " << actual << " vs reference " << expected << ", bound " << bound;
    c.detail = text.str();
  }
  return c;
}

Comparison compare_count(int64_t actual, int64_t expected, const std::string& what) {
  Comparison c;
  c.what = what;
  c.tolerance = "exact";
  c.max_abs = std::abs(double(actual - expected));
  c.max_rel = expected != 0 ? c.max_abs / std::abs(double(expected)) : c.max_abs;
  c.passed = actual == expected;
  c.worst = c.passed ? 0.0 : INFINITY;
  if (!c.passed) c.detail = what + ": " + std::to_string(actual) + " vs reference " + std::to_string(expected);
  return c;
}

}  // namespace cudamlp::verify
