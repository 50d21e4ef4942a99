// load_image: reads a picture file whole and hands it to the PNG or PGM decoder its first bytes name.
#include <ios>
#include <string>
#include <string_view>

#include "cudamlp/errors.h"
#include "cudamlp/file_kind.h"
#include "cudamlp/image.h"
#include "read_file.h"

namespace cudamlp {

namespace {

// No PNG or PGM within kMaxImagePixels needs more (a P2 file spends up to 6 bytes on a sample).
constexpr std::streamoff kMaxImageFileBytes = std::streamoff{1} << 30;

constexpr std::string_view kPngSignature = "\x89PNG\r\n\x1a\n";

}  // namespace

GrayImage load_image(const std::string& path) {
  return decode_image(read_whole_file(path, "an image", kMaxImageFileBytes,
                                      "any PNG or PGM of at most " + std::to_string(kMaxImagePixels) + " pixels needs"),
                      path);
}

GrayImage decode_image(std::string_view bytes, const std::string& path) {
  if (bytes.empty()) throw FileError(path, "empty file, expected a PNG or PGM image");
  if (bytes.starts_with(kPngSignature)) return decode_png(bytes, path);
  if (bytes.starts_with("P5") || bytes.starts_with("P2")) return decode_pgm(bytes, path);
  if (bytes.size() < kPngSignature.size() && kPngSignature.starts_with(bytes))
    throw FileError(path, "truncated PNG: the file ends inside the 8-byte signature");
  const FileKind kind = file_kind(bytes);
  if (kind != FileKind::kUnknown)
    throw FileError(path, std::string("not a PNG or PGM image: this is ") + file_kind_name(kind));
  throw FileError(path, "not a PNG or PGM image (it does not start with the PNG signature, P5 or P2)");
}

}  // namespace cudamlp
