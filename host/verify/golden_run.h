// Recording a golden run and checking a backend against one (golden_file.h).
#pragma once

#include <string>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "error_model.h"
#include "golden_file.h"

namespace cudamlp::verify {

// The synthetic training set of run.data (kind "synthetic"): random_dataset's pixels and labels from
// its seed, shaped rows x cols.
Dataset synthetic_dataset(const GoldenData& data);

// Trains run's network from its seed's initial weights on `backend` (plain: the optimizer, dropout and
// the shuffles of `cudamlp train` with the same flags) over `data`, and collects what a golden file
// stores. run.data is copied into the result as given.
GoldenFile run_golden(Backend& backend, const GoldenRun& run, const Dataset& data);

// Throws FileError naming `path` unless data is the data the golden run was recorded on (its identity:
// count, dim, classes, checksum).
void check_golden_data(const std::string& path, const GoldenRun& run, const Dataset& data);

// Every stored output of `want` against `got` (the same run on another backend): the losses, each
// weight tensor by name, the probabilities; under kTrainingRunTolerance, relative to each tensor's
// largest value. Op "golden", shape the tensor's.
std::vector<Comparison> compare_with_golden(const GoldenFile& got, const GoldenFile& want);

}  // namespace cudamlp::verify
