// Pictures the tests draw themselves; see test_pictures.h.
#include "test_pictures.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "cudamlp/rng.h"

namespace cudamlp::testing {

namespace {

double distance_to_segment(Point p, Point a, Point b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double length2 = dx * dx + dy * dy;
  const double t = length2 > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / length2, 0.0, 1.0) : 0.0;
  const double ex = p.x - (a.x + t * dx), ey = p.y - (a.y + t * dy);
  return std::sqrt(ex * ex + ey * ey);
}

std::string be32_bytes(uint32_t value) {
  std::string bytes(4, '\0');
  for (int i = 0; i < 4; ++i) bytes[size_t(i)] = char((value >> (24 - 8 * i)) & 0xFF);
  return bytes;
}

int channels_of(PngColour colour) {
  switch (colour) {
    case kPngGray:
      return 1;
    case kPngRgb:
      return 3;
    case kPngPalette:
      return 1;
    case kPngGrayAlpha:
      return 2;
    case kPngRgba:
      return 4;
  }
  return 1;
}

}  // namespace

Canvas::Canvas(int width, int height)
    : width_(width), height_(height), coverage_(size_t(width) * size_t(height), 0.0) {}

void Canvas::stroke(const std::vector<Point>& points, double thickness) {
  constexpr int kSub = 4;  // 4x4 samples per pixel
  const double radius = thickness / 2;
  for (int y = 0; y < height_; ++y)
    for (int x = 0; x < width_; ++x) {
      int inside = 0;
      for (int sy = 0; sy < kSub; ++sy)
        for (int sx = 0; sx < kSub; ++sx) {
          const Point p = {x + (sx + 0.5) / kSub, y + (sy + 0.5) / kSub};
          for (size_t i = 0; i + 1 < points.size(); ++i)
            if (distance_to_segment(p, points[i], points[i + 1]) <= radius) {
              ++inside;
              break;
            }
        }
      double& c = coverage_[size_t(y) * size_t(width_) + size_t(x)];
      c = std::max(c, double(inside) / (kSub * kSub));
    }
}

void Canvas::fill(int x0, int y0, int x1, int y1) {
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) coverage_[size_t(y) * size_t(width_) + size_t(x)] = 1.0;
}

GrayImage Canvas::on_paper() const {
  GrayImage image{width_, height_, std::vector<uint8_t>(coverage_.size())};
  for (size_t i = 0; i < coverage_.size(); ++i)
    image.pixels[i] = uint8_t(std::lround(255.0 * (1.0 - coverage_[i])));
  return image;
}

GrayImage drawn_digit(char digit, int width, int height) {
  // Shapes in a 200 x 300 frame, scaled to the canvas; strokes about a ninth of the digit's height,
  // like a felt pen on a drawing app's canvas.
  const double sx = width / 200.0, sy = height / 300.0;
  const auto at = [&](double x, double y) { return Point{x * sx, y * sy}; };
  const double pen = 22 * std::min(sx, sy);
  Canvas canvas(width, height);
  switch (digit) {
    case '1':
      canvas.stroke({at(112, 40), at(96, 240)}, pen);
      break;
    case '7':
      canvas.stroke({at(45, 55), at(150, 55), at(80, 245)}, pen);
      break;
    case '0': {
      std::vector<Point> ring;
      for (int i = 0; i <= 64; ++i) {
        const double angle = 2 * std::numbers::pi * i / 64;
        ring.push_back(at(95 + 52 * std::cos(angle), 150 + 95 * std::sin(angle)));
      }
      canvas.stroke(ring, pen);
      break;
    }
    default:
      throw std::invalid_argument(std::string("drawn_digit: no drawing of '") + digit + "'");
  }
  return canvas.on_paper();
}

GrayImage inverted(const GrayImage& image) {
  GrayImage out = image;
  for (uint8_t& p : out.pixels) p = uint8_t(255 - p);
  return out;
}

std::string png_chunk(const std::string& type, const std::string& data) {
  const std::string body = type + data;
  const auto crc = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size())));
  return be32_bytes(uint32_t(data.size())) + body + be32_bytes(crc);
}

std::string png_file(int width, int height, PngColour colour, int bit_depth, const std::vector<uint16_t>& samples,
                     const std::vector<uint8_t>& palette, const std::vector<uint8_t>& transparency) {
  const int channels = channels_of(colour);
  if (samples.size() != size_t(width) * size_t(height) * size_t(channels))
    throw std::invalid_argument("png_file: wrong number of samples");
  // Rows: a filter byte (0: none), then the samples packed big-endian at bit_depth bits each.
  std::string raw;
  const size_t per_row = size_t(width) * size_t(channels);
  for (int y = 0; y < height; ++y) {
    raw += '\0';
    uint32_t bits = 0;
    int nbits = 0;
    for (size_t i = 0; i < per_row; ++i) {
      bits = (bits << bit_depth) | samples[size_t(y) * per_row + i];
      nbits += bit_depth;
      while (nbits >= 8) {
        raw += char((bits >> (nbits - 8)) & 0xFF);
        nbits -= 8;
      }
    }
    if (nbits > 0) raw += char((bits << (8 - nbits)) & 0xFF);  // the last byte of a row is padded
  }
  uLongf compressed_size = compressBound(uLong(raw.size()));
  std::string compressed(compressed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()), 6) != Z_OK)
    throw std::runtime_error("png_file: compress2 failed");
  compressed.resize(compressed_size);

  std::string ihdr = be32_bytes(uint32_t(width)) + be32_bytes(uint32_t(height));
  ihdr += char(bit_depth);
  ihdr += char(colour);
  ihdr += std::string(3, '\0');  // compression, filter, interlace methods
  std::string file = "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", ihdr);
  if (!palette.empty()) file += png_chunk("PLTE", std::string(palette.begin(), palette.end()));
  if (!transparency.empty()) file += png_chunk("tRNS", std::string(transparency.begin(), transparency.end()));
  return file + png_chunk("IDAT", compressed) + png_chunk("IEND", "");
}

std::string gray_png(const GrayImage& image) {
  return png_file(image.width, image.height, kPngGray, 8,
                  std::vector<uint16_t>(image.pixels.begin(), image.pixels.end()));
}

std::string pgm_file(const GrayImage& image) {
  return "P5\n" + std::to_string(image.width) + " " + std::to_string(image.height) + "\n255\n" +
         std::string(image.pixels.begin(), image.pixels.end());
}

std::string band_digits_csv(int n, bool labelled, uint64_t seed, std::vector<int>* labels) {
  std::string text = labelled ? "label" : "";
  for (int i = 0; i < 784; ++i) text += (i == 0 && !labelled ? "pixel" : ",pixel") + std::to_string(i);
  text += "\n";
  Rng rng(seed);
  for (int s = 0; s < n; ++s) {
    const int c = int(rng.below(10));
    if (labels != nullptr) labels->push_back(c);
    if (labelled) text += std::to_string(c);
    for (int i = 0; i < 784; ++i) {
      const int col = i % 28;
      const int value = (col >= 2 * c && col < 2 * c + 6) ? 200 + int(rng.below(56)) : int(rng.below(30));
      text += (i == 0 && !labelled ? "" : ",") + std::to_string(value);
    }
    text += "\n";
  }
  return text;
}

}  // namespace cudamlp::testing
