// safetensors reader and writer (format: https://github.com/huggingface/safetensors, see safetensors.h).
// Layout of a file:
//   [0, 8)          N, the header length, uint64 little-endian
//   [8, 8 + N)      JSON header, padded with spaces so the data section starts 8-byte aligned
//   [8 + N, end)    data section; each tensor's data_offsets [begin, end) are relative to its start
// The reader trusts nothing in the header: every size and offset is checked against the real file
// size before it is used, so a corrupt file fails with a message instead of a huge allocation; and it
// reads the data section only after the whole header has passed, so a bad header is found at once
// however large the file. Names and values it quotes go through format.h's excerpt.
#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cudamlp/atomic_file.h"
#include "cudamlp/errors.h"
#include "cudamlp/file_kind.h"
#include "cudamlp/safetensors.h"
#include "format.h"

namespace cudamlp {

// Tensor bytes are copied straight to and from float/double, which is only right on a little-endian
// host (every machine cudamlp targets: x86-64, aarch64 Linux).
static_assert(std::endian::native == std::endian::little, "safetensors stores little-endian data");

// ordered_json keeps the header's key order, so tensors come back in the order the file lists them.
using Json = nlohmann::ordered_json;

namespace {

constexpr uint64_t kHeaderLengthBytes = 8;
constexpr uint64_t kHeaderAlignment = 8;  // the reference writer pads the header to this

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string range_text(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

}  // namespace

const Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const Tensor& tensor : tensors)
    if (tensor.name == name) return &tensor;
  return nullptr;
}

// ------------------------------------------------------------------------------------------------
// Writer

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  Json header = Json::object();
  // The reference implementation writes __metadata__ first and leaves it out when there is none.
  if (!file.metadata.empty()) {
    Json metadata = Json::object();
    for (const auto& [key, value] : file.metadata) metadata[key] = value;
    header["__metadata__"] = std::move(metadata);
  }

  uint64_t offset = 0;  // running end of the data section: tensors are laid out back to back
  std::set<std::string> names;
  for (const Tensor& tensor : file.tensors) {
    const std::string what = "cannot write tensor '" + tensor.name + "': ";
    if (tensor.name == "__metadata__") throw FileError(path, what + "the name is reserved");
    if (!names.insert(tensor.name).second) throw FileError(path, what + "the name appears twice");
    uint64_t elements = 1;
    for (int64_t dim : tensor.shape) {
      if (dim < 0) throw FileError(path, what + "negative dimension in shape " + shape_text(tensor.shape));
      elements *= static_cast<uint64_t>(dim);
    }
    if (elements != tensor.data.size())
      throw FileError(path, what + "shape " + shape_text(tensor.shape) + " needs " +
                                std::to_string(elements) + " values but it holds " +
                                std::to_string(tensor.data.size()));
    const uint64_t bytes = elements * sizeof(float);
    header[tensor.name] = {{"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }

  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // a name or metadata value that is not UTF-8
    throw FileError(path, std::string("cannot write the header: ") + e.what());
  }
  header_text.append((kHeaderAlignment - header_text.size() % kHeaderAlignment) % kHeaderAlignment, ' ');

  std::string bytes;
  bytes.reserve(kHeaderLengthBytes + header_text.size() + offset);
  const uint64_t header_length = header_text.size();
  bytes.append(reinterpret_cast<const char*>(&header_length), sizeof header_length);  // little-endian
  bytes += header_text;
  for (const Tensor& tensor : file.tensors)
    if (!tensor.data.empty())  // an empty vector's data() may be null
      bytes.append(reinterpret_cast<const char*>(tensor.data.data()), tensor.data.size() * sizeof(float));
  write_file_atomically(path, bytes);
}

// ------------------------------------------------------------------------------------------------
// Reader

namespace {

// The file, opened and measured, read a piece at a time: the header first, and the data section only once
// the header has proved that the tensors tile it, so a bad header on a file of gigabytes is found at once.
class SafetensorsInput {
 public:
  explicit SafetensorsInput(const std::string& path) : path_(path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec) throw FileError(path, "could not open: " + ec.message());
    if (!std::filesystem::is_regular_file(status)) throw FileError(path, "is not a regular file");
    in_.open(path, std::ios::binary | std::ios::ate);
    if (!in_) throw FileError(path, std::string("could not open: ") + std::strerror(errno));
    const std::streamoff size = in_.tellg();
    if (size < 0) throw FileError(path, "could not determine the file size");
    size_ = static_cast<uint64_t>(size);
  }

  uint64_t size() const { return size_; }

  // Bytes [offset, offset + n) of the file; the caller has checked that they lie inside it.
  std::string read(uint64_t offset, uint64_t n) {
    std::string bytes(static_cast<size_t>(n), '\0');
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(bytes.data(), static_cast<std::streamsize>(n));
    if (static_cast<uint64_t>(in_.gcount()) != n)
      throw FileError(path_, "could not read bytes " + range_text(offset, offset + n) + " of the " +
                                 std::to_string(size_) + "-byte file");
    return bytes;
  }

 private:
  const std::string& path_;
  std::ifstream in_;
  uint64_t size_ = 0;
};

// A file that is plainly something else (a picture, an IDX file, a CSV) is named for what it is, rather
// than read as a header length of 727905341920923785.
void check_is_safetensors(const std::string& path, std::string_view first_bytes) {
  const FileKind kind = file_kind(first_bytes);
  if (kind != FileKind::kSafetensors && kind != FileKind::kUnknown && kind != FileKind::kEmpty)
    throw FileError(path, std::string("is ") + file_kind_name(kind) + ", not a safetensors file");
}

// value as JSON text for a message, cut to an excerpt. The walk stops once the text is long enough, so a
// value nested a million deep (which dump() would recurse into) costs no more than a short one.
void append_json(const Json& value, std::string& text) {
  if (text.size() > kMaxQuotedChars) return;
  if (!value.is_structured()) {
    text += value.dump();
    return;
  }
  text += value.is_array() ? '[' : '{';
  bool first = true;
  for (auto it = value.begin(); it != value.end() && text.size() <= kMaxQuotedChars; ++it, first = false) {
    if (!first) text += ',';
    if (value.is_object()) text += Json(it.key()).dump() + ":";
    append_json(*it, text);
  }
  text += value.is_array() ? ']' : '}';
}

std::string json_excerpt(const Json& value) {
  std::string text;
  append_json(value, text);
  return excerpt(text);
}

// JSON objects may legally repeat a key, and nlohmann silently keeps the last value; a header with a
// repeated tensor name (or a repeated "dtype") is ambiguous, so the parser callback rejects it.
Json parse_header(const std::string& path, std::string_view text) {
  std::vector<std::set<std::string>> open_objects;  // keys seen so far in each enclosing object
  auto reject_repeated_keys = [&](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == Json::parse_event_t::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second)
        throw FileError(path, "header lists the key " + quoted_excerpt(key) + " twice in one object");
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), reject_repeated_keys);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    throw FileError(path, "header is not valid JSON: " + json_error_text(e.what()));
  }
}

