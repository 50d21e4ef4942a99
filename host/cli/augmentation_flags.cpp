// See augmentation_flags.h.
#include "augmentation_flags.h"

#include <cmath>

#include "cudamlp/errors.h"

namespace cudamlp::cli {

namespace {

// NaN passes CLI::Range (which tests value < min || value > max): refuse it, and infinities, first.
const CLI::Validator kFinite(
    [](std::string& text) -> std::string {
      double value = 0;
      if (!CLI::detail::lexical_cast(text, value) || !std::isfinite(value)) return "must be a finite number, got " + text;
      return {};
    },
    "");

constexpr const char* kFlags[] = {"--rotate", "--scale", "--shear", "--shift", "--elastic", "--augment"};

bool given(const CLI::App& app, const char* flag) { return app.get_option(flag)->count() > 0; }

}  // namespace

void add_augmentation_options(CLI::App& app, AugmentationFlags& flags) {
  app.add_option("--rotate", flags.rotate, "Augmentation: rotate each training image by up to DEG degrees")
      ->check(kFinite)->check(CLI::Range(0.0f, 180.0f));
  app.add_option("--scale", flags.scale, "Augmentation: zoom each training image by a factor in [1-F, 1+F]")
      ->check(kFinite)->check(CLI::Range(0.0f, 0.99f));
  app.add_option("--shear", flags.shear, "Augmentation: shear each training image horizontally by up to F")
      ->check(kFinite)->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--shift", flags.shift, "Augmentation: translate each training image by up to PX pixels per axis")
      ->check(kFinite)->check(CLI::Range(0.0f, 1e6f));
  app.add_option("--elastic", flags.elastic,
                 "Augmentation: elastic distortion ALPHA,SIGMA (Simard 2003: 34,4): a random field smoothed by a "
                 "Gaussian of SIGMA pixels, scaled by ALPHA");
  app.add_flag("--augment", flags.augment,
               "Augmentation defaults: --rotate 10 --scale 0.1 --shear 0.1 --shift 2 (each flag given replaces its value)");
}

bool augmentation_flags_given(const CLI::App& app) {
  for (const char* flag : kFlags)
    if (given(app, flag)) return true;
  return false;
}

Augmentation augmentation_of_flags(const AugmentationFlags& flags, const CLI::App& app, const Augmentation& base) {
  Augmentation a = base;
  if (flags.augment) {
    a.rotate_degrees = 10;
    a.scale = 0.1f;
    a.shear = 0.1f;
    a.shift = 2;
  }
  if (given(app, "--rotate")) a.rotate_degrees = flags.rotate;
  if (given(app, "--scale")) a.scale = flags.scale;
  if (given(app, "--shear")) a.shear = flags.shear;
  if (given(app, "--shift")) a.shift = flags.shift;
  if (!flags.elastic.empty()) {
    const size_t comma = flags.elastic.find(',');
    const auto refuse = [&] {
      return UsageError("--elastic " + flags.elastic +
                        ": expected ALPHA,SIGMA, ALPHA >= 0 and SIGMA in (0, 64] pixels, like 34,4");
    };
    if (comma == std::string::npos) throw refuse();
    try {
      size_t used_alpha = 0, used_sigma = 0;
      const std::string alpha = flags.elastic.substr(0, comma), sigma = flags.elastic.substr(comma + 1);
      a.elastic_alpha = std::stof(alpha, &used_alpha);
      a.elastic_sigma = std::stof(sigma, &used_sigma);
      if (used_alpha != alpha.size() || used_sigma != sigma.size()) throw refuse();
    } catch (const std::logic_error&) {  // stof's invalid_argument, out_of_range
      throw refuse();
    }
    if (!(a.elastic_alpha >= 0 && std::isfinite(a.elastic_alpha) && a.elastic_sigma > 0 && a.elastic_sigma <= 64))
      throw refuse();
    if (a.elastic_alpha == 0) a.elastic_sigma = 0;  // no field: nothing to smooth
  }
  return a;
}

Augmentation with_image_shape(Augmentation augmentation, const Dataset& data, const std::string& source) {
  if (!augmentation.any()) return Augmentation{};
  if (data.has_float_features())
    throw UsageError("--rotate, --scale, --shear, --shift, --elastic and --augment distort images of uint8 pixels: " +
                     source + " holds float32 features");
  if (data.rows <= 1)  // the readers' rows = 1: values without an image shape
    throw UsageError("--rotate, --scale, --shear, --shift, --elastic and --augment distort images: " + source +
                     " has " + std::to_string(data.dim()) +
                     " values per sample, not a square image (MNIST's 784 are 28x28)");
  augmentation.rows = data.rows;
  augmentation.cols = data.cols;
  return augmentation;
}

}  // namespace cudamlp::cli
