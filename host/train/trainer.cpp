// The training loop: epochs of shuffled minibatches, each step done whole by the backend.
#include "cudamlp/trainer.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <string>

#include "cudamlp/errors.h"
#include "cudamlp/rng.h"

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
    std::vector<int64_t> order(static_cast<size_t>(N));
    if (options.shuffle) {
      order = shuffled_indices(N, options.seed, epoch);
    } else {
      std::iota(order.begin(), order.end(), int64_t{0});
    }

    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0.0;  // sum over samples of their loss: batch mean * batch size
    int64_t correct = 0;
    for (int64_t first = 0; first < N; first += options.batch) {
      const int64_t size = std::min(options.batch, N - first);
      const BatchStats stats =
          backend.train_step(std::span<const int64_t>(order.data() + first, size_t(size)), options.sgd);
      loss_sum += stats.loss * double(stats.count);
      correct += stats.correct;
      ++steps;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    EpochReport report;
    report.epoch = epoch + 1;
    report.steps = steps;
    report.train_loss = loss_sum / double(N);
    report.train_accuracy = double(correct) / double(N);
    report.seconds = seconds;
    report.samples_per_second = seconds > 0 ? double(N) / seconds : 0.0;
    if (test != nullptr) report.test = evaluate(backend, *test);
    on_epoch(report);
  }
}

}  // namespace cudamlp