bool is_non_negative_integer(const Json& value) { return value.is_number_unsigned(); }

// A tensor entry after validation; its bytes are read with the data section once every entry has passed.
struct TensorEntry {
  std::string name;
  std::vector<int64_t> shape;
  bool f64 = false;
  uint64_t begin = 0, end = 0;  // data_offsets, relative to the data section
};

// Checks one header entry {dtype, shape, data_offsets} against the data section's real size.
TensorEntry parse_entry(const std::string& path, const std::string& name, const Json& value,
                        uint64_t data_size) {
  const std::string tensor = "tensor " + quoted_excerpt(name);
  if (!value.is_object()) throw FileError(path, tensor + " is not a JSON object");
  for (const auto& [key, unused] : value.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw FileError(path, tensor + " has an unexpected key " + quoted_excerpt(key));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!value.contains(key)) throw FileError(path, tensor + " has no " + key);

  TensorEntry entry;
  entry.name = name;

  const Json& dtype = value["dtype"];
  if (!dtype.is_string()) throw FileError(path, tensor + " has a dtype that is not a string");
  const auto& dtype_name = dtype.get_ref<const std::string&>();
  if (dtype_name != "F32" && dtype_name != "F64")
    throw FileError(path, tensor + " has dtype " + excerpt(dtype_name) + "; cudamlp reads F32 and F64");
  entry.f64 = dtype_name == "F64";
  const uint64_t element_size = entry.f64 ? 8 : 4;

  // The element count is capped by what the data section can hold, so no product below overflows
  // once it passes this loop, and nothing is allocated from an unchecked header claim.
  const Json& shape = value["shape"];
  if (!shape.is_array()) throw FileError(path, tensor + " has a shape that is not an array");
  uint64_t elements = 1;
  bool overflow = false;
  for (const Json& dim : shape) {
    if (!is_non_negative_integer(dim) ||
        dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw FileError(path, tensor + " has shape " + json_excerpt(shape) + "; dimensions must be non-negative integers");
    const auto size = dim.get<uint64_t>();
    entry.shape.push_back(static_cast<int64_t>(size));
    overflow = overflow || __builtin_mul_overflow(elements, size, &elements);
  }
  // A zero dimension makes the count 0 even after an intermediate overflow.
  if (std::find(entry.shape.begin(), entry.shape.end(), 0) != entry.shape.end()) {
    elements = 0;
    overflow = false;
  }
  if (overflow || elements > data_size / element_size)
    throw FileError(path, tensor + " has shape " + json_excerpt(shape) + ", more elements than the " +
                              std::to_string(data_size) + "-byte data section holds");

  const Json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !is_non_negative_integer(offsets[0]) ||
      !is_non_negative_integer(offsets[1]))
    throw FileError(path, tensor + " has data_offsets " + json_excerpt(offsets) +
                              "; expected [begin, end], two non-negative integers");
  entry.begin = offsets[0].get<uint64_t>();
  entry.end = offsets[1].get<uint64_t>();
  if (entry.begin > entry.end)
    throw FileError(path, tensor + " has data_offsets " + json_excerpt(offsets) + " with end before begin");
  if (entry.end > data_size)
    throw FileError(path, tensor + " has data_offsets " + json_excerpt(offsets) + " beyond the " +
                              std::to_string(data_size) + "-byte data section");
  if (entry.end - entry.begin != elements * element_size)
    throw FileError(path, tensor + " has shape " + json_excerpt(shape) + " of " + dtype_name + ", " +
                              std::to_string(elements * element_size) + " bytes, but data_offsets " +
                              json_excerpt(offsets) + " span " + std::to_string(entry.end - entry.begin));
  return entry;
}

