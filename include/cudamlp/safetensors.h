// safetensors files (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
// N bytes of JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian tensor bytes. We write F32; we read F32 and F64 (converted to float).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cudamlp {

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, product(shape) elements
};

struct SafetensorsFile {
  std::vector<Tensor> tensors;                   // in file order
  std::map<std::string, std::string> metadata;   // "__metadata__"
  const Tensor* find(const std::string& name) const;  // nullptr when absent
};

// Largest header accepted (the format's own reference implementation uses the same bound).
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

// Writes atomically (see write_file_atomically): a crash leaves either the old file or the new one.
void write_safetensors(const std::string& path, const SafetensorsFile& file);

// Reads and validates everything: header length within bounds and inside the file, valid JSON of the
// expected shape, supported dtypes, shapes whose byte size matches data_offsets, offsets inside the data
// section, no overlaps and no gaps. Throws FileError naming the file and the problem.
SafetensorsFile read_safetensors(const std::string& path);

// Writes bytes to path.tmp-<pid>, fsyncs it, renames it over path and fsyncs the folder. On any failure
// the temporary file is removed, the old file at path is untouched, and FileError names path.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace cudamlp
