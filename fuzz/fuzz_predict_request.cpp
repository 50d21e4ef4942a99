// libFuzzer target: the body parsing of `cudamlp serve`'s POST /predict (host/serve/predict_request.h)
// on arbitrary bytes, as a picture (PNG, PGM), as JSON, or under another Content-Type; for a body it
// accepts, the JSON answer. The first byte picks the Content-Type, the rest is the body.
// Run: fuzz/run.sh (or build-fuzz/fuzz/fuzz_predict_request fuzz/corpus/predict_request).
#include <cstdlib>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "predict_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cudamlp::serve;
  if (size == 0) return 0;
  static const char* const kTypes[] = {"application/json", "image/png", "image/x-portable-graymap", "text/plain"};
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const PredictRequest request = parse_predict_request(kTypes[data[0] % 4], body);
    // What it accepts is 1..kMaxBatch samples of 784 values in [0, 255].
    if (request.count < 1 || request.count > kMaxBatch ||
        request.pixels.size() != static_cast<size_t>(request.count * kSampleSize))
      std::abort();
    for (const float value : request.pixels)
      if (!(value >= 0 && value <= 255)) std::abort();
    const std::vector<float> probs(static_cast<size_t>(request.count) * 10, 0.1f);
    const nlohmann::json answer = nlohmann::json::parse(prediction_response(request, probs.data(), 10));
    if (request.batch != answer.is_array()) std::abort();
  } catch (const RequestError& e) {
    // Refused with a message and one of the statuses the server answers for a body.
    if (e.what()[0] == '\0' || (e.status() != 400 && e.status() != 413 && e.status() != 415)) std::abort();
  }
  return 0;
}