// The format requires the tensors to tile the data section exactly: no byte shared, none left over.
void check_tiling(const std::string& path, std::vector<const TensorEntry*> entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t covered = 0;  // the data section [0, covered) belongs to the tensors seen so far
  const TensorEntry* previous = nullptr;
  for (const TensorEntry* entry : entries) {
    if (entry->begin < covered)
      throw FileError(path, "tensors " + quoted_excerpt(previous->name) + " " +
                                range_text(previous->begin, previous->end) + " and " + quoted_excerpt(entry->name) +
                                " " + range_text(entry->begin, entry->end) +
                                " overlap in the data section");
    if (entry->begin > covered)
      throw FileError(path, "bytes " + range_text(covered, entry->begin) +
                                " of the data section belong to no tensor");
    covered = entry->end;
    previous = entry;
  }
  if (covered != data_size)
    throw FileError(path, "data section is " + std::to_string(data_size) + " bytes but the tensors end at byte " +
                              std::to_string(covered) + " (trailing bytes)");
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  SafetensorsInput in(path);
  const uint64_t file_size = in.size();
  static_assert(kFileKindBytes >= kHeaderLengthBytes, "the first bytes read hold the header length");
  const std::string head = in.read(0, std::min<uint64_t>(file_size, kFileKindBytes));
  check_is_safetensors(path, head);
  if (file_size < kHeaderLengthBytes)
    throw FileError(path, "is " + std::to_string(file_size) +
                              " bytes, too short for a safetensors file (8-byte header length first)");

  uint64_t header_length = 0;
  std::memcpy(&header_length, head.data(), sizeof header_length);  // little-endian
  if (header_length == 0) throw FileError(path, "header length is 0; expected a JSON header");
  if (header_length > kMaxSafetensorsHeader)
    throw FileError(path, "header length " + std::to_string(header_length) + " is above the limit of " +
                              std::to_string(kMaxSafetensorsHeader) + " bytes");
  if (header_length > file_size - kHeaderLengthBytes)
    throw FileError(path, "header length " + std::to_string(header_length) + " runs past the end of the " +
                              std::to_string(file_size) + "-byte file");
  const uint64_t data_start = kHeaderLengthBytes + header_length;
  const uint64_t data_size = file_size - data_start;

  const Json header = parse_header(path, in.read(kHeaderLengthBytes, header_length));
  if (!header.is_object()) throw FileError(path, "header is JSON but not an object");

  SafetensorsFile file;
  std::vector<TensorEntry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw FileError(path, "__metadata__ is not a JSON object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string())
          throw FileError(path, "__metadata__ value for " + quoted_excerpt(key) + " is " + json_excerpt(text) +
                                    ", not a string");
        file.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, name, value, data_size));
  }
  std::vector<const TensorEntry*> pointers;
  for (const TensorEntry& entry : entries) pointers.push_back(&entry);
  check_tiling(path, pointers, data_size);

  // Every size is now proven to fit in the file, so allocating from it is safe.
  const std::string data = in.read(data_start, data_size);
  for (TensorEntry& entry : entries) {
    Tensor tensor;
    tensor.name = std::move(entry.name);
    tensor.shape = std::move(entry.shape);
    const char* src = data.data() + entry.begin;
    if (entry.f64) {
      // F64 -> float rounds to nearest; values beyond float's range become +-inf.
      tensor.data.resize((entry.end - entry.begin) / sizeof(double));
      for (size_t i = 0; i < tensor.data.size(); ++i) {
        double value = 0;
        std::memcpy(&value, src + i * sizeof(double), sizeof value);
        tensor.data[i] = static_cast<float>(value);
      }
    } else {
      tensor.data.resize((entry.end - entry.begin) / sizeof(float));
      if (!tensor.data.empty()) std::memcpy(tensor.data.data(), src, tensor.data.size() * sizeof(float));
    }
    file.tensors.push_back(std::move(tensor));
  }
  return file;
}

}  // namespace cudamlp
