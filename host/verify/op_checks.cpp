// See op_checks.h. Each check draws its inputs from fixed seeds, runs the reference op and the backend's
// on the same inputs, and compares under the error model.
#include "op_checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cudamlp/rng.h"
#include "reference_ops.h"

namespace cudamlp::verify {

namespace {

std::vector<Comparison> labelled(std::vector<Comparison> rows, const std::string& op, const std::string& shape) {
  for (Comparison& row : rows) {
    row.op = op;
    row.shape = shape;
  }
  return rows;
}

// Passes when no value is below zero (a ReLU's output); counts those that are.
Comparison no_negatives(std::span<const float> values, const std::string& what) {
  const int64_t negatives = std::count_if(values.begin(), values.end(), [](float v) { return v < 0; });
  return compare_count(negatives, 0, what + " < 0 count");
}

}  // namespace

std::string shape_name(const DenseShape& s) {
  return "B=" + std::to_string(s.batch) + " in=" + std::to_string(s.in) + " out=" + std::to_string(s.out);
}

std::vector<DenseShape> dense_shape_grid() {
  // Read as (batch, in, out): each awkward size is `in` twice and `out` twice, each batch three times.
  return {{1, 1, 1},       {3, 1, 1000},     {64, 7, 31},    {257, 7, 1},      {1, 31, 7},
          {3, 31, 129},    {64, 33, 127},    {257, 33, 784}, {1, 127, 33},     {3, 127, 7},
          {64, 129, 1000}, {257, 129, 33},   {1, 784, 127},  {64, 784, 10},    {257, 784, 129},
          {3, 1000, 31},   {1, 1000, 784},   {257, 1000, 1}};
}

std::vector<DenseShape> quick_dense_shape_grid() {
  return {{1, 1, 1}, {3, 31, 129}, {64, 33, 127}, {257, 7, 1}, {1, 784, 127}, {3, 1000, 31}};
}

std::vector<float> random_floats(size_t n, float lo, float hi, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> values(n);
  for (float& v : values) v = lo + (hi - lo) * float(rng.uniform());
  return values;
}

Dataset random_dataset(int64_t n, int D, int C, uint64_t seed) {
  Dataset data;
  data.count = n;
  data.rows = 1;
  data.cols = D;
  data.num_classes = C;
  Rng rng(seed);
  data.pixels.resize(size_t(n * D));
  for (uint8_t& p : data.pixels) p = uint8_t(rng.below(256));
  data.labels.resize(size_t(n));
  for (uint8_t& label : data.labels) label = uint8_t(rng.below(uint64_t(C)));
  return data;
}

Dataset random_float_dataset(int64_t n, int D, int C, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> labels(static_cast<size_t>(n));
  for (uint8_t& label : labels) label = uint8_t(rng.below(uint64_t(C)));
  return float_dataset(random_floats(size_t(n * D), -3.0f, 3.0f, seed + 1), n, D, std::move(labels), C);
}

const std::vector<OptimizerCase>& optimizer_cases() {
  static const std::vector<OptimizerCase> cases = {
      // Momentum 0 keeps no momentum buffer in PyTorch: the cpu backend leaves it alone, the reference and
      // the kernels write g there. Only w is specified.
      {"sgd", {OptimizerKind::kSgd, 0.0f}, false},
      {"sgd-momentum", {OptimizerKind::kSgd, 0.9f}},
      {"sgd-nesterov-decay", {.kind = OptimizerKind::kSgd, .momentum = 0.9f, .nesterov = true, .weight_decay = 0.01f}},
      {"sgd-momentum-decay", {.kind = OptimizerKind::kSgd, .momentum = 0.5f, .weight_decay = 0.1f}},
      {"adam", {.kind = OptimizerKind::kAdam}},
      {"adam-decay", {.kind = OptimizerKind::kAdam, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f, .weight_decay = 0.05f}},
      {"adamw", {.kind = OptimizerKind::kAdamW, .weight_decay = 0.1f}},
  };
  return cases;
}

Dataset image_dataset(int64_t n, int rows, int cols, uint64_t seed) {
  Dataset data;
  data.count = n;
  data.rows = rows;
  data.cols = cols;
  data.num_classes = 4;
  Rng rng(seed);
  data.pixels.resize(size_t(n * rows * cols));
  for (uint8_t& p : data.pixels) p = uint8_t(rng.below(256));
  data.labels.resize(size_t(n));
  for (uint8_t& label : data.labels) label = uint8_t(rng.below(4));
  return data;
}

Augmentation every_distortion(int rows, int cols) {
  Augmentation a;
  a.rows = rows;
  a.cols = cols;
  a.rotate_degrees = 30;
  a.scale = 0.3f;
  a.shear = 0.4f;
  a.shift = 3;
  a.elastic_alpha = 34;
  a.elastic_sigma = 4;
  return a;
}

std::vector<AugmentationCase> augmentation_cases() {
  std::vector<AugmentationCase> cases;
  const std::vector<std::vector<int64_t>> batches = {{4}, {0, 8, 3}, {1, 2, 5, 7, 6}};
  int which = 0;
  for (const auto& [rows, cols] : {std::pair{1, 1}, std::pair{5, 7}, std::pair{28, 28}}) {
    const Augmentation all = every_distortion(rows, cols);
    std::vector<std::pair<std::string, Augmentation>> kinds(6, {"", Augmentation{}});
    for (auto& kind : kinds) kind.second.rows = rows, kind.second.cols = cols;
    kinds[0].first = "rotate", kinds[0].second.rotate_degrees = all.rotate_degrees;
    kinds[1].first = "scale", kinds[1].second.scale = all.scale;
    kinds[2].first = "shear", kinds[2].second.shear = all.shear;
    kinds[3].first = "shift", kinds[3].second.shift = all.shift;
    kinds[4].first = "elastic", kinds[4].second.elastic_alpha = all.elastic_alpha;
    kinds[4].second.elastic_sigma = all.elastic_sigma;
    kinds[5] = {"all", all};
    for (const auto& [kind, a] : kinds) {
      const std::vector<int64_t>& indices = batches[size_t(which++) % batches.size()];
      cases.push_back({kind + " " + std::to_string(rows) + "x" + std::to_string(cols) + " batch " +
                           std::to_string(indices.size()),
                       a, indices, int64_t(which % 3)});
    }
  }
  return cases;
}

namespace {

std::vector<Comparison> check_gather_of(OpRunner& ops, const Dataset& data, int64_t B) {
  const int64_t D = data.dim();
  std::vector<int64_t> indices(static_cast<size_t>(B));
  for (int64_t n = 0; n < B; ++n) indices[size_t(n)] = (n * 37 + 11) % data.count;  // scrambled
  std::vector<float> got(size_t(B * D)), want(got.size());
  std::vector<uint8_t> got_labels(static_cast<size_t>(B)), want_labels(static_cast<size_t>(B));
  ops.gather_batch(data, indices, got.data(), got_labels.data());
  reference::gather_batch(data, indices, want.data(), want_labels.data());
  // bitwise: pixels are scaled by scale_pixel in both, float features copied
  return labelled({compare_exact(got, want, "x"), compare_exact(got_labels, want_labels, "labels")}, "gather_batch",
                  "B=" + std::to_string(B) + " D=" + std::to_string(D) +
                      (data.input_scale == InputScale::kNone ? " float32" : " uint8"));
}

}  // namespace

std::vector<Comparison> check_gather_batch(OpRunner& ops, int64_t B) {
  std::vector<Comparison> rows = check_gather_of(ops, random_dataset(300, 784, 10, 1), B);
  for (const std::vector<int>& sizes : kFloatFeatureNetworks) {
    const std::vector<Comparison> more = check_gather_of(ops, random_float_dataset(300, sizes.front(), 3, 2), B);
    rows.insert(rows.end(), more.begin(), more.end());
  }
  return rows;
}

std::vector<Comparison> check_dense_forward(OpRunner& ops, const DenseShape& s) {
  const std::vector<float> x = random_floats(size_t(s.batch * s.in), -1, 1, 1);
  const std::vector<float> W = random_floats(size_t(s.out) * s.in, -0.5f, 0.5f, 2);
  const std::vector<float> b = random_floats(size_t(s.out), -0.5f, 0.5f, 3);
  // magnitude = |b| + sum_i |x_i| |w_i|: the reference op on absolute values.
  std::vector<float> magnitude(size_t(s.batch * s.out));
  reference::dense_forward(absolute(x).data(), absolute(W).data(), absolute(b).data(), magnitude.data(), s.batch,
                           s.in, s.out, false);
  std::vector<Comparison> rows;
  for (const bool relu : {false, true}) {
    std::vector<float> got(magnitude.size()), want(magnitude.size());
    ops.dense_forward(x.data(), W.data(), b.data(), got.data(), s.batch, s.in, s.out, relu);
    reference::dense_forward(x.data(), W.data(), b.data(), want.data(), s.batch, s.in, s.out, relu);
    rows.push_back(compare_dot_products(got, want, magnitude, s.in, kZeroFloor, relu ? "relu(y)" : "y"));
    if (relu) rows.push_back(no_negatives(got, "relu(y)"));
  }
  return labelled(rows, "dense_forward", shape_name(s));
}

std::vector<Comparison> check_dense_backward_weights(OpRunner& ops, const DenseShape& s) {
  const std::vector<float> dy = random_floats(size_t(s.batch * s.out), -1, 1, 4);
  const std::vector<float> x = random_floats(size_t(s.batch * s.in), 0, 1, 5);
  std::vector<float> dW_mag(size_t(s.out) * s.in), db_mag(size_t(s.out));
  reference::dense_backward_weights(absolute(dy).data(), absolute(x).data(), dW_mag.data(), db_mag.data(), s.batch,
                                    s.in, s.out);
  std::vector<float> dW(dW_mag.size()), db(db_mag.size()), want_dW(dW_mag.size()), want_db(db_mag.size());
  ops.dense_backward_weights(dy.data(), x.data(), dW.data(), db.data(), s.batch, s.in, s.out);
  reference::dense_backward_weights(dy.data(), x.data(), want_dW.data(), want_db.data(), s.batch, s.in, s.out);
  return labelled({compare_dot_products(dW, want_dW, dW_mag, s.batch, kZeroFloor, "dW"),
                   compare_dot_products(db, want_db, db_mag, s.batch, kZeroFloor, "db")},
                  "dense_backward_weights", shape_name(s));
}

std::vector<Comparison> check_dense_backward_input(OpRunner& ops, const DenseShape& s) {
  const std::vector<float> dy = random_floats(size_t(s.batch * s.out), -1, 1, 4);
  const std::vector<float> W = random_floats(size_t(s.out) * s.in, -0.5f, 0.5f, 6);
  // x: a ReLU's output, a third of it exactly zero (no gradient passes there).
  std::vector<float> x = random_floats(size_t(s.batch * s.in), -0.5f, 1, 5);
  for (float& v : x) v = std::max(v, 0.0f);
  std::vector<Comparison> rows;
  const float dropout_scale = 1.0f / (1.0f - 0.3f);
  for (const float mask_scale : {1.0f, dropout_scale}) {
    std::vector<float> dx_mag(x.size());
    reference::dense_backward_input(absolute(dy).data(), absolute(W).data(), x.data(), dx_mag.data(), s.batch, s.in,
                                    s.out, false);
    for (float& m : dx_mag) m *= mask_scale;
    for (const bool relu_mask : {false, true}) {
      if (!relu_mask && mask_scale != 1.0f) continue;  // the scale applies with the mask only
      std::vector<float> dx(x.size()), want_dx(x.size());
      ops.dense_backward_input(dy.data(), W.data(), x.data(), dx.data(), s.batch, s.in, s.out, relu_mask, mask_scale);
      reference::dense_backward_input(dy.data(), W.data(), x.data(), want_dx.data(), s.batch, s.in, s.out, relu_mask,
                                      mask_scale);
      const std::string what = !relu_mask ? "dx" : mask_scale == 1.0f ? "masked dx" : "masked, scaled dx";
      rows.push_back(compare_dot_products(dx, want_dx, dx_mag, s.out, kZeroFloor, what));
      if (!relu_mask) continue;
      int64_t leaks = 0;  // gradients where the ReLU was off: none may pass
      for (size_t i = 0; i < x.size(); ++i) leaks += x[i] == 0.0f && dx[i] != 0.0f;
      rows.push_back(compare_count(leaks, 0, what + " != 0 where the ReLU was off, count"));
    }
  }
  return labelled(rows, "dense_backward_input", shape_name(s));
}

std::vector<Comparison> check_dropout_forward(OpRunner& ops, int64_t B, int units, float P) {
  // Positive values, as a ReLU's survivors: every zero afterwards is dropout's.
  std::vector<float> y = random_floats(size_t(B * units), 0.01f, 2, uint64_t(B + units));
  std::vector<float> want = y;
  reference::dropout_forward(want.data(), B, units, P, 11, 77, 5000, 2);
  ops.dropout_forward(y.data(), B, units, P, 11, 77, 5000, 2);
  char p_text[16];
  std::snprintf(p_text, sizeof p_text, "%g", double(P));
  return labelled({compare_relative_same_zeros(y, want, kDropoutRelativeTolerance, "y")}, "dropout_forward",
                  "B=" + std::to_string(B) + " units=" + std::to_string(units) + " P=" + p_text);
}

std::vector<Comparison> check_softmax_xent(OpRunner& ops, int64_t B, int C) {
  const std::vector<float> logits = random_floats(size_t(B * C), -8, 8, uint64_t(B * C));
  std::vector<uint8_t> labels(static_cast<size_t>(B));
  for (int64_t n = 0; n < B; ++n) labels[size_t(n)] = uint8_t((n * 13) % C);
  std::vector<float> probs(logits.size()), dlogits(logits.size());
  std::vector<float> want_probs(logits.size()), want_dlogits(logits.size());
  const BatchStats got = ops.softmax_xent(logits.data(), labels.data(), probs.data(), dlogits.data(), B, C);
  const BatchStats want =
      reference::softmax_xent(logits.data(), labels.data(), want_probs.data(), want_dlogits.data(), B, C);
  // dlogits is (p - onehot) / B: the probability's error, divided by B.
  return labelled({compare_scalar(got.loss, want.loss, kSoftmaxLossTolerance, "loss"),
                   compare_count(got.correct, want.correct, "correct"), compare_count(got.count, B, "count"),
                   compare_relative_to_max(probs, want_probs, kSoftmaxProbabilityTolerance, "probs"),
                   compare_relative_to_max(dlogits, want_dlogits, kSoftmaxProbabilityTolerance, "dlogits")},
                  "softmax_xent", "B=" + std::to_string(B) + " C=" + std::to_string(C));
}

std::vector<Comparison> check_optimizer_update(OpRunner& ops, const OptimizerCase& c, int64_t n, bool decay) {
  const std::vector<std::string> slot_names = optimizer_slots(c.config);
  // Parameters, gradients and non-negative slots (a valid state of every optimizer, Adam's second moment
  // included).
  struct State {
    std::vector<float> w, g;
    std::vector<std::vector<float>> slots;
    OptimizerSlots pointers() {
      OptimizerSlots result;
      for (size_t s = 0; s < slots.size(); ++s) result.slot[s] = slots[s].data();
      return result;
    }
  };
  const uint64_t seed = uint64_t(n);
  State got{random_floats(size_t(n), -1, 1, seed), random_floats(size_t(n), -1, 1, seed + 1), {}};
  for (size_t s = 0; s < slot_names.size(); ++s)
    got.slots.push_back(absolute(random_floats(size_t(n), -1, 1, seed + 2 + s)));
  State want = got;
  // One row per output, the worst of the three steps.
  std::vector<Comparison> rows(1 + (c.slots_defined ? slot_names.size() : 0));
  const auto keep_worst = [](Comparison& row, const Comparison& next, const std::string& step) {
    const std::string detail = next.passed ? "" : step + ": " + next.detail;
    if (row.tolerance.empty()) {
      row = next;
      row.detail = detail;
      return;
    }
    if (row.passed && !next.passed) row.detail = detail;
    row.passed = row.passed && next.passed;
    row.max_abs = std::max(row.max_abs, next.max_abs);
    row.max_rel = std::max(row.max_rel, next.max_rel);
    row.worst = std::max(row.worst, next.worst);
  };
  for (const StepValues step : {StepValues{0.05f, 0}, StepValues{0.02f, 1}, StepValues{0.01f, 9999}}) {
    const State before = want;
    ops.optimizer_update(c.config, got.w.data(), got.g.data(), got.pointers(), n, step, decay);
    reference::optimizer_update(c.config, want.w.data(), want.g.data(), want.pointers(), n, step, decay);
    const std::string step_text = "step " + std::to_string(step.step);
    keep_worst(rows[0], compare_update(got.w, want.w, before.w, before.g, "w"), step_text);
    if (!c.slots_defined) {
      got.slots = want.slots;  // the next step starts from the same state
      continue;
    }
    for (size_t s = 0; s < slot_names.size(); ++s)
      keep_worst(rows[s + 1], compare_update(got.slots[s], want.slots[s], before.slots[s], before.g, slot_names[s]),
                 step_text);
  }
  return labelled(rows, std::string("optimizer_update ") + c.name,
                  "n=" + std::to_string(n) + (decay ? " weights" : " biases"));
}

std::vector<Comparison> check_augment_batch(OpRunner& ops, const AugmentationCase& c) {
  const Dataset data = image_dataset(9, c.augmentation.rows, c.augmentation.cols, 7);
  const size_t B = c.indices.size(), D = size_t(data.dim());
  std::vector<float> want(B * D), got(B * D);
  std::vector<uint8_t> want_labels(B), got_labels(B);
  reference::augment_batch(data, c.indices, c.augmentation, 11, c.epoch, want.data(), want_labels.data());
  ops.augment_batch(data, c.indices, c.augmentation, 11, c.epoch, got.data(), got_labels.data());
  return labelled({compare_absolute(got, want, kInterpolationTolerance, "x"),
                   compare_exact(got_labels, want_labels, "labels")},
                  "augment_batch", c.name);
}

void check_every_op(OpRunner& ops, bool quick, const std::function<void(const Comparison&)>& row) {
  const auto emit = [&](const std::vector<Comparison>& rows) {
    for (const Comparison& r : rows) row(r);
  };
  const std::vector<int64_t> batches = quick ? std::vector<int64_t>{3, 257} : kAwkwardBatches;
  for (const int64_t B : batches) emit(check_gather_batch(ops, B));
  const std::vector<DenseShape> shapes = quick ? quick_dense_shape_grid() : dense_shape_grid();
  for (const DenseShape& s : shapes) emit(check_dense_forward(ops, s));
  for (const DenseShape& s : shapes) emit(check_dense_backward_weights(ops, s));
  for (const DenseShape& s : shapes) emit(check_dense_backward_input(ops, s));
  for (const int64_t B : batches)
    for (const int units : quick ? std::vector<int>{7, 129} : kAwkwardSizes)
      for (const float P : quick ? std::vector<float>{0.5f} : std::vector<float>{0.1f, 0.5f, 0.8f})
        emit(check_dropout_forward(ops, B, units, P));
  for (const int64_t B : batches)
    for (const int C : quick ? std::vector<int>{1, 10, 129} : std::vector<int>{1, 7, 10, 31, 33, 127, 129, 256})
      emit(check_softmax_xent(ops, B, C));
  for (const OptimizerCase& c : optimizer_cases())
    for (const int64_t n : quick ? std::vector<int64_t>{33} : kUpdateSizes)
      for (const bool decay : {true, false}) emit(check_optimizer_update(ops, c, n, decay));
  const std::vector<AugmentationCase> cases = augmentation_cases();
  for (const AugmentationCase& c : cases) {
    if (quick && c.name.find("all") == std::string::npos) continue;  // quick: every distortion at once
    emit(check_augment_batch(ops, c));
  }
}

}  // namespace cudamlp::verify
