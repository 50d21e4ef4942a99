// The augmentation flags of `train` and `bench` (regularization.h's Augmentation): --rotate DEG,
// --scale F, --shear F, --shift PX, --elastic ALPHA,SIGMA, and --augment for a documented set:
//   --augment = --rotate 10 --scale 0.1 --shear 0.1 --shift 2 (no elastic field: it costs a Gaussian
//   blur per sample); a distortion flag given with --augment replaces that one value.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cudamlp/dataset.h"
#include "cudamlp/regularization.h"

namespace cudamlp::cli {

struct AugmentationFlags {
  float rotate = 0, scale = 0, shear = 0, shift = 0;
  std::string elastic;  // ALPHA,SIGMA
  bool augment = false;
};

void add_augmentation_options(CLI::App& app, AugmentationFlags& flags);

// Whether any of the flags above was given.
bool augmentation_flags_given(const CLI::App& app);

// The distortions the flags ask for (rows, cols 0). Throws UsageError naming the flag when out of range.
// base: what the flags not given leave (none, or a resumed run's distortions).
Augmentation augmentation_of_flags(const AugmentationFlags& flags, const CLI::App& app, const Augmentation& base = {});

// `augmentation` with the image shape of `data`; throws UsageError when it has distortions and the data
// has no image shape (a CSV whose values are not a square count): `source` names the data.
Augmentation with_image_shape(Augmentation augmentation, const Dataset& data, const std::string& source);

}  // namespace cudamlp::cli
