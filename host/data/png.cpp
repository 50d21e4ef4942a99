// PNG in and out through libpng's "simplified API" (png_image_*, libpng >= 1.6). It does every colour
// conversion we need in one call (palette, 1..16-bit, RGB -> gray, alpha composited onto a background),
// and it keeps libpng's setjmp/longjmp error handling inside libpng: a corrupt or truncated file makes
// a call return 0 with a message, and no longjmp ever crosses a C++ frame of ours (which would skip
// destructors). png_image_free releases libpng's state on every path; it is safe to call twice.
#include <png.h>

#include <cstring>
#include <string>

#include "cudamlp/errors.h"
#include "cudamlp/image.h"

namespace cudamlp {

namespace {

// Frees what libpng holds in image on scope exit, whichever way the scope is left.
class PngImageGuard {
 public:
  explicit PngImageGuard(png_image& image) : image_(image) {}
  ~PngImageGuard() { png_image_free(&image_); }
  PngImageGuard(const PngImageGuard&) = delete;
  PngImageGuard& operator=(const PngImageGuard&) = delete;

 private:
  png_image& image_;
};

png_image blank_png_image() {
  png_image image;
  std::memset(&image, 0, sizeof image);  // libpng requires opaque == NULL and zeroed fields
  image.version = PNG_IMAGE_VERSION;
  return image;
}

}  // namespace

GrayImage decode_png(std::string_view bytes, const std::string& name) {
  png_image image = blank_png_image();
  PngImageGuard guard(image);
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
    throw FileError(name, std::string("not a readable PNG: ") + image.message);
  if (image.width == 0 || image.height == 0)  // libpng refuses these already; kept for clarity
    throw FileError(name, "PNG has no pixels (0 width or height)");
  const int64_t pixels = int64_t{image.width} * int64_t{image.height};
  if (pixels > kMaxImagePixels)
    throw FileError(name, "PNG is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                              ", more than the limit of " + std::to_string(kMaxImagePixels) + " pixels");

  // 16-bit samples without gamma information are taken to be sRGB like 8-bit ones (libpng's default
  // reads them as linear light, which would make a 16-bit drawing lighter than the same one in 8 bits).
  image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  image.format = PNG_FORMAT_GRAY;
  const png_color white = {255, 255, 255};  // the background transparency is composited onto
  GrayImage gray;
  gray.width = int(image.width);
  gray.height = int(image.height);
  gray.pixels.resize(size_t(pixels));  // [height, width]
  if (!png_image_finish_read(&image, &white, gray.pixels.data(), 0 /* rows packed */, nullptr))
    throw FileError(name, std::string("corrupt or truncated PNG: ") + image.message);
  return gray;
}

std::string encode_png(const GrayImage& image) {
  if (image.width < 1 || image.height < 1 || image.pixels.size() != size_t(image.width) * size_t(image.height))
    throw Error("encode_png: " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                " image with " + std::to_string(image.pixels.size()) + " pixels");
  png_image png = blank_png_image();
  PngImageGuard guard(png);
  png.width = png_uint_32(image.width);
  png.height = png_uint_32(image.height);
  png.format = PNG_FORMAT_GRAY;
  // First call measures, second writes (the documented way to size the buffer).
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.pixels.data(), 0, nullptr))
    throw Error(std::string("encode_png: ") + png.message);
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&png, bytes.data(), &size, 0, image.pixels.data(), 0, nullptr))
    throw Error(std::string("encode_png: ") + png.message);
  bytes.resize(size);
  return bytes;
}

}  // namespace cudamlp
