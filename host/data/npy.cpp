// NumPy .npy reader (npy.h). Layout of a .npy file (numpy.lib.format):
//   magic     6 bytes  "\x93NUMPY"
//   version   2 bytes  major, minor: 1.0, 2.0 or 3.0
//   hlen      u16 LE (1.0) or u32 LE (2.0, 3.0)
//   header    hlen bytes: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }
//             padded with spaces and ending in '\n' (3.0: UTF-8; its keys and values are ASCII anyway)
//   data      prod(shape) items of the dtype, C order (fortran_order False) or Fortran order
// The header is parsed strictly: exactly those three keys, each once, values of their type.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cudamlp/errors.h"
#include "cudamlp/file_kind.h"
#include "cudamlp/npy.h"
#include "format.h"
#include "read_file.h"

namespace cudamlp {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
// numpy itself refuses headers over 10000 bytes unless told otherwise; ours are ~128.
constexpr uint32_t kMaxHeaderBytes = 10000;
// Values per sample, as the IDX reader's limit on pixels per image: no real dataset's sample is larger.
constexpr uint64_t kMaxSampleValues = uint64_t{1} << 20;

// A dtype as the header spells it: byte order '<', '>', '|' (not applicable) or '=' (native), a kind
// ('u' unsigned, 'i' signed, 'f' float, 'b' bool, 'O' object, ...) and the item size in bytes.
struct Dtype {
  std::string text;
  char order = 0;
  char kind = 0;
  int size = 0;
};

struct NpyHeader {
  Dtype dtype;
  bool fortran_order = false;
  std::vector<uint64_t> shape;
  std::string_view data;  // the bytes after the header
};

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

// A cursor over the header's dict literal; each error names the file and quotes where it stopped.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw FileError(name_, "has a .npy header that is not numpy's: " + problem + " at " +
                               quoted_excerpt(text_.substr(at_)));
  }
  void skip_spaces() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n')) ++at_;
  }
  bool take(char c) {
    skip_spaces();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!take(c)) fail(std::string("expected '") + c + "'");
  }
  bool at_end() {
    skip_spaces();
    return at_ == text_.size();
  }
  bool next_is(char c) {
    skip_spaces();
    return at_ < text_.size() && text_[at_] == c;
  }
  // A Python string literal in single or double quotes, without escapes (numpy writes none).
  std::string string_literal() {
    skip_spaces();
    if (at_ >= text_.size() || (text_[at_] != '\'' && text_[at_] != '"')) fail("expected a string");
    const char quote = text_[at_++];
    const size_t end = text_.find(quote, at_);
    if (end == std::string_view::npos) fail("unterminated string");
    const std::string value(text_.substr(at_, end - at_));
    if (value.find('\\') != std::string::npos) fail("a string with escapes");
    at_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_spaces();
    for (const auto& [word, value] : {std::pair{std::string_view("True"), true}, {std::string_view("False"), false}})
      if (text_.substr(at_, word.size()) == word) {
        at_ += word.size();
        return value;
      }
    fail("expected True or False");
  }
  // A tuple of non-negative integers: (), (3,), (3, 4), (3, 4,).
  std::vector<uint64_t> shape() {
    expect('(');
    std::vector<uint64_t> dims;
    while (!take(')')) {
      skip_spaces();
      if (at_ >= text_.size() || text_[at_] < '0' || text_[at_] > '9') fail("expected a dimension");
      uint64_t value = 0;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
        if (value > (uint64_t{1} << 58)) fail("a dimension beyond 2^58");
        value = value * 10 + uint64_t(text_[at_++] - '0');
      }
      dims.push_back(value);
      if (dims.size() > 32) fail("more than 32 dimensions");
      if (!take(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }

 private:
  std::string_view text_;
  const std::string& name_;
  size_t at_ = 0;
};

Dtype parse_dtype(const std::string& text, const std::string& name) {
  Dtype dtype;
  dtype.text = text;
  if (text.size() < 2) throw FileError(name, "has dtype '" + text + "', which is no numpy dtype cudamlp reads");
  dtype.order = text[0];
  dtype.kind = text[1];
  int size = 0;
  for (size_t i = 2; i < text.size() && i < 6; ++i) {
    if (text[i] < '0' || text[i] > '9') { size = -1; break; }
    size = size * 10 + (text[i] - '0');
  }
  dtype.size = text.size() > 2 && text.size() <= 5 ? size : -1;
  return dtype;
}

// Reads the magic, version and header of a .npy file and checks its data length against the shape.
NpyHeader parse_header(std::string_view bytes, const std::string& name) {
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic)
    throw FileError(name, "is " + std::string(file_kind_name(file_kind(bytes.substr(0, kFileKindBytes)))) +
                              ", not a .npy file (no \\x93NUMPY magic)");
  if (bytes.size() < 10) throw FileError(name, "is truncated in its .npy header");
  const int major = uint8_t(bytes[6]), minor = uint8_t(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    throw FileError(name, "is .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                              "; cudamlp reads 1.0, 2.0 and 3.0");
  const size_t prefix = major == 1 ? 10 : 12;
  if (bytes.size() < prefix) throw FileError(name, "is truncated in its .npy header");
  uint32_t header_bytes = 0;
  for (size_t i = 0; i < prefix - 8; ++i) header_bytes |= uint32_t(uint8_t(bytes[8 + i])) << (8 * i);
  if (header_bytes > kMaxHeaderBytes)
    throw FileError(name, "has a .npy header of " + std::to_string(header_bytes) + " bytes, more than " +
                              std::to_string(kMaxHeaderBytes) + " (numpy's own limit)");
  if (bytes.size() < prefix + header_bytes)
    throw FileError(name, "is truncated in its .npy header (" + std::to_string(header_bytes) + " bytes declared, " +
                              std::to_string(bytes.size() - prefix) + " there)");
  const std::string_view text = bytes.substr(prefix, header_bytes);
  if (text.empty() || text.back() != '\n') throw FileError(name, "has a .npy header that does not end in a newline");

  HeaderParser parser(text, name);
  NpyHeader header;
  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<std::vector<uint64_t>> shape;
  parser.expect('{');
  while (!parser.take('}')) {
    const std::string key = parser.string_literal();
    parser.expect(':');
    if (key == "descr" && !descr) {
      if (parser.next_is('[')) throw FileError(name, "has a structured dtype (a list of fields); cudamlp reads "
                                                     "plain uint8 or float32 arrays");
      descr = parser.string_literal();
    } else if (key == "fortran_order" && !fortran) {
      fortran = parser.boolean();
    } else if (key == "shape" && !shape) {
      shape = parser.shape();
    } else {
      parser.fail("key " + quoted_excerpt(key) + (key == "descr" || key == "fortran_order" || key == "shape"
                                                     ? " twice"
                                                     : " is none of descr, fortran_order, shape"));
    }
    if (!parser.take(',')) {
      parser.expect('}');
      break;
    }
  }
  if (!parser.at_end()) parser.fail("text after the dict");
  if (!descr || !fortran || !shape) throw FileError(name, "has a .npy header without descr, fortran_order and shape");
  header.dtype = parse_dtype(*descr, name);
  header.fortran_order = *fortran;
  header.shape = std::move(*shape);
  header.data = bytes.substr(prefix + header_bytes);
  return header;
}

// Checks that the data hold exactly prod(shape) items of item_size bytes; the product is formed only
// while it stays within the file, so a huge claimed shape never overflows or allocates.
void check_data_length(const NpyHeader& header, const std::string& name) {
  const uint64_t have = header.data.size();
  uint64_t need = uint64_t(header.dtype.size);
  bool beyond = false;
  for (const uint64_t dim : header.shape) {
    if (dim == 0) throw FileError(name, "has the empty shape " + shape_text(header.shape) + ": no samples or values");
    if (need > have / dim) beyond = true;  // need * dim > have: the file cannot hold it
    else need *= dim;
  }
  if (beyond)
    throw FileError(name, "is truncated: shape " + shape_text(header.shape) + " of '" + header.dtype.text +
                              "' needs more than the " + std::to_string(have) + " bytes of data it has");
  if (need > have)
    throw FileError(name, "is truncated: shape " + shape_text(header.shape) + " of '" + header.dtype.text + "' needs " +
                              std::to_string(need) + " bytes of data, it has " + std::to_string(have));
  if (need < have)
    throw FileError(name, "has " + std::to_string(have - need) + " bytes after the " + std::to_string(need) +
                              " bytes of data its shape " + shape_text(header.shape) + " needs (trailing bytes)");
}

// The words for a dtype cudamlp does not read, with the way out.
std::string dtype_problem(const Dtype& dtype, const std::string& wanted) {
  if (dtype.kind == 'O') return "is an object array ('" + dtype.text + "'); cudamlp reads " + wanted;
  if (dtype.order == '>' && dtype.size > 1)
    return "has big-endian dtype '" + dtype.text + "'; cudamlp reads little-endian " + wanted +
           " (convert with .astype('<" + dtype.text.substr(1) + "'))";
  return "has dtype " + quoted_excerpt(dtype.text) + "; cudamlp reads " + wanted;
}

bool little_endian_or_byte(const Dtype& dtype) {
  return dtype.order == '<' || (dtype.size == 1 && dtype.order == '|');
}

// Where item i (in C order: the last axis varies fastest) of an array of `shape` (2 or 3 axes) is stored:
// i itself in C order; with fortran_order the first axis varies fastest, so [N, D]'s (n, d) is at
// n + N d and [N, H, W]'s (n, h, w) at n + N (h + H w).
uint64_t storage_index(const std::vector<uint64_t>& shape, bool fortran_order, uint64_t i) {
  if (!fortran_order) return i;
  if (shape.size() == 2) return i / shape[1] + shape[0] * (i % shape[1]);
  const uint64_t w = i % shape[2], h = (i / shape[2]) % shape[1], n = i / (shape[1] * shape[2]);
  return n + shape[0] * (h + shape[1] * w);
}

}  // namespace

Dataset parse_npy_features(std::string_view bytes, const std::string& name) {
  const NpyHeader header = parse_header(bytes, name);
  const Dtype& dtype = header.dtype;
  const bool is_uint8 = dtype.kind == 'u' && dtype.size == 1 && little_endian_or_byte(dtype);
  const bool is_float32 = dtype.kind == 'f' && dtype.size == 4 && dtype.order == '<';
  if (!is_uint8 && !is_float32) throw FileError(name, dtype_problem(dtype, "uint8 or float32 features"));
  if (header.shape.size() != 2 && header.shape.size() != 3)
    throw FileError(name, "has shape " + shape_text(header.shape) +
                              "; features are [N, D] (samples, values) or [N, H, W] (images)");
  check_data_length(header, name);
  const uint64_t N = header.shape[0];
  const uint64_t rows = header.shape.size() == 3 ? header.shape[1] : 1;
  const uint64_t cols = header.shape.back();
  if (rows * cols > kMaxSampleValues)
    throw FileError(name, "has shape " + shape_text(header.shape) + ": " + std::to_string(rows * cols) +
                              " values per sample, more than the limit of " + std::to_string(kMaxSampleValues));
  Dataset data;
  data.count = int64_t(N);
  data.rows = int(rows);
  data.cols = int(cols);
  data.num_classes = 0;  // no labels yet
  const uint64_t total = N * rows * cols;
  const char* source = header.data.data();
  if (is_uint8) {
    data.input_scale = InputScale::kPixel255;
    data.pixels.resize(size_t(total));  // [N, rows * cols]
    for (uint64_t i = 0; i < total; ++i)
      data.pixels[size_t(i)] = uint8_t(source[storage_index(header.shape, header.fortran_order, i)]);
  } else {
    data.input_scale = InputScale::kNone;
    data.features.resize(size_t(total));  // [N, rows * cols]
    for (uint64_t i = 0; i < total; ++i) {
      float value;
      std::memcpy(&value, source + 4 * storage_index(header.shape, header.fortran_order, i), 4);  // little-endian host
      if (!std::isfinite(value))
        throw FileError(name, "has a value that is not finite (" + format("%g", double(value)) + ") in sample " +
                                  std::to_string(i / (rows * cols)) + ", value " + std::to_string(i % (rows * cols)));
      data.features[size_t(i)] = value;
    }
  }
  return data;
}

NpyLabels parse_npy_labels(std::string_view bytes, const std::string& name, int num_classes) {
  const NpyHeader header = parse_header(bytes, name);
  const Dtype& dtype = header.dtype;
  const bool integer = (dtype.kind == 'u' || dtype.kind == 'i') &&
                       (dtype.size == 1 || dtype.size == 2 || dtype.size == 4 || dtype.size == 8) &&
                       little_endian_or_byte(dtype);
  if (!integer) throw FileError(name, dtype_problem(dtype, "integer labels (int8 .. int64, uint8 .. uint64)"));
  if (header.shape.size() != 1)
    throw FileError(name, "has shape " + shape_text(header.shape) + "; labels are [N], one per sample");
  check_data_length(header, name);
  const int limit = num_classes > 0 ? num_classes : kMaxClasses;
  NpyLabels result;
  result.labels.resize(size_t(header.shape[0]));
  int largest = 0;
  for (size_t i = 0; i < result.labels.size(); ++i) {
    const unsigned char* item = reinterpret_cast<const unsigned char*>(header.data.data()) + i * size_t(dtype.size);
    uint64_t bits = 0;
    for (int b = 0; b < dtype.size; ++b) bits |= uint64_t(item[b]) << (8 * b);
    const bool negative = dtype.kind == 'i' && (bits >> (8 * dtype.size - 1)) & 1;
    if (negative || bits >= uint64_t(limit)) {
      const long long shown = negative ? (long long)(bits | (dtype.size < 8 ? ~uint64_t{0} << (8 * dtype.size) : 0))
                                       : (long long)std::min<uint64_t>(bits, uint64_t{1} << 62);
      throw FileError(name, "has label " + std::to_string(shown) + " at index " + std::to_string(i) +
                                (num_classes > 0 ? ", not in [0, " + std::to_string(num_classes) + ")"
                                                 : "; labels are 0 .. 255 (cudamlp handles at most " +
                                                       std::to_string(kMaxClasses) + " classes)"));
    }
    result.labels[i] = uint8_t(bits);
    largest = std::max(largest, int(bits));
  }
  result.num_classes = num_classes > 0 ? num_classes : largest + 1;
  return result;
}

Dataset load_npy_features(const std::string& path) { return parse_npy_features(read_whole_file(path, "a .npy file"), path); }

NpyLabels load_npy_labels(const std::string& path, int num_classes) {
  return parse_npy_labels(read_whole_file(path, "a .npy file"), path, num_classes);
}

Dataset load_npy(const std::string& features_path, const std::string& labels_path, int num_classes) {
  if (num_classes < 0 || num_classes > kMaxClasses)
    throw UsageError("load_npy: " + std::to_string(num_classes) + " classes; cudamlp handles 1 to " +
                     std::to_string(kMaxClasses) + " (0: from the labels)");
  Dataset data = load_npy_features(features_path);
  NpyLabels labels = load_npy_labels(labels_path, num_classes);
  if (int64_t(labels.labels.size()) != data.count)
    throw FileError(labels_path, "has " + std::to_string(labels.labels.size()) + " labels, but " + features_path +
                                     " has " + std::to_string(data.count) + " samples");
  data.labels = std::move(labels.labels);
  data.num_classes = labels.num_classes;
  return data;
}

}  // namespace cudamlp
