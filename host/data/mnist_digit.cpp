// mnist_digit_from_image: a picture of a digit -> a 28x28 MNIST sample. The steps and their reasons are
// in mnist_digit.h; here they are in the same order, one function each.
#include "cudamlp/mnist_digit.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

// Step 1: the median of the outermost rows and columns, which are background in any sensible picture.
uint8_t border_median(const GrayImage& image) {
  const int W = image.width, H = image.height;
  std::vector<uint8_t> border;
  border.reserve(size_t(2 * W + 2 * H));
  const auto at = [&](int x, int y) { return image.pixels[size_t(y) * size_t(W) + size_t(x)]; };
  for (int x = 0; x < W; ++x) border.push_back(at(x, 0));
  if (H > 1)
    for (int x = 0; x < W; ++x) border.push_back(at(x, H - 1));
  for (int y = 1; y + 1 < H; ++y) {
    border.push_back(at(0, y));
    if (W > 1) border.push_back(at(W - 1, y));
  }
  const auto middle = border.begin() + std::ptrdiff_t(border.size() / 2);
  std::nth_element(border.begin(), middle, border.end());
  return *middle;
}

// Step 2: ink strength in [0, 1] of a picture pixel, with MNIST's polarity (ink high).
struct InkScale {
  bool inverted = false;
  double background = 0;  // the ink value of the background (after inversion)
  double peak = 0;        // the strongest ink value

  double ink(uint8_t pixel) const { return inverted ? 255.0 - pixel : double(pixel); }
  // 0 at the background and below the noise floor, 1 at the peak, linear in between.
  double strength(uint8_t pixel) const {
    const double s = (ink(pixel) - background) / (peak - background);
    return std::max(0.0, (s - kInkFloor) / (1.0 - kInkFloor));
  }
};

InkScale measure_ink(const GrayImage& image) {
  InkScale scale;
  const uint8_t background = border_median(image);
  scale.inverted = background >= 128;
  scale.background = scale.ink(background);
  for (uint8_t pixel : image.pixels) scale.peak = std::max(scale.peak, scale.ink(pixel));
  if (scale.peak - scale.background < kMinContrast)
    throw Error("no digit found: the picture is nearly one shade (its ink differs from the background by " +
                std::to_string(int(scale.peak - scale.background)) + " of 255 levels, at least " +
                std::to_string(kMinContrast) + " needed)");
  return scale;
}

// Step 3: [x0, x1) x [y0, y1), the smallest box holding every pixel of non-zero strength.
struct Box {
  int x0, y0, x1, y1;
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
};

Box ink_box(const GrayImage& image, const InkScale& scale) {
  Box box = {image.width, image.height, 0, 0};
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      if (scale.strength(image.pixels[size_t(y) * size_t(image.width) + size_t(x)]) > 0) {
        box.x0 = std::min(box.x0, x);
        box.y0 = std::min(box.y0, y);
        box.x1 = std::max(box.x1, x + 1);
        box.y1 = std::max(box.y1, y + 1);
      }
  return box;  // never empty: the peak pixel has strength 1
}

// Step 4, one axis: output cell o of n_out covers source interval [o * r, (o + 1) * r) with r = n_in / n_out;
// source pixel i covers [i, i + 1) and weighs (its overlap with the cell) / r, so every cell's weights
// sum to 1 and every source pixel contributes its whole area once.
struct AreaWeight {
  int source;
  double weight;
};

std::vector<std::vector<AreaWeight>> area_weights(int n_in, int n_out) {
  const double r = double(n_in) / double(n_out);
  std::vector<std::vector<AreaWeight>> cells(static_cast<size_t>(n_out));
  for (int o = 0; o < n_out; ++o) {
    const double begin = o * r, end = (o + 1) * r;
    for (int i = int(std::floor(begin)); i < std::min(n_in, int(std::ceil(end))); ++i) {
      const double overlap = std::min(double(i + 1), end) - std::max(double(i), begin);
      if (overlap > 0) cells[size_t(o)].push_back({i, overlap / r});
    }
  }
  return cells;
}

