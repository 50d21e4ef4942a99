// The limits of a run, in one place: its options, which the command line's flags and the checkpoint
// reader both check, so that a checkpoint can hold no run the flags refuse, nor the flags start one
// whose checkpoint would not load.
#pragma once

#include <cstdint>
#include <string>

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

}  // namespace cudamlp
