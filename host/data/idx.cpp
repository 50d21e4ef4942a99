// IDX readers (the MNIST file format), plain or gzip-compressed: load_idx_images, load_idx_labels,
// load_idx. Layout of an IDX file, all integers big-endian:
//   magic   u32  0x0000TTDD: TT = element type (0x08 = unsigned byte), DD = number of dims
//   dims    u32 x DD
//   data    u8 x prod(dims), row-major
// The header is untrusted: what it claims is checked against the memory budget (memory_budget.h) and,
// for a plain file, against the bytes the file has left, before anything is allocated for it; and data
// are read in growing chunks, so a corrupt header can never make us allocate more than the file really
// holds. For gzip data the header is all there is to go by until the end: a gzip bomb whose header
// claims more than the budget is refused up front, naming the file and the bytes, and one whose
// header claims less is read only as far as the header says. Plain or gzip: gzip_or_plain_file.h.
#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cudamlp/dataset.h"
#include "cudamlp/errors.h"
#include "cudamlp/file_kind.h"
#include "cudamlp/memory_budget.h"
#include "gzip_or_plain_file.h"

namespace cudamlp {

namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dims [N, rows, cols]
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dim [N]
// Limits that no real image dataset reaches but a corrupt header easily does.
constexpr uint64_t kMaxImagePixels = uint64_t{1} << 20;  // rows * cols: a 1024x1024 image
// Reading grows the buffer by at least this much at a time (and at most doubles it).
constexpr size_t kReadChunk = size_t{1} << 20;

// Appends up to n bytes of in to out. The buffer grows only as data arrive (never more than doubling),
// so a header claiming 16 GiB over a 100-byte file allocates about 1 MiB, not 16 GiB.
void read_append(GzipOrPlainFile& in, std::vector<uint8_t>& out, uint64_t n) {
  uint64_t left = n;
  while (left > 0) {
    const size_t step = static_cast<size_t>(std::min<uint64_t>(left, std::max(kReadChunk, out.size())));
    const size_t old_size = out.size();
    out.reserve(old_size + step);  // exact, so the final size needs no spare capacity
    out.resize(old_size + step);
    const size_t got = in.read(out.data() + old_size, step);
    out.resize(old_size + got);
    if (got < step) return;
    left -= step;
  }
}

bool at_end(GzipOrPlainFile& in) {
  uint8_t byte = 0;
  return in.read(&byte, 1) == 0;
}

std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

// Reads the magic and `ndims` big-endian dims; checks the magic against `expected_magic`.
template <size_t ndims>
std::array<uint32_t, ndims> read_header(GzipOrPlainFile& in, const std::string& path, uint32_t expected_magic,
                                        const char* what) {
  constexpr size_t header_bytes = 4 * (1 + ndims);
  uint8_t bytes[header_bytes];
  const size_t got = in.read(bytes, header_bytes);
  if (got == 0) throw FileError(path, std::string("empty file, expected an IDX ") + what + " file");
  auto u32_at = [&](size_t offset) {
    return uint32_t{bytes[offset]} << 24 | uint32_t{bytes[offset + 1]} << 16 | uint32_t{bytes[offset + 2]} << 8 |
           uint32_t{bytes[offset + 3]};
  };
  if (got < 4)
    throw FileError(path, "truncated header: " + std::to_string(got) + " bytes, an IDX " + what +
                              " header has " + std::to_string(header_bytes));
  const uint32_t magic = u32_at(0);
  if (magic != expected_magic) {
    std::string problem = "bad magic " + hex32(magic) + ", expected " + hex32(expected_magic) + " (IDX " + what +
                          ": unsigned bytes, " + std::to_string(ndims) + (ndims == 1 ? " dim)" : " dims)");
    const FileKind kind = file_kind(std::string_view(reinterpret_cast<const char*>(bytes), got));
    if (kind != FileKind::kUnknown) problem += std::string("; this is ") + file_kind_name(kind);
    throw FileError(path, problem);
  }
  if (got < header_bytes)
    throw FileError(path, "truncated header: " + std::to_string(got) + " bytes, an IDX " + what +
                              " header has " + std::to_string(header_bytes));
  std::array<uint32_t, ndims> dims{};
  for (size_t i = 0; i < ndims; ++i) dims[i] = u32_at(4 * (i + 1));
  return dims;
}

FileError truncated(const std::string& path, uint64_t bytes, const char* what, uint64_t has) {
  return FileError(path, "truncated: header says " + std::to_string(bytes) + " bytes of " + what + ", file has " +
                             std::to_string(has));
}

// Refuses what the header claims, `bytes` of `what` ("268435456 images of 4x4"), before anything is
// allocated for it: more than a plain file has left is a truncated file (said so even on a machine whose
// memory could not hold the claim, since that is the real problem), more than the memory budget is named
// with its bytes. Within kMaxMemoryBytes only: beyond it the claim is refused as too large either way.
void check_claim(const GzipOrPlainFile& in, const std::string& path, uint64_t bytes, const char* what,
                 const std::string& claim) {
  const std::optional<uint64_t> left = in.plain_bytes_left();
  if (left && bytes > *left && bytes <= kMaxMemoryBytes) throw truncated(path, bytes, what, *left);
  const std::string problem = memory_problem(bytes);
  if (!problem.empty()) throw FileError(path, "header says " + claim + ": " + problem);
}

// Reads exactly `bytes` data bytes after the header into out, then checks nothing follows them.
void read_body(GzipOrPlainFile& in, const std::string& path, uint64_t bytes, const char* what, std::vector<uint8_t>& out) {
  read_append(in, out, bytes);
  if (out.size() < bytes) throw truncated(path, bytes, what, out.size());
  if (!at_end(in))
    throw FileError(path, "trailing bytes after the " + std::to_string(bytes) + " bytes of " + what +
                              " the header describes");
}

void check_num_classes(int num_classes) {
  // Labels are stored as uint8, so more than 256 classes cannot be represented.
  if (num_classes < 1 || num_classes > 256)
    throw UsageError("number of classes must be in 1..256, got " + std::to_string(num_classes));
}

}  // namespace

