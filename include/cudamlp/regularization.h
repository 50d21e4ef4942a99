// What a training step does to its samples besides learning from them: inverted dropout after every
// hidden layer's ReLU, and random distortions of image inputs (augmentation). Both only while training:
// evaluation, predict and the test accuracy see the network and the images as they are.
//
// Every random number is a pure function of counters (counter_random.h), never of a generator's state:
//   dropout:      (seed, step, the sample's position in the epoch's order, layer, unit)
//   augmentation: (seed, epoch, the sample's index in the training set, which draw)
// so every backend draws the same masks and distortions, a resumed run continues bitwise, and a
// data-parallel run on any number of ranks draws what one process draws.
#pragma once

#include <cstdint>
#include <string>

namespace cudamlp {

// Random distortions of each training image, drawn afresh every epoch, applied as one map from output
// pixel to input position, resampled bilinearly (zero outside the image). All zero: no augmentation.
struct Augmentation {
  int rows = 0, cols = 0;       // a sample's image shape, rows * cols == its values; 0: not set
  float rotate_degrees = 0;     // rotation uniform in [-rotate, rotate] degrees, about the centre
  float scale = 0;              // zoom uniform in [1 - scale, 1 + scale]
  float shear = 0;              // horizontal shear factor uniform in [-shear, shear]
  float shift = 0;              // translation uniform in [-shift, shift] pixels, each axis
  // Simard et al. 2003: displacement fields uniform in [-1, 1] per pixel and axis, smoothed by a
  // normalised Gaussian of std elastic_sigma pixels, scaled by elastic_alpha (34 and 4 in the paper).
  float elastic_alpha = 0, elastic_sigma = 0;

  bool any() const {
    return rotate_degrees != 0 || scale != 0 || shear != 0 || shift != 0 || elastic_alpha != 0;
  }
};
// (By hand, not defaulted: nvcc compiles this header as C++17.)
inline bool operator==(const Augmentation& a, const Augmentation& b) {
  return a.rows == b.rows && a.cols == b.cols && a.rotate_degrees == b.rotate_degrees && a.scale == b.scale &&
         a.shear == b.shear && a.shift == b.shift && a.elastic_alpha == b.elastic_alpha &&
         a.elastic_sigma == b.elastic_sigma;
}

struct Regularization {
  float dropout = 0;  // P in [0, 1): each hidden unit zeroed with probability P, the others scaled 1/(1-P)
  Augmentation augmentation;
  uint64_t seed = 1;  // the run's seed (--seed): masks and distortions are pure functions of it

  bool any() const { return dropout != 0 || augmentation.any(); }
};
inline bool operator==(const Regularization& a, const Regularization& b) {
  return a.dropout == b.dropout && a.augmentation == b.augmentation && a.seed == b.seed;
}

// Throws UsageError naming the problem unless every value is in its range (dropout in [0, 1); the
// distortions finite and non-negative, rotate at most 180, scale below 1, elastic sigma positive when
// alpha is) and, with any distortion, rows * cols == input_size. `who` names the caller.
void check_regularization(const Regularization& regularization, int64_t input_size, const std::string& who);

}  // namespace cudamlp
