// The batching inference thread of `cudamlp serve`; see prediction_queue.h.
#include "prediction_queue.h"

#include <algorithm>
#include <string>

#include "cudamlp/errors.h"

namespace cudamlp::serve {

PredictionQueue::PredictionQueue(PredictFunction predict, int64_t input_size, int output_size, int64_t max_batch)
    : predict_(std::move(predict)),
      input_size_(input_size),
      output_size_(output_size),
      max_batch_(max_batch),
      thread_([this] { run(); }) {}

PredictionQueue::~PredictionQueue() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  thread_.join();
}

std::vector<float> PredictionQueue::predict(const std::vector<float>& samples, int64_t n) {
  if (n < 1 || n > max_batch_ || int64_t(samples.size()) != n * input_size_)
    throw Error("PredictionQueue::predict: " + std::to_string(n) + " samples of " + std::to_string(samples.size()) +
                " values; expected 1.." + std::to_string(max_batch_) + " of " + std::to_string(input_size_));
  Job job{samples.data(), n, {}, nullptr};
  std::unique_lock lock(mutex_);
  pending_.push_back(&job);
  queued_.notify_one();
  answered_.wait(lock, [&] { return job.done; });
  if (job.error) std::rethrow_exception(job.error);
  return std::move(job.probs);
}

PredictionQueue::Stats PredictionQueue::stats() const {
  const std::lock_guard lock(mutex_);
  return stats_;
}

int64_t PredictionQueue::waiting() const {
  const std::lock_guard lock(mutex_);
  return int64_t(pending_.size());
}

void PredictionQueue::run() {
  std::vector<float> x;      // [total, input_size]: the batch, scaled
  std::vector<float> probs;  // [total, output_size]
  std::unique_lock lock(mutex_);
  for (;;) {
    queued_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, and nothing left to answer
    // Whole requests in arrival order, as many as fit in max_batch samples (the first always fits).
    std::vector<Job*> batch;
    int64_t total = 0;
    while (!pending_.empty() && total + pending_.front()->n <= max_batch_) {
      total += pending_.front()->n;
      batch.push_back(pending_.front());
      pending_.pop_front();
    }
    lock.unlock();  // workers queue more while this batch computes
    std::exception_ptr error;
    try {
      x.resize(size_t(total * input_size_));
      int64_t row = 0;
      for (const Job* job : batch) {
        std::transform(job->samples, job->samples + job->n * input_size_, x.begin() + row * input_size_,
                       [](float value) { return value / 255.0f; });  // as `cudamlp predict` scales
        row += job->n;
      }
      probs.resize(size_t(total * output_size_));
      predict_(x.data(), total, probs.data());
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    int64_t row = 0;
    for (Job* job : batch) {
      if (error) job->error = error;
      else job->probs.assign(probs.begin() + row * output_size_, probs.begin() + (row + job->n) * output_size_);
      row += job->n;
      job->done = true;
    }
    stats_.requests += int64_t(batch.size());
    stats_.batches += 1;
    answered_.notify_all();
  }
}

}  // namespace cudamlp::serve
