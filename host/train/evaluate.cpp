// Evaluation and batch prediction over a Dataset, through Backend::predict in chunks of kPredictChunk
// samples: what is held at once is one chunk's inputs and probabilities, never the whole set's.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

#include "cudamlp/errors.h"
#include "cudamlp/trainer.h"

namespace cudamlp {

double EvalResult::class_accuracy(int c) const {
  int64_t total = 0;
  for (int p = 0; p < num_classes; ++p) total += confusion[size_t(c) * num_classes + p];
  return total ? double(confusion[size_t(c) * num_classes + c]) / double(total) : 0.0;
}

void check_input_scale(const Network& network, const Dataset& data) {
  if (network.input_scale != data.input_scale)
    throw UsageError("the model takes " + std::string(input_kind_name(network.input_scale)) + ", the data is " +
                     std::string(input_kind_name(data.input_scale)));
}

void for_each_prediction_chunk(Backend& backend, const Dataset& data, int64_t begin, int64_t n,
                               const PredictionChunkUse& use) {
  const Network& network = backend.network();
  if (data.dim() != network.input_size())
    throw UsageError("the data has " + std::to_string(data.dim()) + " values per sample, the model expects " +
                     std::to_string(network.input_size()));
  check_input_scale(network, data);
  if (begin < 0 || n < 0 || begin + n > data.count) throw UsageError("sample range outside the data");
  const int64_t D = data.dim(), C = network.output_size();
  std::vector<float> x, probs;
  for (int64_t first = 0; first < n; first += kPredictChunk) {
    const int64_t size = std::min(kPredictChunk, n - first);
    x.resize(size_t(size * D));  // x: [size, D]
    probs.resize(size_t(size * C));
    data.inputs(begin + first, size, x.data());
    backend.predict(x.data(), size, probs.data());
    use(begin + first, size, probs.data());
  }
}

std::vector<float> predict_probabilities(Backend& backend, const Dataset& data, int64_t begin, int64_t n) {
  const int64_t C = backend.network().output_size();
  std::vector<float> probs;
  probs.reserve(size_t(std::max<int64_t>(n, 0) * C));
  for_each_prediction_chunk(backend, data, begin, n, [&](int64_t, int64_t size, const float* chunk) {
    probs.insert(probs.end(), chunk, chunk + size * C);
  });
  return probs;
}

EvalResult evaluate(Backend& backend, const Dataset& data) {
  if (!data.has_labels()) throw UsageError("the evaluation set has no labels");
  const int C = backend.network().output_size();
  EvalResult result;
  result.count = data.count;
  result.num_classes = C;
  result.confusion.assign(size_t(C) * C, 0);
  double loss_sum = 0.0;
  for_each_prediction_chunk(backend, data, 0, data.count, [&](int64_t first, int64_t size, const float* probs) {
    for (int64_t i = 0; i < size; ++i) {
      const float* row = probs + i * C;
      const int predicted = int(std::max_element(row, row + C) - row);
      const int label = data.labels[size_t(first + i)];
      if (label >= C) throw UsageError("label " + std::to_string(label) + " is not < the model's " +
                                       std::to_string(C) + " outputs");
      // Probabilities are float; clamp at the smallest positive float so a confident mistake costs a
      // large finite loss (about 103.3) rather than infinity.
      loss_sum -= std::log(std::max(double(row[label]), double(FLT_TRUE_MIN)));
      result.confusion[size_t(label) * C + predicted]++;
      if (predicted == label) result.correct++;
    }
  });
  result.loss = data.count ? loss_sum / double(data.count) : 0.0;
  return result;
}

}  // namespace cudamlp
