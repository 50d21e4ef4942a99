// Microbenchmarks of every op on the host backends: `reference` (the oracle, plain double loops: only
// the small shapes) and `cpu` (BLAS + OpenMP). Shapes are the layers of the networks `cudamlp bench`
// trains, at batch 64, 256 and 1024. GEMM-backed ops report FLOP/s; passes report bytes/s. The GPU twin
// is gpu_ops_benchmark.cpp (custom kernels against cuBLAS).
//
//   build/benchmarks/cudamlp_op_benchmarks                                   # everything
//   build/benchmarks/cudamlp_op_benchmarks --benchmark_filter='cpu/dense_forward'
//   OMP_NUM_THREADS=1 build/benchmarks/cudamlp_op_benchmarks                  # one thread
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "cudamlp/rng.h"
#include "reference_ops.h"
#if CUDAMLP_HAVE_CPU_BACKEND
#include "cpu_ops.h"
#endif

using namespace cudamlp;

namespace {

// (in, out) of every layer of 784-10-10-10, 784-128-64-10, 784-1024-1024-10 and 784-4096-4096-10.
const std::vector<std::pair<int, int>> kLayers = {{784, 10},   {10, 10},     {784, 128},   {128, 64},
                                                 {64, 10},    {784, 1024},  {1024, 1024}, {1024, 10},
                                                 {784, 4096}, {4096, 4096}, {4096, 10}};
const std::vector<int64_t> kBatches = {64, 256, 1024};
// The reference runs only shapes of at most this many multiply-adds: its loops do ~1 GFLOP/s.
constexpr double kReferenceMaxMacs = 3e7;

std::vector<float> random_floats(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> values(n);
  for (float& v : values) v = float(rng.uniform() - 0.5);
  return values;
}

Dataset random_dataset(int64_t n, int D) {
  Dataset data;
  data.count = n;
  data.rows = 28;
  data.cols = D / 28;
  Rng rng(1);
  data.pixels.resize(size_t(n * D));
  for (uint8_t& p : data.pixels) p = uint8_t(rng.below(256));
  data.labels.resize(size_t(n));
  for (uint8_t& label : data.labels) label = uint8_t(rng.below(10));
  return data;
}

// The two backends' ops behind one name each, so every benchmark body is written once.
struct ReferenceOps {
  static constexpr const char* name = "reference";
  static void gather_batch(const Dataset& d, std::span<const int64_t> i, float* x, uint8_t* l) {
    reference::gather_batch(d, i, x, l);
  }
  static void dense_forward(const float* x, const float* W, const float* b, float* y, int64_t B, int in, int out) {
    reference::dense_forward(x, W, b, y, B, in, out, true);
  }
  static void dense_backward_weights(const float* dy, const float* x, float* dW, float* db, int64_t B, int in, int out) {
    reference::dense_backward_weights(dy, x, dW, db, B, in, out);
  }
  static void dense_backward_input(const float* dy, const float* W, const float* x, float* dx, int64_t B, int in,
                                   int out) {
    reference::dense_backward_input(dy, W, x, dx, B, in, out, true);
  }
  static BatchStats softmax_xent(const float* l, const uint8_t* y, float* p, float* d, int64_t B, int C) {
    return reference::softmax_xent(l, y, p, d, B, C);
  }
  static void dropout_forward(float* y, int64_t B, int units, float P) {
    reference::dropout_forward(y, B, units, P, 1, 7, 0, 0);
  }
  static void sgd_update(float* w, const float* g, float* v, int64_t n, float lr, float m) {
    reference::sgd_update(w, g, v, n, lr, m, false, 0.0f);
  }
};

#if CUDAMLP_HAVE_CPU_BACKEND
struct CpuOps {
  static constexpr const char* name = "cpu";
  static void gather_batch(const Dataset& d, std::span<const int64_t> i, float* x, uint8_t* l) {
    cpu::gather_batch(d, i, x, l);
  }
  static void dense_forward(const float* x, const float* W, const float* b, float* y, int64_t B, int in, int out) {
    cpu::dense_forward(x, W, b, y, B, in, out, true);
  }
  static void dense_backward_weights(const float* dy, const float* x, float* dW, float* db, int64_t B, int in, int out) {
    cpu::dense_backward_weights(dy, x, dW, db, B, in, out);
  }
  static void dense_backward_input(const float* dy, const float* W, const float* x, float* dx, int64_t B, int in,
                                   int out) {
    cpu::dense_backward_input(dy, W, x, dx, B, in, out, true);
  }
  static BatchStats softmax_xent(const float* l, const uint8_t* y, float* p, float* d, int64_t B, int C) {
    return cpu::softmax_xent(l, y, p, d, B, C);
  }
  static void dropout_forward(float* y, int64_t B, int units, float P) {
    cpu::dropout_forward(y, B, units, P, 1, 7, 0, 0);
  }
  static void sgd_update(float* w, const float* g, float* v, int64_t n, float lr, float m) {
    cpu::sgd_update(w, g, v, n, lr, m, false, 0.0f);
  }
};
#endif

// Args: batch, in, out.
template <typename Ops>
void dense_forward(benchmark::State& state) {
  const int64_t B = state.range(0);
  const int in = int(state.range(1)), out = int(state.range(2));
  const std::vector<float> x = random_floats(size_t(B * in), 1), W = random_floats(size_t(out) * in, 2),
                           b = random_floats(size_t(out), 3);
  std::vector<float> y(size_t(B * out));
  for (auto _ : state) {
    Ops::dense_forward(x.data(), W.data(), b.data(), y.data(), B, in, out);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(B) * in * out, benchmark::Counter::kIsIterationInvariantRate);
}

// Args: batch, in, out. dW = dy^T x and db: one GEMM and the column sums.
template <typename Ops>
void dense_backward_weights(benchmark::State& state) {
  const int64_t B = state.range(0);
  const int in = int(state.range(1)), out = int(state.range(2));
  const std::vector<float> dy = random_floats(size_t(B * out), 1), x = random_floats(size_t(B * in), 2);
  std::vector<float> dW(size_t(out) * in), db(static_cast<size_t>(out));
  for (auto _ : state) {
    Ops::dense_backward_weights(dy.data(), x.data(), dW.data(), db.data(), B, in, out);
    benchmark::DoNotOptimize(dW.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(B) * in * out, benchmark::Counter::kIsIterationInvariantRate);
}

// Args: batch, in, out. dx = dy W with the previous layer's ReLU mask (a hidden layer's backward): one GEMM
// and the mask.
template <typename Ops>
void dense_backward_input(benchmark::State& state) {
  const int64_t B = state.range(0);
  const int in = int(state.range(1)), out = int(state.range(2));
  const std::vector<float> dy = random_floats(size_t(B * out), 1), x = random_floats(size_t(B * in), 2),
                           W = random_floats(size_t(out) * in, 3);
  std::vector<float> dx(x.size());
  for (auto _ : state) {
    Ops::dense_backward_input(dy.data(), W.data(), x.data(), dx.data(), B, in, out);
    benchmark::DoNotOptimize(dx.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(B) * in * out, benchmark::Counter::kIsIterationInvariantRate);
}

// Args: batch. MNIST's 784 pixels per sample, random sample order.
template <typename Ops>
void gather_batch(benchmark::State& state) {
  const int64_t B = state.range(0);
  const Dataset data = random_dataset(2 * B, 784);
  std::vector<int64_t> indices(static_cast<size_t>(B));
  for (int64_t n = 0; n < B; ++n) indices[size_t(n)] = (n * 7919) % data.count;
  std::vector<float> x(size_t(B * 784));
  std::vector<uint8_t> labels(static_cast<size_t>(B));
  for (auto _ : state) {
    Ops::gather_batch(data, indices, x.data(), labels.data());
    benchmark::DoNotOptimize(x.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * B * 784 * 5);  // 1 byte read, 4 written
}

// Args: batch. 10 classes.
template <typename Ops>
void softmax_xent(benchmark::State& state) {
  const int64_t B = state.range(0);
  const int C = 10;
  const std::vector<float> logits = random_floats(size_t(B * C), 1);
  std::vector<uint8_t> labels(static_cast<size_t>(B));
  for (int64_t n = 0; n < B; ++n) labels[size_t(n)] = uint8_t(n % C);
  std::vector<float> probs(logits.size()), dlogits(logits.size());
  for (auto _ : state) benchmark::DoNotOptimize(Ops::softmax_xent(logits.data(), labels.data(), probs.data(), dlogits.data(), B, C));
  state.SetItemsProcessed(int64_t(state.iterations()) * B);
}

// Args: batch, units. P = 0.2 on a hidden layer's output: one counter hash per unit.
template <typename Ops>
void dropout_forward(benchmark::State& state) {
  const int64_t B = state.range(0);
  const int units = int(state.range(1));
  std::vector<float> y = random_floats(size_t(B * units), 1);
  for (auto _ : state) {
    Ops::dropout_forward(y.data(), B, units, 0.2f);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * B * units);
}

// Args: parameters, momentum in percent (0: w -= lr g, 3 streams; 90: with the velocity, 5 streams).
template <typename Ops>
void sgd_update(benchmark::State& state) {
  const int64_t n = state.range(0);
  const float momentum = float(state.range(1)) / 100;
  std::vector<float> w = random_floats(size_t(n), 1), v(size_t(n), 0.0f);
  const std::vector<float> g = random_floats(size_t(n), 2);
  for (auto _ : state) {
    Ops::sgd_update(w.data(), g.data(), v.data(), n, 1e-6f, momentum);
    benchmark::DoNotOptimize(w.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * n * (momentum == 0 ? 12 : 20));
}

template <typename Ops>
void register_all(bool all_shapes) {
  const std::string prefix = std::string(Ops::name) + "/";
  for (const int64_t B : kBatches) {
    for (const auto& [in, out] : kLayers) {
      if (!all_shapes && double(B) * in * out > kReferenceMaxMacs) continue;
      benchmark::RegisterBenchmark((prefix + "dense_forward").c_str(), dense_forward<Ops>)->Args({B, in, out})->UseRealTime();
      benchmark::RegisterBenchmark((prefix + "dense_backward_weights").c_str(), dense_backward_weights<Ops>)
          ->Args({B, in, out})
          ->UseRealTime();
      benchmark::RegisterBenchmark((prefix + "dense_backward_input").c_str(), dense_backward_input<Ops>)
          ->Args({B, in, out})
          ->UseRealTime();
    }
    benchmark::RegisterBenchmark((prefix + "gather_batch").c_str(), gather_batch<Ops>)->Arg(B)->UseRealTime();
    benchmark::RegisterBenchmark((prefix + "softmax_xent").c_str(), softmax_xent<Ops>)->Arg(B)->UseRealTime();
    for (const int units : {128, 1024})
      benchmark::RegisterBenchmark((prefix + "dropout_forward").c_str(), dropout_forward<Ops>)
          ->Args({B, units})
          ->UseRealTime();
  }
  // Parameter counts of 784-10-10-10, 784-128-64-10, 784-1024-1024-10 and 784-4096-4096-10.
  for (const int64_t n : {8070, 109386, 1863690, 20037642}) {
    if (!all_shapes && n > 2000000) continue;
    for (const int64_t momentum : {0, 90})
      benchmark::RegisterBenchmark((prefix + "sgd_update").c_str(), sgd_update<Ops>)->Args({n, momentum})->UseRealTime();
  }
}

// Registered at start-up, before benchmark_main's main() runs them.
const bool kRegistered = [] {
  register_all<ReferenceOps>(false);
#if CUDAMLP_HAVE_CPU_BACKEND
  register_all<CpuOps>(true);
#endif
  return true;
}();

}  // namespace
