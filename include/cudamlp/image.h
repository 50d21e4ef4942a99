// Grayscale pictures: PNG (through libpng) and PGM (netpbm P2/P5) in, 8-bit grayscale PNG out. What a
// user drew or photographed goes through here on its way to mnist_digit.h's preprocessing; the report
// embeds the misclassified test digits as PNGs made here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cudamlp {

struct GrayImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // [height, width] row-major; 0 = black, 255 = white
};

// Largest picture accepted: 2^26 pixels (8192 x 8192, a 64 MiB buffer), far beyond any drawing or
// phone photo. A header that claims more is refused before anything is allocated.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// A PNG or PGM file, recognised by its first bytes (not its name). Colour becomes gray (libpng's
// sRGB luminance), 16-bit samples become 8-bit, a palette is expanded, and transparency is composited
// onto white (a drawing on a transparent canvas is ink on paper). Every problem, from an unreadable
// file to a truncated or corrupt stream, throws FileError naming the file; nothing is half-decoded.
GrayImage load_image(const std::string& path);

// The same from bytes in memory (a picture read from a pipe); `name` is the file name the errors carry.
GrayImage decode_image(std::string_view bytes, const std::string& name);

// A PNG from bytes in memory; `name` is the file name the errors carry.
GrayImage decode_png(std::string_view bytes, const std::string& name);
// PGM ("portable graymap"): P5 (binary, 1 or 2 bytes per sample) or P2 (decimal text), '#' comments in
// the header, any maxval in [1, 65535] rescaled to 0..255.
GrayImage decode_pgm(std::string_view bytes, const std::string& name);

// An 8-bit grayscale PNG of image (libpng, default compression). Throws Error if libpng fails.
std::string encode_png(const GrayImage& image);

}  // namespace cudamlp
