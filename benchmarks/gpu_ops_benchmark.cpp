// Microbenchmarks of every GPU op through the DeviceOps table (kernels/device_ops.h): the GPU twin of
// cpu_ops_benchmark.cpp, to measure our custom kernels against cuBLAS. Families are named like the ops:
//   <engine>/dense_forward, <engine>/dense_backward_input, <engine>/dense_backward_weights
//       engine: custom (gemm_tiled, epilogues fused), cublas (FP32 SGEMM, then epilogue passes),
//       cublas-tf32 (the same on TF32 tensor cores); over the layers of the networks `cudamlp bench`
//       trains at batch 64, 256, 1024 and 8192, and the square B = in = out = 4096 product of the
//       target "custom >= 90% of cuBLAS at 4096-wide layers". FLOP/s counts the product, 2 B in out.
//   gpu/softmax_xent (10 classes), gpu/sgd_update (the networks' parameter counts), gpu/gather_batch
//       (784 pixels, uint8 on the device, samples in random order): bytes/s.
// Figures measured on a GPU go in docs/gpu-validation.md, with the device from the context header.
//
//   build/benchmarks/cudamlp_gpu_op_benchmarks --benchmark_filter=4096      # the 4096-wide layers (117)
//   build/benchmarks/cudamlp_gpu_op_benchmarks                              # everything (417)
//   build/benchmarks/cudamlp_gpu_op_benchmarks --benchmark_list_tests       # their names
//   CUDAMLP_BENCH_EMULATED=1 build/benchmarks/cudamlp_gpu_op_benchmarks --benchmark_filter='B:64/in:784/out:10/'
// On a GPU a benchmark takes about a second (5 repetitions of at least 0.1 s, and the setup).
//
// Timing: launches are asynchronous, so an iteration queues kLaunchesPerIteration launches, waits for
// them (ops.synchronize) and reports the wall-clock time divided by that count as its manual time:
// the Time column and every rate are per launch. One launch and a synchronize come first, untimed (it
// loads the kernels and creates the cuBLAS handle). Each benchmark runs kRepetitions times and only the
// aggregates are printed: quote the _median rows. Those settings are per benchmark, so
// --benchmark_repetitions and --benchmark_min_time do not change them; narrow with --benchmark_filter.
// The CPU column is the host thread's time per iteration of kLaunchesPerIteration launches (mostly
// spent waiting in the synchronize): ignore it.
//
// Executor: the real GPU. Without one, or in a build without CUDA, every benchmark reports
// "ERROR OCCURRED: 'no GPU: <why>'" and the program exits 0. CUDAMLP_BENCH_EMULATED=1 runs the same
// code on the SIMT emulator instead, one iteration per benchmark: a smoke check of this file (ctest
// runs it), not a measurement, and slow: pick small shapes with --benchmark_filter. An op that throws
// ends its benchmark with the op's message, and the program then exits 1.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cudamlp/errors.h"
#include "cudamlp/gpu_info.h"
#include "cudamlp/rng.h"
#include "device_buffer.h"
#include "device_ops.h"

using namespace cudamlp;

