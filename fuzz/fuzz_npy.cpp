// libFuzzer target: the NumPy .npy readers (features and labels) on arbitrary bytes.
// Run: fuzz/run.sh (or build-fuzz/fuzz/fuzz_npy fuzz/corpus/npy).
#include "cudamlp/npy.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Both readers on every input: they share the header parser, and each must reject the other's files
  // (a float32 feature file is not a label file) with a FileError. The labels reader runs twice, with the
  // class count from the data and with a given one, whose range check is a separate path.
  cudamlp::fuzz::read_input(data, size, [](const std::string& path) { cudamlp::load_npy_features(path); });
  cudamlp::fuzz::read_input(data, size, [](const std::string& path) { cudamlp::load_npy_labels(path, 3); });
  return cudamlp::fuzz::read_input(data, size, [](const std::string& path) { cudamlp::load_npy_labels(path); });
}
