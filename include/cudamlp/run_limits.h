// The limits of a run, in one place: its options, which the command line's flags and the checkpoint
// reader both check (so that a checkpoint can hold no run the flags refuse, nor the flags start one
// whose checkpoint would not load), and the memory its network and batch would need, estimated before
// anything is allocated (memory_budget.h).
#pragma once

#include <cstdint>
#include <string>

#include "cudamlp/network.h"
#include "cudamlp/optimizer.h"

namespace cudamlp {

// More passes than any run needs; keeps epochs in int and epochs * steps per epoch far inside int64.
inline constexpr int kMaxEpochs = 1'000'000;
// 2^20 samples, 17 times MNIST's training set: a larger batch only makes the step's buffers larger.
inline constexpr int64_t kMaxBatch = int64_t{1} << 20;

// What is wrong with a value, or "" when a run may use it. The text reads after the value in a message:
// "must be in [1, 1000000]".
std::string epochs_problem(int64_t epochs);
std::string batch_problem(int64_t batch);
// The learning rate is used as a float32: positive and finite there, and normal, because a subnormal
// rate (1e-45) rounds every update to nothing, and a backend that flushes subnormals to zero would not
// even train like the others.
std::string learning_rate_problem(float lr);

// The bytes a training run of `network` with `optimizer` and batches of `batch` samples holds: the
// parameters, their gradients, every optimizer slot and the copy the caller keeps, and for the batch
// every layer's activations and their gradients, the probabilities and theirs. An estimate (backends
// differ a little), made before allocating so that a network too large is a message naming --hidden
// and --batch, not std::bad_alloc. Saturates at UINT64_MAX.
uint64_t training_bytes(const Network& network, const OptimizerConfig& optimizer, int64_t batch);

// The bytes evaluate() holds for a network of C outputs: the C x C int64 confusion matrix and one
// chunk's probabilities (kPredictChunk x C floats).
uint64_t evaluation_bytes(const Network& network);

// "" when the estimate fits memory_budget(), else what is wrong, for the caller to put the flag or file
// in front of: "training the 16-65536-65536-10 network needs 68719476736 bytes (64.0 GiB), more than the
// 16.0 GiB cudamlp allows itself"; "evaluating its 65536 outputs needs ...".
std::string training_memory_problem(const Network& network, const OptimizerConfig& optimizer, int64_t batch);
std::string evaluation_memory_problem(const Network& network);

}  // namespace cudamlp
