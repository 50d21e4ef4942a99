// A picture of one handwritten digit turned into a 28x28 MNIST sample, the way MNIST itself was made
// (LeCun et al.: "the images were size normalized to fit in a 20x20 pixel box while preserving their
// aspect ratio ... centered in a 28x28 image by computing the center of mass of the pixels"):
//
//   1. polarity: MNIST is light ink on black. The background is the median of the picture's border; a
//      light background (>= 128) means dark ink on paper, and the picture is inverted.
//   2. contrast: the background level maps to 0 and the darkest ink to 255; what stays below
//      kInkFloor of that range is paper texture or noise and becomes 0.
//   3. crop to the bounding box of the remaining ink.
//   4. scale so that the longer side is 20 pixels, keeping the aspect ratio, by area averaging (each
//      output pixel is the mean of the source area it covers: MNIST's anti-aliasing), then stretch so
//      the strongest pixel is 255 again (thin pen strokes shrink to faint lines otherwise).
//   5. place in 28x28 so that the centre of mass lands on pixel (14, 14), where MNIST's digits have it
//      on average, by a whole-pixel shift (no resampling blur); the box is kept inside the image when a
//      lopsided digit would push it over the edge.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cudamlp/image.h"

namespace cudamlp {

inline constexpr int kMnistSide = 28;         // the image
inline constexpr int kMnistBox = 20;          // the digit's longer side
inline constexpr double kMnistCentre = 14.0;  // centre of mass, in pixel indices (row and column)
// Ink weaker than this fraction of the picture's contrast is treated as background.
inline constexpr double kInkFloor = 0.15;
// A picture whose darkest and lightest parts (after step 1) differ by less than this has no digit.
inline constexpr int kMinContrast = 32;

struct MnistDigit {
  std::vector<uint8_t> pixels;  // [28, 28] row-major; ink 255 on background 0, as in MNIST
  bool inverted = false;        // the picture was dark ink on a light background
};

// Throws Error("no digit found: ...") for a picture without ink (one shade, or contrast < kMinContrast).
MnistDigit mnist_digit_from_image(const GrayImage& image);

// load_image + mnist_digit_from_image; every problem is a FileError naming the file.
MnistDigit load_mnist_digit(const std::string& path);

// The same from a picture's bytes in memory (read from a pipe); `name` is the file the errors name.
MnistDigit decode_mnist_digit(std::string_view bytes, const std::string& name);

// mnist_digit_from_image of a picture read from the file path; its problem is a FileError naming it.
MnistDigit digit_of_file(const GrayImage& image, const std::string& path);

}  // namespace cudamlp
