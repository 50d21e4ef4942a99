// libFuzzer target: the safetensors reader on arbitrary bytes, and for what it accepts, a write and
// read-back that must give the same tensors and metadata.
// Run: fuzz/run.sh (or build-fuzz/fuzz/fuzz_safetensors -dict=fuzz/safetensors.dict fuzz/corpus/safetensors).
#include <cmath>
#include <cstring>

#include "cudamlp/safetensors.h"
#include "fuzz_input.h"

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return cudamlp::fuzz::read_input(data, size, [](const std::string& path) {
    const cudamlp::SafetensorsFile file = cudamlp::read_safetensors(path);
    // Round trip through the writer (F64 tensors come back as F32, already converted on reading).
    static const std::string copy = "/dev/shm/cudamlp-fuzz-safetensors-" + std::to_string(getpid());
    cudamlp::write_safetensors(copy, file);
    const cudamlp::SafetensorsFile again = cudamlp::read_safetensors(copy);
    if (again.metadata != file.metadata || again.tensors.size() != file.tensors.size()) std::abort();
    for (size_t i = 0; i < file.tensors.size(); ++i)
      if (again.tensors[i].name != file.tensors[i].name || again.tensors[i].shape != file.tensors[i].shape ||
          !same_bits(again.tensors[i].data, file.tensors[i].data))
        std::abort();
  });
}
