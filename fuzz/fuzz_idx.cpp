// libFuzzer target: the IDX readers (plain and gzip; images and labels) on arbitrary bytes.
// Run: fuzz/run.sh (or build-fuzz/fuzz/fuzz_idx fuzz/corpus/idx).
#include "cudamlp/dataset.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Both readers on every input: a labels file is a valid prefix of neither, but the header and
  // gzip paths are shared, and each reader must reject the other's files cleanly.
  cudamlp::fuzz::read_input(data, size, [](const std::string& path) { cudamlp::load_idx_images(path); });
  return cudamlp::fuzz::read_input(data, size, [](const std::string& path) { cudamlp::load_idx_labels(path); });
}
