// libFuzzer target: the Kaggle CSV reader (train.csv with labels, test.csv without) on arbitrary bytes.
// Run: fuzz/run.sh (or build-fuzz/fuzz/fuzz_csv fuzz/corpus/csv).
#include "cudamlp/dataset.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return cudamlp::fuzz::read_input(data, size, [](const std::string& path) {
    const cudamlp::Dataset dataset = cudamlp::load_kaggle_csv(path);
    // What the reader returns must be self-consistent: [N, D] pixels, N labels or none.
    if (dataset.pixels.size() != static_cast<size_t>(dataset.count * dataset.dim())) std::abort();
    if (dataset.has_labels() && dataset.labels.size() != static_cast<size_t>(dataset.count)) std::abort();
  });
}
