// Dataset methods that do not depend on a file format (the readers live in idx.cpp, csv.cpp,
// mnist_dir.cpp, npy.cpp).
#include "cudamlp/dataset.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cudamlp/errors.h"

namespace cudamlp {

Dataset Dataset::first(int64_t n) const {
  if (n < 0) throw UsageError("Dataset::first: sample count must be >= 0, got " + std::to_string(n));
  n = std::min(n, count);
  Dataset subset;
  subset.count = n;
  subset.rows = rows;
  subset.cols = cols;
  subset.num_classes = num_classes;
  subset.input_scale = input_scale;
  // pixels and features are [N, dim] row-major, so the first n samples are one contiguous prefix.
  if (has_float_features()) subset.features.assign(features.begin(), features.begin() + n * dim());
  else subset.pixels.assign(pixels.begin(), pixels.begin() + n * dim());
  if (has_labels()) subset.labels.assign(labels.begin(), labels.begin() + n);
  return subset;
}

void Dataset::inputs(int64_t first, int64_t n, float* x) const {
  if (first < 0 || n < 0 || first + n > count) throw UsageError("sample range outside the data");
  const int64_t D = dim();
  if (has_float_features()) {
    std::copy_n(features.data() + first * D, n * D, x);
  } else {
    const uint8_t* begin = pixels.data() + first * D;
    std::transform(begin, begin + n * D, x, scale_pixel);
  }
}

Dataset float_dataset(std::vector<float> features, int64_t N, int D, std::vector<uint8_t> labels, int num_classes) {
  if (N < 0 || D < 1) throw UsageError("float_dataset: need N >= 0 samples of D >= 1 features, got N = " +
                                       std::to_string(N) + ", D = " + std::to_string(D));
  if (int64_t(features.size()) / D != N || int64_t(features.size()) % D != 0)
    throw UsageError("float_dataset: " + std::to_string(features.size()) + " features are not " + std::to_string(N) +
                     " samples of " + std::to_string(D));
  if (num_classes < 1 || num_classes > kMaxClasses)
    throw UsageError("float_dataset: " + std::to_string(num_classes) + " classes; cudamlp handles 1 to " +
                     std::to_string(kMaxClasses));
  if (!labels.empty() && int64_t(labels.size()) != N)
    throw UsageError("float_dataset: " + std::to_string(labels.size()) + " labels for " + std::to_string(N) +
                     " samples");
  for (size_t i = 0; i < features.size(); ++i)
    if (!std::isfinite(features[i]))
      throw UsageError("float_dataset: feature " + std::to_string(i % size_t(D)) + " of sample " +
                       std::to_string(i / size_t(D)) + " is not finite");
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= num_classes)
      throw UsageError("float_dataset: label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                       " is not < " + std::to_string(num_classes) + " classes");
  Dataset data;
  data.count = N;
  data.rows = 1;
  data.cols = D;
  data.num_classes = num_classes;
  data.input_scale = InputScale::kNone;
  data.features = std::move(features);
  data.labels = std::move(labels);
  return data;
}

}  // namespace cudamlp