// Step 4: the box's ink strength scaled into out_w x out_h by area averaging, stretched to peak 1.
// Returns [out_h, out_w] row-major.
std::vector<double> resample_box(const GrayImage& image, const InkScale& scale, const Box& box, int out_w,
                                 int out_h) {
  const auto columns = area_weights(box.width(), out_w);
  const auto rows = area_weights(box.height(), out_h);
  // Horizontal pass: every source row of the box -> out_w values. narrow: [box height, out_w]
  std::vector<double> narrow(size_t(box.height()) * size_t(out_w), 0.0);
  for (int y = 0; y < box.height(); ++y) {
    const uint8_t* source = image.pixels.data() + size_t(box.y0 + y) * size_t(image.width) + size_t(box.x0);
    for (int ox = 0; ox < out_w; ++ox) {
      double sum = 0.0;
      for (const AreaWeight& w : columns[size_t(ox)]) sum += w.weight * scale.strength(source[w.source]);
      narrow[size_t(y) * size_t(out_w) + size_t(ox)] = sum;
    }
  }
  // Vertical pass.
  std::vector<double> out(size_t(out_h) * size_t(out_w), 0.0);
  for (int oy = 0; oy < out_h; ++oy)
    for (int ox = 0; ox < out_w; ++ox) {
      double sum = 0.0;
      for (const AreaWeight& w : rows[size_t(oy)])
        sum += w.weight * narrow[size_t(w.source) * size_t(out_w) + size_t(ox)];
      out[size_t(oy) * size_t(out_w) + size_t(ox)] = sum;
    }
  const double peak = *std::max_element(out.begin(), out.end());
  if (peak > 0)
    for (double& value : out) value /= peak;
  return out;
}

// Step 5, one axis: the whole-pixel offset of a `size`-long box whose centre of mass is at `com` (box
// coordinates) that brings the centre of mass nearest kMnistCentre, kept inside the image.
int centring_offset(double com, int size) {
  const int offset = int(std::lround(kMnistCentre - com));
  return std::clamp(offset, 0, kMnistSide - size);
}

}  // namespace

MnistDigit mnist_digit_from_image(const GrayImage& image) {
  if (image.width < 1 || image.height < 1 || image.pixels.size() != size_t(image.width) * size_t(image.height))
    throw Error("mnist_digit_from_image: " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                " image with " + std::to_string(image.pixels.size()) + " pixels");
  const InkScale scale = measure_ink(image);
  const Box box = ink_box(image, scale);

  // The longer side becomes kMnistBox; the other keeps the aspect ratio (at least one pixel).
  const double factor = double(kMnistBox) / double(std::max(box.width(), box.height()));
  const int out_w = std::clamp(int(std::lround(box.width() * factor)), 1, kMnistBox);
  const int out_h = std::clamp(int(std::lround(box.height() * factor)), 1, kMnistBox);
  const std::vector<double> scaled = resample_box(image, scale, box, out_w, out_h);

  // Quantise first, then measure the centre of mass on the very values the network will see.
  std::vector<uint8_t> digit(scaled.size());  // [out_h, out_w]
  for (size_t i = 0; i < scaled.size(); ++i) digit[i] = uint8_t(std::lround(255.0 * scaled[i]));
  double mass = 0, sum_x = 0, sum_y = 0;
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      const double m = digit[size_t(y) * size_t(out_w) + size_t(x)];
      mass += m;
      sum_x += m * x;
      sum_y += m * y;
    }
  // mass > 0: the peak pixel is 255 after quantisation.
  const int left = centring_offset(sum_x / mass, out_w);
  const int top = centring_offset(sum_y / mass, out_h);

  MnistDigit result;
  result.inverted = scale.inverted;
  result.pixels.assign(size_t(kMnistSide) * kMnistSide, 0);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x)
      result.pixels[size_t(top + y) * kMnistSide + size_t(left + x)] =
          digit[size_t(y) * size_t(out_w) + size_t(x)];
  return result;
}

MnistDigit load_mnist_digit(const std::string& path) { return digit_of_file(load_image(path), path); }

MnistDigit decode_mnist_digit(std::string_view bytes, const std::string& name) {
  return digit_of_file(decode_image(bytes, name), name);
}

MnistDigit digit_of_file(const GrayImage& image, const std::string& path) {
  try {
    return mnist_digit_from_image(image);
  } catch (const Error& e) {
    throw FileError(path, e.what());
  }
}

}  // namespace cudamlp
