// The one thread that predicts for `cudamlp serve`: HTTP worker threads queue their samples and wait;
// the inference thread takes what is queued (whole requests, up to max_batch samples), predicts them in
// one call and wakes each worker with its rows. A Backend is not thread-safe, and this thread is its only
// caller; concurrent requests share one predict() call, which a GPU computes far faster than many.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cudamlp::serve {

// x [n, input_size] already scaled (value / 255) -> probs [n, output_size]; Backend::predict's contract.
using PredictFunction = std::function<void(const float* x, int64_t n, float* probs)>;

class PredictionQueue {
 public:
  PredictionQueue(PredictFunction predict, int64_t input_size, int output_size, int64_t max_batch);
  ~PredictionQueue();  // finishes what is queued, then stops the inference thread
  PredictionQueue(const PredictionQueue&) = delete;
  PredictionQueue& operator=(const PredictionQueue&) = delete;

  // Probabilities [n, output_size] of samples [n, input_size] with values 0..255, 1 <= n <= max_batch.
  // Blocks until they are computed; rethrows what predict threw. Thread-safe.
  std::vector<float> predict(const std::vector<float>& samples, int64_t n);

  struct Stats {
    int64_t requests = 0;  // predict() calls answered
    int64_t batches = 0;   // calls of the PredictFunction they took
  };
  Stats stats() const;
  int64_t waiting() const;  // requests queued and not yet taken by the inference thread

 private:
  struct Job {
    const float* samples;
    int64_t n;
    std::vector<float> probs;
    std::exception_ptr error;
    bool done = false;
  };
  void run();

  PredictFunction predict_;
  int64_t input_size_;
  int output_size_;
  int64_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable queued_;    // a job was queued, or stopping_
  std::condition_variable answered_;  // some job is done
  std::deque<Job*> pending_;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;  // last: starts once every member above exists
};

}  // namespace cudamlp::serve