namespace {

// --- shapes and settings -----------------------------------------------------------------------

// (in, out) of every layer of 784-10-10-10, 784-128-64-10, 784-1024-1024-10 and 784-4096-4096-10.
const std::vector<std::pair<int, int>> kLayers = {{784, 10},   {10, 10},     {784, 128},   {128, 64},
                                                 {64, 10},    {784, 1024},  {1024, 1024}, {1024, 10},
                                                 {784, 4096}, {4096, 4096}, {4096, 10}};
const std::vector<int64_t> kBatches = {64, 256, 1024, 8192};
constexpr int64_t kSquare = 4096;  // B = in = out of the square product
constexpr int kClasses = 10;
constexpr int kPixels = 784;
constexpr int64_t kSamples = 60000;  // MNIST's training set: gathered rows scatter as far as in training

// A small op runs for a few microseconds, about as long as a launch's latency and the round trip of a
// synchronize; timing 20 back-to-back launches between two synchronizations makes those a twentieth of
// the figure, which is then the op's throughput as in training, where launches queue behind each other.
constexpr int kLaunchesPerIteration = 20;
// Repetitions of each benchmark on a GPU, for the median.
constexpr int kRepetitions = 5;
// A repetition runs until its manual time, which is per launch, adds up to this: kLaunchesPerIteration
// times as much wall-clock time, 0.1 s, or one iteration where that takes longer.
constexpr double kMinSecondsPerLaunch = 0.005;

// Parameters (weights and biases) of a network given its layer widths: sum of out * (in + 1).
int64_t parameter_count(std::initializer_list<int64_t> widths) {
  int64_t count = 0;
  for (auto in = widths.begin(), out = in + 1; out != widths.end(); ++in, ++out) count += *out * (*in + 1);
  return count;
}

// --- device memory -------------------------------------------------------------------------------

// Where the ops run. ops == nullptr: nowhere, and every benchmark reports why_not.
struct Executor {
  const DeviceOps* ops;
  std::string why_not;
};

// Benchmarks whose op threw, for main's exit code (not counting "no GPU").
int failed_benchmarks = 0;

// Random floats in [-0.5, 0.5), made once and shared by every buffer: the timings do not depend on the
// values, and drawing the 10^8 floats of the largest shapes for every benchmark call would take longer
// than timing them.
std::span<const float> random_floats(size_t n) {
  static std::vector<float> pool;
  static Rng rng(1);
  if (pool.size() < n) {
    pool.reserve(n);
    while (pool.size() < n) pool.push_back(float(rng.uniform() - 0.5));
  }
  return {pool.data(), n};
}

// --- timing --------------------------------------------------------------------------------------

// Runs body(ops) on the executor, or reports why it cannot. An Error from an op (a failed launch, out
// of memory) ends the benchmark with its message instead of the program.
template <typename Body>
void run_on(benchmark::State& state, const Executor& executor, Body body) {
  if (executor.ops == nullptr) return state.SkipWithError(executor.why_not.c_str());
  try {
    body(*executor.ops);
  } catch (const std::exception& error) {  // Error, or std::bad_alloc of a host buffer
    state.SkipWithError(error.what());
    ++failed_benchmarks;
  }
}

// The timed loop of every benchmark: an untimed warm-up launch, then per iteration
// kLaunchesPerIteration launches and a synchronize on the wall clock; the iteration's time is per launch.
template <typename Launch>
void time_launches(benchmark::State& state, const DeviceOps& ops, Launch launch) {
  launch();
  ops.synchronize();
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < kLaunchesPerIteration; ++r) launch();
    ops.synchronize();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    state.SetIterationTime(elapsed.count() / kLaunchesPerIteration);
  }
}

// FLOP/s of one launch: the benchmark's iterations each stand for one launch (see time_launches).
void report_gemm_rate(benchmark::State& state, int64_t B, int in, int out) {
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * double(B) * in * out, benchmark::Counter::kIsIterationInvariantRate);
}

// --- the ops -------------------------------------------------------------------------------------
// The dense ops run as for a hidden layer (ReLU, ReLU mask): their epilogues are in the time, fused on
// the custom engine and separate passes on cuBLAS, and not in the FLOP count.

// Args: B, in, out.   x [B, in]   W [out, in]   b [out]   y [B, out] = relu(x W^T + b)
void dense_forward(benchmark::State& state, const Executor& executor, GemmEngine engine) {
  const int B = int(state.range(0)), in = int(state.range(1)), out = int(state.range(2));
  run_on(state, executor, [&](const DeviceOps& ops) {
    const DeviceArray<float> x(ops, random_floats(size_t(B) * in)), W(ops, random_floats(size_t(out) * in)),
        b(ops, random_floats(size_t(out))), y(ops, size_t(B) * out);
    time_launches(state, ops, [&] {
      ops.dense_forward(x.get(), W.get(), b.get(), y.get(), B, in, out, true, engine, nullptr);
    });
  });
  report_gemm_rate(state, B, in, out);
}

// Args: B, in, out.   dy [B, out]   W [out, in]   x [B, in]   dx [B, in] = dy W, 0 where x <= 0
void dense_backward_input(benchmark::State& state, const Executor& executor, GemmEngine engine) {
  const int B = int(state.range(0)), in = int(state.range(1)), out = int(state.range(2));
  run_on(state, executor, [&](const DeviceOps& ops) {
    const DeviceArray<float> dy(ops, random_floats(size_t(B) * out)), W(ops, random_floats(size_t(out) * in)),
        x(ops, random_floats(size_t(B) * in)), dx(ops, size_t(B) * in);
    time_launches(state, ops, [&] {
      ops.dense_backward_input(dy.get(), W.get(), x.get(), dx.get(), B, in, out, true, 1.0f, engine, nullptr);
    });
  });
  report_gemm_rate(state, B, in, out);
}

