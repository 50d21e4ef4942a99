// Dataset methods that do not depend on a file format (the readers live in idx.cpp, csv.cpp,
// mnist_dir.cpp).
#include "cudamlp/dataset.h"

#include <algorithm>
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
  // pixels is [N, dim] row-major, so the first n samples are one contiguous prefix.
  subset.pixels.assign(pixels.begin(), pixels.begin() + n * dim());
  if (has_labels()) subset.labels.assign(labels.begin(), labels.begin() + n);
  return subset;
}

}  // namespace cudamlp
