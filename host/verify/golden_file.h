// Golden files: the outputs of a short training run on the reference backend, stored so that later runs
// on any backend can be checked against them (`cudamlp verify --record` / `--against`). A safetensors
// file like every cudamlp file:
//   tensors   the final model's ("0.weight" [h1, D], "0.bias", ...: model_file.h's names and metadata),
//             "golden.losses" [steps] (after each step, the mean training loss of its epoch so far, as
//             trained) and "golden.probabilities" [n, C] (predict() of the first n <= 32 training samples
//             with the final weights)
//   metadata  "cudamlp.golden.version": kGoldenFormatVersion; "cudamlp.golden.run": the run as JSON
//             (network, optimizer, batch, epochs, seed, dropout, and the data: a synthetic set made
//             from a seed, so the file is self-contained, or an MNIST folder's identity)
// Every reader check throws FileError naming the file and the problem in one line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cudamlp/checkpoint.h"
#include "cudamlp/dataset.h"
#include "cudamlp/model.h"
#include "cudamlp/optimizer.h"

namespace cudamlp::verify {

// 1: the first. A file of another version is refused, never read as this one.
inline constexpr int kGoldenFormatVersion = 1;

// The training data of a golden run.
struct GoldenData {
  // "synthetic": `samples` images of rows x cols random pixels with random labels of `classes` classes,
  // made from `seed` (random_dataset); "mnist": the training set of an MNIST folder (`--data`), its
  // first `samples` samples.
  std::string kind = "synthetic";
  int64_t samples = 256;
  int rows = 8, cols = 8;
  int classes = 10;
  uint64_t seed = 1;
  DataIdentity identity;  // of the data as recorded: a rerun on other data is refused
};

// The run: what `cudamlp train` flags of the same names mean.
struct GoldenRun {
  std::vector<int> hidden = {32};
  int epochs = 2;
  int64_t batch = 32;
  float lr = 0.1f;
  OptimizerConfig optimizer{.kind = OptimizerKind::kSgd, .momentum = 0.9f};
  float dropout = 0.0f;
  uint64_t seed = 1;  // weights, shuffles, dropout masks
  GoldenData data;

  // The steps the run takes: epochs * ceil(samples / batch).
  int64_t steps() const { return int64_t(epochs) * ((data.samples + batch - 1) / batch); }
  // How many samples the probabilities are of.
  int64_t probability_samples() const { return std::min<int64_t>(data.samples, 32); }
};

struct GoldenFile {
  GoldenRun run;
  std::vector<float> losses;         // [steps]
  Model model;                       // the final weights
  std::vector<float> probabilities;  // [probability_samples, classes]
};

// Throws UsageError naming the flag (as `cudamlp verify --record` spells it) of the first value out of
// range; the reader checks the same of a file's run.
void check_golden_run(const GoldenRun& run);

// A data checksum as golden files store it: 16 lowercase hex digits.
std::string checksum_text(uint64_t checksum);

void write_golden(const std::string& path, const GoldenFile& golden);  // atomically
GoldenFile read_golden(const std::string& path);

}  // namespace cudamlp::verify