// Args: B, in, out.   dy [B, out]   x [B, in]   dW [out, in] = dy^T x   db [out] = column sums of dy
void dense_backward_weights(benchmark::State& state, const Executor& executor, GemmEngine engine) {
  const int B = int(state.range(0)), in = int(state.range(1)), out = int(state.range(2));
  run_on(state, executor, [&](const DeviceOps& ops) {
    const DeviceArray<float> dy(ops, random_floats(size_t(B) * out)), x(ops, random_floats(size_t(B) * in)),
        dW(ops, size_t(out) * in), db(ops, size_t(out));
    time_launches(state, ops, [&] {
      ops.dense_backward_weights(dy.get(), x.get(), dW.get(), db.get(), B, in, out, engine, nullptr);
    });
  });
  report_gemm_rate(state, B, in, out);
}

// Args: B.   logits, probs, dlogits [B, 10]   labels [B]   loss [1]   correct [1]
void softmax_xent(benchmark::State& state, const Executor& executor) {
  const int B = int(state.range(0));
  run_on(state, executor, [&](const DeviceOps& ops) {
    std::vector<uint8_t> host_labels(static_cast<size_t>(B));
    for (int n = 0; n < B; ++n) host_labels[size_t(n)] = uint8_t(n % kClasses);
    const DeviceArray<float> logits(ops, random_floats(size_t(B) * kClasses)), probs(ops, size_t(B) * kClasses),
        dlogits(ops, size_t(B) * kClasses), loss(ops, 1);
    const DeviceArray<uint8_t> labels(ops, std::span<const uint8_t>(host_labels));
    const DeviceArray<int> correct(ops, 1);
    time_launches(state, ops, [&] {
      ops.softmax_xent(logits.get(), labels.get(), probs.get(), dlogits.get(), loss.get(), correct.get(), B,
                       kClasses, nullptr);
    });
  });
  // Per row: 10 logits read, 10 probabilities and 10 gradients written, 1 label read.
  state.SetBytesProcessed(int64_t(state.iterations()) * B * (12 * kClasses + 1));
}

// Args: n.   w, g, v [n]: v = 0.9 v + g; w -= lr v
void sgd_update(benchmark::State& state, const Executor& executor) {
  const int64_t n = state.range(0);
  run_on(state, executor, [&](const DeviceOps& ops) {
    const DeviceArray<float> w(ops, random_floats(size_t(n))), g(ops, random_floats(size_t(n))),
        v(ops, random_floats(size_t(n)));
    // A tiny rate keeps w from drifting over thousands of launches (v stays below 10 |g|).
    const DeviceArray<StepValues> step(ops, 1);
    ops.set_step_values(step.get(), {1e-6f, 0}, nullptr);
    OptimizerSlots slots;
    slots.slot[0] = v.get();
    const OptimizerConfig sgd{OptimizerKind::kSgd, 0.9f};
    time_launches(state, ops, [&] { ops.optimizer_update(sgd, w.get(), g.get(), slots, n, step.get(), true, nullptr); });
  });
  state.SetBytesProcessed(int64_t(state.iterations()) * n * 20);  // w, g, v read; v, w written
}

// Args: B.   pixels [60000, 784] uint8   labels [60000]   indices [60000]: a random order
//            x [B, 784] = pixels[indices[b]] / 255   batch_labels [B]
void gather_batch(benchmark::State& state, const Executor& executor) {
  const int B = int(state.range(0));
  run_on(state, executor, [&](const DeviceOps& ops) {
    // The values do not matter to the timing; a pattern is cheaper to make than random bytes.
    std::vector<uint8_t> host_pixels(size_t(kSamples) * kPixels), host_labels(static_cast<size_t>(kSamples));
    for (size_t i = 0; i < host_pixels.size(); ++i) host_pixels[i] = uint8_t(i % 251);
    for (size_t i = 0; i < host_labels.size(); ++i) host_labels[i] = uint8_t(i % kClasses);
    const std::vector<int64_t> host_order = shuffled_indices(kSamples, 1, 0);
    const DeviceArray<uint8_t> pixels(ops, std::span<const uint8_t>(host_pixels)),
        labels(ops, std::span<const uint8_t>(host_labels)), batch_labels(ops, size_t(B));
    const DeviceArray<int64_t> order(ops, std::span<const int64_t>(host_order));
    const DeviceArray<float> x(ops, size_t(B) * kPixels);
    time_launches(state, ops, [&] {
      ops.gather_batch(pixels.get(), InputScale::kPixel255, labels.get(), order.get(), nullptr, B, kPixels, x.get(),
                       batch_labels.get(), nullptr);
    });
  });
  state.SetBytesProcessed(int64_t(state.iterations()) * B * kPixels * 5);  // 1 byte read, 4 written per pixel
}

