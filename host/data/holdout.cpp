// hold_out: a seeded random validation split of a labelled training set (`train --val-split`).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "cudamlp/dataset.h"
#include "cudamlp/errors.h"
#include "cudamlp/rng.h"

namespace cudamlp {

namespace {

// derive_seed's stream for the split. Weights use stream 0 and epoch e's shuffle 1 + e, so a stream
// this high never meets either.
constexpr uint64_t kHoldOutStream = uint64_t{1} << 62;

// to [n, D] = the rows `indices` of from [N, D].
template <typename T>
void copy_rows(const std::vector<T>& from, const std::vector<int64_t>& indices, size_t D, std::vector<T>& to) {
  to.resize(indices.size() * D);
  for (size_t i = 0; i < indices.size(); ++i)
    std::copy_n(from.begin() + std::ptrdiff_t(size_t(indices[i]) * D), D, to.begin() + std::ptrdiff_t(i * D));
}

// The samples whose indices are listed (ascending), as a dataset of their own.
Dataset select(const Dataset& data, const std::vector<int64_t>& indices) {
  Dataset subset;
  subset.count = int64_t(indices.size());
  subset.rows = data.rows;
  subset.cols = data.cols;
  subset.num_classes = data.num_classes;
  subset.input_scale = data.input_scale;
  if (data.has_float_features()) copy_rows(data.features, indices, size_t(data.dim()), subset.features);
  else copy_rows(data.pixels, indices, size_t(data.dim()), subset.pixels);
  if (data.has_labels())
    for (int64_t index : indices) subset.labels.push_back(data.labels[size_t(index)]);
  return subset;
}

}  // namespace

TrainTestSplit hold_out(const Dataset& data, double fraction, uint64_t seed) {
  const bool in_range = fraction > 0 && fraction < 1;  // false for NaN too
  const int64_t held = in_range ? int64_t(std::llround(fraction * double(data.count))) : 0;
  if (held < 1 || held >= data.count) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", fraction);
    throw UsageError(std::string("--val-split ") + text + ": must be in (0, 1) and leave at least one of " +
                     std::to_string(data.count) + " samples on each side");
  }
  // Partial Fisher-Yates: the first `held` entries of order become a uniform random sample.
  std::vector<int64_t> order(size_t(data.count));
  for (int64_t i = 0; i < data.count; ++i) order[size_t(i)] = i;
  Rng rng(derive_seed(seed, kHoldOutStream));
  for (int64_t i = 0; i < held; ++i)
    std::swap(order[size_t(i)], order[size_t(i + int64_t(rng.below(uint64_t(data.count - i))))]);
  std::vector<int64_t> test(order.begin(), order.begin() + held), train(order.begin() + held, order.end());
  std::sort(test.begin(), test.end());
  std::sort(train.begin(), train.end());
  return {select(data, train), select(data, test)};
}

}  // namespace cudamlp