Dataset load_idx_images(const std::string& path) {
  GzipOrPlainFile in(path, "an IDX file");
  const auto [n, rows, cols] = read_header<3>(in, path, kImagesMagic, "images");
  if (rows == 0 || cols == 0)
    throw FileError(path, "header says images are " + std::to_string(rows) + "x" + std::to_string(cols) +
                              ", rows and cols must be at least 1");
  const uint64_t image_pixels = uint64_t{rows} * cols;
  if (image_pixels > kMaxImagePixels)
    throw FileError(path, "header says images are " + std::to_string(rows) + "x" + std::to_string(cols) +
                              ", more than the limit of " + std::to_string(kMaxImagePixels) + " pixels per image");
  const uint64_t pixel_bytes = uint64_t{n} * image_pixels;  // < 2^52, no overflow
  check_claim(in, path, pixel_bytes, "pixel data",
              std::to_string(n) + " images of " + std::to_string(rows) + "x" + std::to_string(cols));
  Dataset data;
  data.count = n;
  data.rows = static_cast<int>(rows);  // <= 2^20 by the check above
  data.cols = static_cast<int>(cols);
  read_body(in, path, pixel_bytes, "pixel data", data.pixels);  // pixels: [N, rows * cols]
  return data;
}

std::vector<uint8_t> load_idx_labels(const std::string& path) {
  GzipOrPlainFile in(path, "an IDX file");
  const auto [n] = read_header<1>(in, path, kLabelsMagic, "labels");
  check_claim(in, path, n, "labels", std::to_string(n) + " labels");
  std::vector<uint8_t> labels;  // [N]; n < 2^32, and read_body only allocates what the file holds
  read_body(in, path, n, "labels", labels);
  return labels;
}

Dataset load_idx(const std::string& images_path, const std::string& labels_path, int num_classes) {
  check_num_classes(num_classes);
  Dataset data = load_idx_images(images_path);
  // The readers accept N = 0 (a valid IDX file), but nothing can be trained or scored on it.
  if (data.count == 0) throw FileError(images_path, "no samples: the header says 0 images");
  data.labels = load_idx_labels(labels_path);
  data.num_classes = num_classes;
  if (static_cast<int64_t>(data.labels.size()) != data.count)
    throw FileError(labels_path, "has " + std::to_string(data.labels.size()) + " labels but " + images_path +
                                     " has " + std::to_string(data.count) + " images");
  for (size_t i = 0; i < data.labels.size(); ++i)
    if (data.labels[i] >= num_classes)
      throw FileError(labels_path, "label " + std::to_string(data.labels[i]) + " at index " + std::to_string(i) +
                                       " is not < " + std::to_string(num_classes) + " classes");
  return data;
}

}  // namespace cudamlp
