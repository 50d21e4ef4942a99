// PGM, the netpbm graymap (https://netpbm.sourceforge.net/doc/pgm.html), read by hand: it is a few lines.
//   "P5" or "P2", then width, height and maxval as decimal text separated by whitespace, '#' comments
//   allowed between them; one whitespace character; then width*height samples, 0 = black, maxval = white:
//   P5: binary, 1 byte per sample (maxval < 256) or 2 bytes big-endian; P2: decimal text.
// Only whitespace may follow the samples (a file of several concatenated images is refused).
#include <charconv>
#include <string>

#include "cudamlp/errors.h"
#include "cudamlp/image.h"
#include "format.h"

namespace cudamlp {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Reads the text tokens of a PGM: decimal numbers between whitespace and '#' comments.
class PgmScanner {
 public:
  PgmScanner(std::string_view bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  // The next number, which must be in [min, max]. Errors name it `what` ("width"), or "sample <index>"
  // with index >= 0 (built only on error: a P2 file has one number per pixel).
  int64_t number(const char* what, int64_t min, int64_t max, int64_t index = -1) {
    skip_space_and_comments();
    if (at_ >= bytes_.size())
      throw FileError(name_, "PGM ends before its " + label(what, index) + " (file cut short?)");
    int64_t value = 0;
    const char* begin = bytes_.data() + at_;
    const char* end = bytes_.data() + bytes_.size();
    const auto [next, error] = std::from_chars(begin, end, value);
    if (error == std::errc::invalid_argument || (next != end && !is_space(*next) && *next != '#'))
      throw FileError(name_, "PGM " + label(what, index) + " is not a number: " + quoted_excerpt(token(begin, end)));
    if (error == std::errc::result_out_of_range || value < min || value > max)
      throw FileError(name_, "PGM " + label(what, index) + " " + excerpt(token(begin, end)) + " is outside [" +
                                 std::to_string(min) + ", " + std::to_string(max) + "]");
    at_ = size_t(next - bytes_.data());
    return value;
  }

  // After maxval exactly one whitespace character separates the header from P5's binary samples.
  void single_space() {
    if (at_ >= bytes_.size() || !is_space(bytes_[at_]))
      throw FileError(name_, "PGM header does not end with a whitespace character after maxval");
    ++at_;
  }

  void only_space_follows(const std::string& what) {
    while (at_ < bytes_.size() && is_space(bytes_[at_])) ++at_;
    if (at_ < bytes_.size())
      throw FileError(name_, "trailing bytes after the " + what + " (several images in one file?)");
  }

  size_t position() const { return at_; }
  void advance(size_t n) { at_ += n; }

 private:
  void skip_space_and_comments() {
    while (at_ < bytes_.size()) {
      if (is_space(bytes_[at_])) {
        ++at_;
      } else if (bytes_[at_] == '#') {
        while (at_ < bytes_.size() && bytes_[at_] != '\n' && bytes_[at_] != '\r') ++at_;
      } else {
        return;
      }
    }
  }

  static std::string label(const char* what, int64_t index) {
    return index < 0 ? what : std::string(what) + " " + std::to_string(index);
  }

  // The token that starts at begin: up to the next whitespace (a message quotes an excerpt of it).
  static std::string_view token(const char* begin, const char* end) {
    const char* stop = begin;
    while (stop < end && !is_space(*stop)) ++stop;
    return std::string_view(begin, size_t(stop - begin));
  }

  std::string_view bytes_;
  const std::string& name_;
  size_t at_ = 2;  // past the magic "P5" / "P2"
};

}  // namespace

GrayImage decode_pgm(std::string_view bytes, const std::string& name) {
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '2'))
    throw FileError(name, "not a PGM image (expected it to start with P5 or P2)");
  const bool binary = bytes[1] == '5';
  PgmScanner scan(bytes, name);
  const int64_t width = scan.number("width", 1, kMaxImagePixels);
  const int64_t height = scan.number("height", 1, kMaxImagePixels);
  if (width * height > kMaxImagePixels)
    throw FileError(name, "PGM is " + std::to_string(width) + "x" + std::to_string(height) +
                              ", more than the limit of " + std::to_string(kMaxImagePixels) + " pixels");
  const int64_t maxval = scan.number("maxval", 1, 65535);

  GrayImage image;
  image.width = int(width);
  image.height = int(height);
  const size_t count = size_t(width * height);
  image.pixels.resize(count);  // [height, width]
  // 0..maxval -> 0..255, rounded to nearest.
  const auto rescale = [maxval](int64_t value) { return uint8_t((value * 255 + maxval / 2) / maxval); };

  if (binary) {
    scan.single_space();
    const size_t sample_bytes = maxval < 256 ? 1 : 2;
    const size_t available = bytes.size() - scan.position();
    if (available < count * sample_bytes)
      throw FileError(name, "truncated PGM: " + std::to_string(width) + "x" + std::to_string(height) + " needs " +
                                std::to_string(count * sample_bytes) + " bytes of samples, the file has " +
                                std::to_string(available));
    const auto* samples = reinterpret_cast<const uint8_t*>(bytes.data() + scan.position());
    for (size_t i = 0; i < count; ++i) {
      const int64_t value = sample_bytes == 1 ? samples[i] : int64_t{samples[2 * i]} << 8 | samples[2 * i + 1];
      if (value > maxval)
        throw FileError(name, "PGM sample " + std::to_string(i) + " is " + std::to_string(value) +
                                  ", above maxval " + std::to_string(maxval));
      image.pixels[i] = rescale(value);
    }
    scan.advance(count * sample_bytes);
  } else {
    for (size_t i = 0; i < count; ++i) image.pixels[i] = rescale(scan.number("sample", 0, maxval, int64_t(i)));
  }
  scan.only_space_follows(std::to_string(width) + "x" + std::to_string(height) + " samples");
  return image;
}

}  // namespace cudamlp