// --- registration --------------------------------------------------------------------------------

Executor choose_executor(bool emulated) {
  if (emulated) return {&emulated_ops(), ""};
  const DeviceOps* cuda = cuda_ops();
  if (cuda == nullptr) return {nullptr, "no GPU: this build has no CUDA (nvcc was not found when it was configured)"};
  const GpuInfo gpu = query_gpu();
  if (!gpu.usable) return {nullptr, "no GPU: " + gpu.description};
  return {cuda, ""};
}

struct Engine {
  const char* name;
  GemmEngine engine;
};
const Engine kEngines[] = {
    {"custom", GemmEngine::kCustom}, {"cublas", GemmEngine::kCublas}, {"cublas-tf32", GemmEngine::kCublasTf32}};

struct GemmOp {
  const char* name;
  void (*run)(benchmark::State&, const Executor&, GemmEngine);
};
const GemmOp kGemmOps[] = {{"dense_forward", dense_forward},
                           {"dense_backward_input", dense_backward_input},
                           {"dense_backward_weights", dense_backward_weights}};

// Registers every benchmark, engines side by side for each shape, so the output reads as a comparison.
void register_all(const Executor& executor) {
  const bool on_gpu = executor.ops != nullptr && executor.ops == cuda_ops();
  const auto add = [&](const std::string& name, auto run) {
    benchmark::internal::Benchmark* b =
        benchmark::RegisterBenchmark(name.c_str(), [executor, run](benchmark::State& state) { run(state, executor); });
    b->UseManualTime()->Unit(benchmark::kMicrosecond);
    if (on_gpu)
      b->MinTime(kMinSecondsPerLaunch)->Repetitions(kRepetitions)->ReportAggregatesOnly(true);
    else if (executor.ops != nullptr)
      b->Iterations(1);  // the emulator: one iteration shows the code works; more would only take longer
    return b;
  };

  std::vector<std::vector<int64_t>> gemm_shapes;  // B, in, out
  for (const int64_t B : kBatches)
    for (const auto& [in, out] : kLayers) gemm_shapes.push_back({B, in, out});
  gemm_shapes.push_back({kSquare, kSquare, kSquare});
  for (const GemmOp& op : kGemmOps)
    for (const std::vector<int64_t>& shape : gemm_shapes)
      for (const Engine& engine : kEngines) {
        const auto run = [op, engine](benchmark::State& state, const Executor& on) {
          op.run(state, on, engine.engine);
        };
        add(std::string(engine.name) + "/" + op.name, run)->Args(shape)->ArgNames({"B", "in", "out"});
      }

  for (const int64_t B : kBatches) add("gpu/softmax_xent", softmax_xent)->Arg(B)->ArgName("B");
  for (const int64_t n : {parameter_count({784, 10, 10, 10}), parameter_count({784, 128, 64, 10}),
                          parameter_count({784, 1024, 1024, 10}), parameter_count({784, 4096, 4096, 10})})
    add("gpu/sgd_update", sgd_update)->Arg(n)->ArgName("n");
  for (const int64_t B : kBatches) add("gpu/gather_batch", gather_batch)->Arg(B)->ArgName("B");
}

std::string describe(const Executor& executor) {
  if (executor.ops == nullptr) return executor.why_not;
  if (executor.ops != cuda_ops())
    return "SIMT emulator on the CPU (CUDAMLP_BENCH_EMULATED=1): a smoke check, not a measurement";
  return "cuda: " + query_gpu().description;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  const char* emulated_variable = std::getenv("CUDAMLP_BENCH_EMULATED");
  const std::string emulated = emulated_variable != nullptr ? emulated_variable : "0";
  if (emulated != "0" && emulated != "1") {
    std::fprintf(stderr, "CUDAMLP_BENCH_EMULATED=%s: expected 1 (run on the SIMT emulator) or 0\n", emulated.c_str());
    return 2;
  }
  const Executor executor = choose_executor(emulated == "1");
  register_all(executor);
  benchmark::AddCustomContext("executor", describe(executor));
  benchmark::AddCustomContext("launches per iteration", std::to_string(kLaunchesPerIteration));
  const size_t ran = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (ran == 0) return 1;  // the filter matched nothing (Google Benchmark has said so)
  if (failed_benchmarks > 0) {
    std::fprintf(stderr, "%d benchmark(s) failed: see ERROR OCCURRED above\n", failed_benchmarks);
    return 1;
  }
  return 0;
}
