// Pictures the tests draw themselves: digits stroked on a canvas like a drawing app would, and PNG/PGM
// files written by hand (not through the library under test), in every PNG colour type and bit depth.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cudamlp/image.h"

namespace cudamlp::testing {

struct Point {
  double x, y;
};

// A canvas of ink coverage in [0, 1]: 0 paper, 1 full ink.
class Canvas {
 public:
  Canvas(int width, int height);
  // A pen stroke of the given thickness through points, with round ends and joints, anti-aliased by
  // 4x4 supersampling.
  void stroke(const std::vector<Point>& points, double thickness);
  // A filled axis-aligned rectangle [x0, x1) x [y0, y1), no anti-aliasing.
  void fill(int x0, int y0, int x1, int y1);
  // Dark ink on white paper (pixel = 255 * (1 - coverage)).
  GrayImage on_paper() const;

 private:
  int width_, height_;
  std::vector<double> coverage_;  // [height, width]
};

// '0', '1' or '7' drawn with a thick pen, dark on a white width x height canvas (200 x 300 by default),
// placed off-centre so that cropping matters.
GrayImage drawn_digit(char digit, int width = 200, int height = 300);
// Light ink on dark: 255 - every pixel.
GrayImage inverted(const GrayImage& image);

// PNG colour types (the PNG specification's numbers).
enum PngColour { kPngGray = 0, kPngRgb = 2, kPngPalette = 3, kPngGrayAlpha = 4, kPngRgba = 6 };
// A PNG file: samples holds width * height * channels values of bit_depth bits each (channels from the
// colour type; palette indices for kPngPalette). `palette` is PLTE's RGB triples and `transparency`
// tRNS's alpha per palette entry. No gAMA or sRGB chunk, no interlacing.
std::string png_file(int width, int height, PngColour colour, int bit_depth, const std::vector<uint16_t>& samples,
                     const std::vector<uint8_t>& palette = {}, const std::vector<uint8_t>& transparency = {});
// One PNG chunk: length, type, data, CRC-32.
std::string png_chunk(const std::string& type, const std::string& data);
// An 8-bit grayscale PNG of image.
std::string gray_png(const GrayImage& image);
// A P5 (binary) PGM of image with maxval 255.
std::string pgm_file(const GrayImage& image);

// A Kaggle digit-recognizer CSV of n 28x28 pictures that are easy to tell apart: class c is a bright
// vertical band at columns 2c .. 2c + 5 over dim noise. labelled: train.csv (a label column), else
// test.csv. labels, when given, receives the classes in file order.
std::string band_digits_csv(int n, bool labelled, uint64_t seed, std::vector<int>* labels = nullptr);

}  // namespace cudamlp::testing
