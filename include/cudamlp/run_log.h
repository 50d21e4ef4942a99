// The record of a training run: what `cudamlp train --log FILE` writes (after every epoch, atomically,
// so the file is always a complete log of the epochs so far) and what `cudamlp report` reads. JSON:
//
//   {"format": "cudamlp-run-log", "version": 1,
//    "settings": {"sizes": "784-64-10", "device": "cpu", "batch": 64, ...},   name -> value, shown in order
//    "epochs": [{"epoch": 1, "steps": 938, "train_loss": 0.39, "train_accuracy": 0.89,
//                "test_loss": 0.24, "test_accuracy": 0.93, "val_loss": 0.25, "val_accuracy": 0.92,
//                "seconds": 2.1, "samples_per_second": 28571}, ...],  test_*, val_*: when the run had that set
//    "finished": true,                                  false while training (or after a stop)
//    "test": {"samples": 10000, "loss": 0.24, "accuracy": 0.93, "classes": 10,
//             "confusion": [[...], ...],               [true class][predicted class]
//             "rows": 28, "cols": 28, "misclassified_total": 712,
//             "misclassified": [{"index": 8, "label": 5, "predicted": 6, "probability": 0.91,
//                                "pixels": "<base64 of rows*cols bytes>"}, ...]}}
//
// "test" is the final model on the test set, or on the validation set for a run that has none (--train-csv
// with --val-split; then "set": "validation", else "set" is "test" or, in older logs, absent); its misclassified digits are the most
// confident mistakes first, at most kMaxLoggedMistakes of them. The epoch objects carry the same fields
// as `train --json`'s epoch lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "cudamlp/trainer.h"

namespace cudamlp {

inline constexpr int kMaxLoggedMistakes = 48;  // six rows of eight in the report

struct EpochRecord {
  int epoch = 0;  // 1-based
  int64_t steps = 0;
  double train_loss = 0.0;
  double train_accuracy = 0.0;
  std::optional<double> test_loss;
  std::optional<double> test_accuracy;
  std::optional<double> val_loss;      // the validation set (`--val-split`), when there is one
  std::optional<double> val_accuracy;
  double seconds = 0.0;
  double samples_per_second = 0.0;
};

struct Mistake {
  int64_t index = 0;  // sample index in the test set
  int label = 0;      // the true class
  int predicted = 0;
  double probability = 0.0;     // the model's probability of `predicted`
  std::vector<uint8_t> pixels;  // [rows, cols] as in the dataset
};

struct TestSetSummary {
  std::string set = "test";  // "test", or "validation" (a run without a test set)
  int64_t samples = 0;
  double loss = 0.0;
  double accuracy = 0.0;
  int classes = 0;
  std::vector<int64_t> confusion;  // [classes, classes]: row = true class, column = predicted class
  int rows = 0;                    // the shape of a Mistake's pixels
  int cols = 0;
  int64_t misclassified_total = 0;
  std::vector<Mistake> misclassified;  // most confident first, at most kMaxLoggedMistakes
};

struct RunLog {
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();  // flat: name -> number, string, bool
  std::vector<EpochRecord> epochs;
  bool finished = false;
  std::optional<TestSetSummary> test;
};

EpochRecord epoch_record(const EpochReport& report);

// The backend's model on a labelled test set: loss, accuracy, confusion matrix and the most confident
// mistakes (with their pixels).
TestSetSummary summarize_test_set(Backend& backend, const Dataset& test);

nlohmann::ordered_json run_log_json(const RunLog& log);
// Throws FileError(name, ...) naming the field that is missing or malformed.
RunLog run_log_from_json(const nlohmann::ordered_json& json, const std::string& name);

// Atomic (write_file_atomically): a reader never sees half a log.
void write_run_log(const std::string& path, const RunLog& log);
RunLog read_run_log(const std::string& path);

}  // namespace cudamlp
