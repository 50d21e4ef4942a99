// The training loop: epochs of shuffled minibatches, each step done whole by the backend.
#include "cudamlp/trainer.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "cudamlp/errors.h"

namespace cudamlp {

void train(Backend& backend, const Dataset& train, const Dataset* test, const TrainOptions& options,
           const std::function<void(const EpochReport&)>& on_epoch) {
  if (options.batch < 1) throw UsageError("--batch must be at least 1");
  if (options.epochs < 0) throw UsageError("--epochs must not be negative");
  if (train.count < 1) throw UsageError("the training set is empty");
  if (!train.has_labels()) throw UsageError("the training set has no labels");

  backend.set_training_data(train);
  const int64_t N = train.count;
  int64_t steps = 0;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    backend.begin_epoch({N, options.seed, epoch, options.shuffle});
    const auto start = std::chrono::steady_clock::now();
    for (int64_t first = 0; first < N; first += options.batch) {
      backend.train_batch(first, std::min(options.batch, N - first), options.sgd);
      ++steps;
    }
    const BatchStats stats = backend.epoch_stats();  // also waits for a GPU to finish the epoch
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    EpochReport report;
    report.epoch = epoch + 1;
    report.steps = steps;
    report.train_loss = stats.loss;
    report.train_accuracy = double(stats.correct) / double(N);
    report.seconds = seconds;
    report.samples_per_second = seconds > 0 ? double(N) / seconds : 0.0;
    if (test != nullptr) report.test = evaluate(backend, *test);
    on_epoch(report);
  }
}

}  // namespace cudamlp
