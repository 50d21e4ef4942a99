// safetensors files (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
// N bytes of JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
// then the raw little-endian tensor bytes. We write F32; we read F32 and F64 (converted to float).
#pragma once

#include <cstdint>
#include <map>
#include <string>
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

// Writes atomically (write_file_atomically, atomic_file.h): a crash leaves either the old file or the new one.
void write_safetensors(const std::string& path, const SafetensorsFile& file);

// Reads and validates everything: header length within bounds and inside the file, valid JSON of the
// expected shape, supported dtypes, shapes whose byte size matches data_offsets, offsets inside the data
// section, no overlaps and no gaps. Throws FileError naming the file and the problem.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace cudamlp
