// check_regularization (regularization.h): the ranges every backend relies on.
#include "cudamlp/regularization.h"

#include <cmath>
#include <cstdio>

#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

std::string number_text(float value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", double(value));
  return text;
}

}  // namespace

void check_regularization(const Regularization& regularization, int64_t input_size, const std::string& who) {
  const auto refuse = [&](const std::string& what, float value, const std::string& range) {
    throw UsageError(who + ": " + what + " " + number_text(value) + " is not in " + range);
  };
  if (!(regularization.dropout >= 0.0f && regularization.dropout < 1.0f))
    refuse("dropout", regularization.dropout, "[0, 1)");
  const Augmentation& a = regularization.augmentation;
  if (!(a.rotate_degrees >= 0.0f && a.rotate_degrees <= 180.0f)) refuse("rotation", a.rotate_degrees, "[0, 180] degrees");
  if (!(a.scale >= 0.0f && a.scale < 1.0f)) refuse("scale", a.scale, "[0, 1)");
  if (!(a.shear >= 0.0f && a.shear <= 1.0f)) refuse("shear", a.shear, "[0, 1]");
  if (!(a.shift >= 0.0f && std::isfinite(a.shift))) refuse("shift", a.shift, "[0, inf) pixels");
  if (!(a.elastic_alpha >= 0.0f && std::isfinite(a.elastic_alpha))) refuse("elastic alpha", a.elastic_alpha, "[0, inf)");
  if (a.elastic_alpha > 0.0f && !(a.elastic_sigma > 0.0f && a.elastic_sigma <= 64.0f))
    refuse("elastic sigma", a.elastic_sigma, "(0, 64] pixels");
  if (!a.any()) return;
  if (a.rows < 1 || a.cols < 1 || int64_t(a.rows) * a.cols != input_size)
    throw UsageError(who + ": augmentation needs images: an image shape of " + std::to_string(a.rows) + "x" +
                     std::to_string(a.cols) + " does not make the " + std::to_string(input_size) +
                     " values of a sample");
}

}  // namespace cudamlp
