// The body of `cudamlp serve`'s POST /predict, parsed into MNIST samples, and the JSON it is answered
// with; no sockets here, so the tests and the fuzz target (fuzz/fuzz_predict_request.cpp) call it directly.
//
// A body is one of
//   image/png, image/x-portable-graymap   one picture of a digit, made into a 28x28 sample by the same
//                                         preprocessing as `cudamlp predict` (mnist_digit.h)
//   application/json                      {"pixels": [784 numbers in 0..255]} (one sample), or
//                                         {"pixels": [[784 numbers], ...]} (a batch of 1..kMaxBatch)
// and is answered with {"predicted", "probabilities", "input"} (a picture's also says "inverted"), or
// for a batch a JSON list of them. "input" is the 784 values the network saw (before x = value / 255).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/errors.h"

namespace cudamlp::serve {

inline constexpr int64_t kSampleSize = 784;           // 28 x 28: the only input size serve predicts
inline constexpr int64_t kMaxBatch = kPredictChunk;   // samples in one JSON batch: one predict() call

// What a body is, by its Content-Type (parameters such as "; charset=utf-8" and case ignored).
enum class BodyType { kPicture, kJson, kUnsupported };
BodyType body_type(std::string_view content_type);

// A request that cannot be answered as asked: the HTTP status (400 bad input, 413 too many samples,
// 415 unsupported type) and a one-line message for {"error": ...}.
class RequestError : public Error {
 public:
  RequestError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

struct PredictRequest {
  std::vector<float> pixels;       // [count, 784] row-major, each value in [0, 255]
  int64_t count = 0;
  bool batch = false;              // {"pixels": [[...], ...]}: answered with a list, even of one
  std::optional<bool> inverted;    // a picture: it was dark ink on a light background
};

// Throws RequestError for anything but a body described above; never anything else for bad bytes.
PredictRequest parse_predict_request(std::string_view content_type, std::string_view body);

// The answer to request: probs is [count, classes] softmax probabilities.
std::string prediction_response(const PredictRequest& request, const float* probs, int classes);

// {"error": message}
std::string error_response(const std::string& message);

}  // namespace cudamlp::serve
