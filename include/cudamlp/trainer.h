// Minibatch gradient descent over a Backend, and evaluation. No printing: progress goes to a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"

namespace cudamlp {

struct TrainOptions {
  int epochs = 1;
  int64_t batch = 64;
  SgdOptions sgd;
  uint64_t seed = 1;     // weights (when not --init) and the per-epoch shuffles
  bool shuffle = true;   // false: every epoch visits the samples in file order
};

struct EvalResult {
  double loss = 0.0;               // mean cross-entropy
  int64_t correct = 0;
  int64_t count = 0;
  int num_classes = 0;
  std::vector<int64_t> confusion;  // [C, C]: row = true class, column = predicted class

  double accuracy() const { return count ? double(correct) / double(count) : 0.0; }
  double class_accuracy(int c) const;  // recall of class c; 0 when the class has no samples
};

struct EpochReport {
  int epoch = 0;                    // 1-based
  int64_t steps = 0;                // optimizer steps so far, all epochs
  double train_loss = 0.0;          // mean over the epoch's samples, as trained (running)
  double train_accuracy = 0.0;      // fraction right while training, as trained (running)
  std::optional<EvalResult> test;   // when a test set was given
  double seconds = 0.0;             // wall time of the epoch's training (evaluation not included)
  double samples_per_second = 0.0;
};

// Trains `train` with backend (whose model must already be set), one callback per epoch. Each epoch
// visits every sample once in batches of options.batch; the last partial batch is trained too, its loss
// averaged over its own size.
void train(Backend& backend, const Dataset& train, const Dataset* test, const TrainOptions& options,
           const std::function<void(const EpochReport&)>& on_epoch);

// Loss, accuracy and confusion matrix of backend's model on a labelled dataset.
EvalResult evaluate(Backend& backend, const Dataset& data);

// Softmax probabilities [n, C] for samples [begin, begin + n) of data.
std::vector<float> predict_probabilities(Backend& backend, const Dataset& data, int64_t begin, int64_t n);

}  // namespace cudamlp
