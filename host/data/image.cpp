// load_image: reads a picture file whole and hands it to the PNG or PGM decoder its first bytes name.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "cudamlp/errors.h"
#include "cudamlp/image.h"

namespace cudamlp {

namespace {

// No PNG or PGM within kMaxImagePixels needs more (a P2 file spends up to 6 bytes on a sample).
constexpr std::streamoff kMaxImageFileBytes = std::streamoff{1} << 30;

constexpr std::string_view kPngSignature = "\x89PNG\r\n\x1a\n";

std::string read_image_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw FileError(path, "is a folder, not an image");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, std::string("cannot open: ") + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) throw FileError(path, "cannot tell the file size");
  if (size > kMaxImageFileBytes)
    throw FileError(path, std::to_string(size) + " bytes, more than any PNG or PGM of at most " +
                              std::to_string(kMaxImagePixels) + " pixels needs");
  std::string bytes(size_t(size), '\0');
  in.read(bytes.data(), size);
  if (in.gcount() != size) throw FileError(path, "read failed after " + std::to_string(in.gcount()) + " bytes");
  return bytes;
}

}  // namespace

GrayImage load_image(const std::string& path) {
  const std::string bytes = read_image_file(path);
  if (bytes.empty()) throw FileError(path, "empty file, expected a PNG or PGM image");
  if (bytes.starts_with(kPngSignature)) return decode_png(bytes, path);
  if (bytes.starts_with("P5") || bytes.starts_with("P2")) return decode_pgm(bytes, path);
  if (bytes.size() < kPngSignature.size() && kPngSignature.starts_with(bytes))
    throw FileError(path, "truncated PNG: the file ends inside the 8-byte signature");
  throw FileError(path, "not a PNG or PGM image (it does not start with the PNG signature, P5 or P2)");
}

}  // namespace cudamlp
