// `cudamlp bench`: training throughput of every backend this build has, over a grid of networks and
// batch sizes, on synthetic data of MNIST's shape (no download). Each cell (backend, network, batch)
// warms up, then times `--repeats` runs of a few whole training steps and reports the median
// (samples/s and ms per step). Cells whose steps would not fit the time budget are skipped, and say so.
//
//   cudamlp bench                                     # the whole grid, about 3 s per cell
//   cudamlp bench --networks 784-128-64-10 --batches 64,256 --backends cpu --budget 1
//   cudamlp bench --json bench.json --plot bench.svg  # same numbers as JSON, and a log-log chart
//
// benchmarks/pytorch_baseline.py prints the same JSON fields for PyTorch's own training loop.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "bench.h"
#include "cli_common.h"
#include "cudamlp/backend.h"
#include "cudamlp/errors.h"
#include "cudamlp/model.h"
#include "cudamlp/rng.h"
#include "cudamlp/run_limits.h"
#include "cudamlp/atomic_file.h"

namespace cudamlp::cli {

namespace {

// The backends bench measures by default, in this order, by label: a --device name, or gpu:ENGINE for
// the gpu backend with one GEMM engine (--gemm ENGINE). Those make_backend cannot build here are left
// out with a note. Rows whose label starts with "gpu" get the GPU/CPU speedup column against the "cpu"
// row of the same cell.
const std::vector<std::string> kBenchBackends = {"reference", "cpu", "gpu:custom", "gpu:cublas"};
// What --backends accepts besides those: the gpu backend choosing its engine per layer (--gemm auto).
const std::vector<std::string> kOtherBenchBackends = {"gpu"};

constexpr int kMinRepeats = 3;          // fewer timed repeats than this and a cell is skipped
constexpr double kWarmupShare = 0.2;    // of the budget, at most, spent warming up

}  // namespace

std::vector<std::string> split_list(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (true) {
    const size_t end = text.find(separator, begin);
    parts.push_back(text.substr(begin, end - begin));
    if (end == std::string::npos) return parts;
    begin = end + 1;
  }
}

// "784-128-64-10,784-10-10-10" -> {{784, 128, 64, 10}, {784, 10, 10, 10}}.
std::vector<std::vector<int>> parse_networks(const std::string& text) {
  std::vector<std::vector<int>> networks;
  for (const std::string& network : split_list(text, ',')) {
    std::vector<int> sizes;
    for (const std::string& size : split_list(network, '-')) {
      size_t used = 0;
      int value = 0;
      try {
        value = std::stoi(size, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != size.size() || value < 1 || value > kMaxLayerSize)
        throw UsageError("--networks " + text + ": '" + network + "' is not layer sizes like 784-128-64-10 " +
                         "(each in [1, " + std::to_string(kMaxLayerSize) + "])");
      sizes.push_back(value);
    }
    if (sizes.size() < 2 || sizes.back() > 256)
      throw UsageError("--networks " + text + ": '" + network +
                       "' needs an input and an output size, with at most 256 classes");
    networks.push_back(sizes);
  }
  return networks;
}

// "32,64" -> {32, 64}
std::vector<int64_t> parse_batches(const std::string& text) {
  std::vector<int64_t> batches;
  for (const std::string& batch : split_list(text, ',')) {
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(batch, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != batch.size() || value < 1 || value > kMaxBatch)
      throw UsageError("--batches " + text + ": '" + batch + "' is not a batch size in [1, " +
                       std::to_string(kMaxBatch) + "]");
    batches.push_back(value);
  }
  return batches;
}

// n samples of D random pixels with random labels in [0, C): MNIST's shape when D = 784, C = 10.
Dataset synthetic_dataset(int64_t n, int D, int C) {
  Dataset data;
  data.count = n;
  data.rows = D == 784 ? 28 : 1;
  data.cols = D / data.rows;
  data.num_classes = C;
  Rng rng(12345);
  data.pixels.resize(size_t(n * D));
  for (uint8_t& p : data.pixels) p = uint8_t(rng.below(256));
  data.labels.resize(size_t(n));
  for (uint8_t& label : data.labels) label = uint8_t(rng.below(uint64_t(C)));
  return data;
}

// Multiply-adds of one training step, times 2: forward x W^T, backward dW = dy^T x for every layer and
// dx = dy W for all but the first. Used to predict a step's time from the backend's rate so far.
double flops_per_step(const std::vector<int>& sizes, int64_t batch) {
  double flops = 0;
  for (size_t l = 0; l + 1 < sizes.size(); ++l)
    flops += 2.0 * double(batch) * sizes[l] * sizes[l + 1] * (l == 0 ? 2 : 3);
  return flops;
}

namespace {

// A first estimate of backend's FLOP/s, from a few steps of a small network (D-64-C, batch 32), so
// that the first cell of a backend can be skipped before it runs too: one step of the reference
// backend on 784-4096-4096-10 at batch 8192 would take a quarter of an hour.
double calibrate(Backend& backend, int D, int C) {
  const std::vector<int> sizes = {D, 64, C};
  const int64_t batch = 32;
  const Dataset data = synthetic_dataset(2 * batch, D, C);
  backend.set_model(make_mlp(sizes, 1));
  backend.set_training_data(data);
  backend.begin_epoch({data.count, 1, 0, true});
  int64_t step = 0;
  run_steps(backend, data.count, batch, step, 1);
  return 3 * flops_per_step(sizes, batch) / run_steps(backend, data.count, batch, step, 3);
}

}  // namespace

// The backend of a label: "cpu", or "gpu:cublas" = --device gpu --gemm cublas.
std::unique_ptr<Backend> make_bench_backend(const std::string& label, BackendOptions options) {
  const size_t colon = label.find(':');
  if (colon != std::string::npos) options.gemm = label.substr(colon + 1);
  return make_backend(label.substr(0, colon), options);
}

namespace {

struct BenchBackend {
  std::string label;
  std::unique_ptr<Backend> backend;
};

// Times one cell. `rate` is the highest FLOP/s the backend reached so far (from calibrate() at
// first), the basis of the prediction that skips a cell; updated here.
BenchResult measure(Backend& backend, const std::string& label, const Dataset& data, const std::vector<int>& sizes,
                    int64_t batch, const BenchArgs& args, double& rate) {
  BenchResult result;
  result.backend = label;
  result.sizes = sizes;
  result.batch = batch;
  // A cell too large for memory is skipped, not left to std::bad_alloc, which would end the whole grid.
  const std::string too_large = training_memory_problem(mlp_network(sizes), OptimizerConfig{}, batch);
  if (!too_large.empty()) {
    result.skipped = true;
    result.reason = too_large;
    return result;
  }
  const double flops = flops_per_step(sizes, batch);
  const double step_budget = args.budget / (1 + kMinRepeats);  // a warm-up step + kMinRepeats timed ones
  if (flops / rate > step_budget) {
    result.skipped = true;
    result.reason = format("predicted %.3g s per step, over the budget of %g s for %d+1 steps", flops / rate,
                           args.budget, kMinRepeats);
    return result;
  }

  backend.set_model(make_mlp(sizes, 1));
  backend.set_regularization({.dropout = float(args.dropout), .augmentation = {}, .seed = 1});
  backend.set_training_data(data);
  backend.begin_epoch({data.count, 1, 0, true});
  int64_t step = 0;
  auto run = [&](int64_t steps) { return run_steps(backend, data.count, batch, step, steps); };

  // Warm-up: the first step allocates the buffers; more steps (up to kWarmupShare of the budget) wake
  // the thread pool, fault the pages in and fill the caches.
  double seconds = run(1);
  rate = std::max(rate, flops / seconds);
  if (seconds > step_budget) {
    result.skipped = true;
    result.reason = format("one step took %.3g s, over the budget of %g s for %d+1 steps", seconds, args.budget,
                           kMinRepeats);
    return result;
  }
  int64_t warm = 1;
  while (seconds < kWarmupShare * args.budget && warm < 1000) {
    seconds += run(warm);
    warm *= 2;
  }
  const double step_seconds = std::min(seconds, run(1));  // a post-warm-up estimate of one step

  // Repeats of `steps` steps filling the rest of the budget; fewer repeats when even one step per
  // repeat would overrun it.
  const double left = (1 - kWarmupShare) * args.budget;
  result.repeats = int(std::clamp<double>(std::floor(left / step_seconds), kMinRepeats, args.repeats));
  result.steps_per_repeat = std::max<int64_t>(1, int64_t(left / result.repeats / step_seconds));
  std::vector<double> per_step;
  for (int r = 0; r < result.repeats; ++r) per_step.push_back(run(result.steps_per_repeat) / double(result.steps_per_repeat));
  const double step_median = median(per_step);
  result.ms_per_step = 1e3 * step_median;
  result.samples_per_second = double(batch) / step_median;
  rate = std::max(rate, flops / step_median);
  return result;
}

}  // namespace

double run_steps(Backend& backend, int64_t samples, int64_t batch, int64_t& step, int64_t steps) {
  if (samples < batch) throw Error("bench: " + std::to_string(samples) + " samples cannot make a batch of " + std::to_string(batch));
  const int64_t windows = samples / batch;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i, ++step) backend.train_batch((step % windows) * batch, batch, {kBenchLearningRate, step});
  backend.epoch_stats();  // a GPU has finished when its metrics are read
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t half = values.size() / 2;
  return values.size() % 2 ? values[half] : (values[half - 1] + values[half]) / 2;
}

// 1234567.8 -> "1,234,568"
std::string with_commas(double value) {
  std::string digits = format("%.0f", value);
  for (int i = int(digits.size()) - 3; i > 0; i -= 3) digits.insert(size_t(i), ",");
  return digits;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos)
      return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

namespace {

nlohmann::json result_json(const BenchResult& r) {
  nlohmann::json row = {{"backend", r.backend},
                        {"network", join_sizes(r.sizes)},
                        {"sizes", r.sizes},
                        {"batch", r.batch},
                        {"status", r.skipped ? "skipped" : "ok"}};
  if (r.skipped) {
    row["reason"] = r.reason;
    return row;
  }
  row["ms_per_step"] = r.ms_per_step;
  row["samples_per_second"] = r.samples_per_second;
  row["steps_per_repeat"] = r.steps_per_repeat;
  row["repeats"] = r.repeats;
  row["gpu_cpu_speedup"] = r.gpu_cpu_speedup > 0 ? nlohmann::json(r.gpu_cpu_speedup) : nlohmann::json();
  return row;
}

// The backends to measure: those --backends asks for (each must be buildable here), or every one that
// is; those left out, with why, go to left_out.
std::vector<BenchBackend> bench_backends(const BenchArgs& args, std::vector<std::string>& left_out) {
  std::vector<BenchBackend> backends;
  BackendOptions options;
  options.threads = args.threads;
  if (args.backends.empty()) {
    for (const std::string& label : kBenchBackends) {
      try {
        backends.push_back({label, make_bench_backend(label, options)});
      } catch (const Error& e) {
        left_out.push_back(label + " (" + e.what() + ")");
      }
    }
    return backends;
  }
  for (const std::string& label : split_list(args.backends, ',')) {
    if (std::find(kBenchBackends.begin(), kBenchBackends.end(), label) == kBenchBackends.end() &&
        std::find(kOtherBenchBackends.begin(), kOtherBenchBackends.end(), label) == kOtherBenchBackends.end())
      throw UsageError("--backends " + args.backends + ": unknown backend '" + label +
                       "' (expected a comma-separated list of reference, cpu, gpu, gpu:custom, gpu:cublas)");
    if (std::any_of(backends.begin(), backends.end(), [&](const BenchBackend& b) { return b.label == label; }))
      continue;
    try {
      backends.push_back({label, make_bench_backend(label, options)});
    } catch (const Error& e) {
      throw UsageError("--backends " + label + ": " + e.what());
    }
  }
  return backends;
}

// Every cell of the grid, network by network and batch by batch, each row printed as it is measured.
std::vector<BenchResult> measure_grid(const BenchArgs& args, const std::vector<BenchBackend>& backends,
                                      const std::vector<std::vector<int>>& networks,
                                      const std::vector<int64_t>& batches) {
  std::vector<BenchResult> results;
  std::vector<double> rates;  // the highest FLOP/s measured so far, per backend
  for (const BenchBackend& b : backends)
    rates.push_back(calibrate(*b.backend, networks.front().front(), networks.front().back()));
  for (const std::vector<int>& sizes : networks) {
    int64_t largest = *std::max_element(batches.begin(), batches.end());
    const Dataset data = synthetic_dataset(std::max<int64_t>(2 * largest, 1024), sizes.front(), sizes.back());
    for (const int64_t batch : batches) {
      double cpu_rate = 0;  // the cpu row's samples/s of this cell, for the gpu rows after it
      for (size_t b = 0; b < backends.size(); ++b) {
        BenchResult r = measure(*backends[b].backend, backends[b].label, data, sizes, batch, args, rates[b]);
        if (!r.skipped && r.backend == "cpu") cpu_rate = r.samples_per_second;
        if (!r.skipped && r.backend.rfind("gpu", 0) == 0 && cpu_rate > 0)
          r.gpu_cpu_speedup = r.samples_per_second / cpu_rate;
        const std::string network = join_sizes(r.sizes);
        if (r.skipped) {
          std::cout << format("%-20s %6lld  %-10s skipped: ", network.c_str(), (long long)batch, r.backend.c_str())
                    << r.reason << std::endl;
        } else {
          const std::string speedup = r.gpu_cpu_speedup > 0 ? format("%.2fx", r.gpu_cpu_speedup) : "";
          std::cout << format("%-20s %6lld  %-10s %10.3f %14s  %s", network.c_str(), (long long)batch,
                              r.backend.c_str(), r.ms_per_step, with_commas(r.samples_per_second).c_str(),
                              speedup.c_str())
                    << std::endl;
        }
        results.push_back(std::move(r));
      }
    }
  }
  return results;
}

// --json and --plot.
void write_bench_files(const BenchArgs& args, const std::vector<BenchResult>& results, int threads,
                       const std::string& blas) {
  const std::string title = format("cudamlp bench: training samples/s (%s, %d thread%s)", cpu_model().c_str(), threads,
                                   threads == 1 ? "" : "s");
  if (!args.json_path.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const BenchResult& r : results) rows.push_back(result_json(r));
    const nlohmann::json report = {{"tool", "cudamlp bench"},
                                   {"date", utc_now()},
                                   {"cpu_model", cpu_model()},
                                   {"threads", threads},
                                   {"blas", blas},
                                   {"data", "synthetic, uint8 pixels, MNIST-shaped"},
                                   {"lr", kBenchLearningRate},
                                   {"momentum", 0.0},
                                   {"dropout", args.dropout},
                                   {"budget_seconds", args.budget},
                                   {"results", rows}};
    write_file_atomically(args.json_path, report.dump(2) + "\n");
    std::cout << "wrote " << args.json_path << "\n";
  }
  if (!args.plot_path.empty()) {
    write_file_atomically(args.plot_path, bench_svg(results, title));
    std::cout << "wrote " << args.plot_path << "\n";
  }
}

int run_bench(const BenchArgs& args) {
  if (args.dist.enabled)
    return run_maybe_distributed(args.dist, [&](Communicator* comm) { return run_distributed_bench(args, *comm); });
  if (args.app->get_option("--scaling")->count() > 0) throw UsageError("--scaling needs --distributed");
  const std::vector<std::vector<int>> networks = parse_networks(args.networks);
  const std::vector<int64_t> batches = parse_batches(args.batches);
  if (!args.json_path.empty()) check_output_path("--json", args.json_path);
  if (!args.plot_path.empty()) check_output_path("--plot", args.plot_path);
  check_outputs_apart({{"--json", args.json_path}, {"--plot", args.plot_path}}, {});
  std::vector<std::string> left_out;
  const std::vector<BenchBackend> backends = bench_backends(args, left_out);

  const CpuBackendInfo cpu = cpu_backend_info();
  const int threads = args.threads != 0 ? args.threads : cpu.default_threads;
  const std::string blas = cpu.built ? cpu.blas : "none (no cpu backend in this build)";
  std::cout << format("cudamlp bench: training throughput on synthetic MNIST-shaped data, SGD lr %g%s, median of "
                      "%d repeats after warm-up, budget %g s per cell\n",
                      double(kBenchLearningRate),
                      args.dropout > 0 ? format(", dropout %g", args.dropout).c_str() : "", args.repeats,
                      args.budget);
  std::cout << "host: " << cpu_model() << ", " << threads << (threads == 1 ? " thread" : " threads") << ", BLAS "
            << blas << "\n";
  for (const std::string& name : left_out) std::cout << "not measured: " << name << "\n";
  std::cout << format("\n%-20s %6s  %-10s %10s %14s  %s\n", "network", "batch", "backend", "ms/step", "samples/s",
                      "gpu/cpu");

  const std::vector<BenchResult> results = measure_grid(args, backends, networks, batches);
  write_bench_files(args, results, threads, blas);
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* app = parent.add_subcommand(
      "bench", "Measure training throughput of every backend over networks and batch sizes (synthetic data)");
  app->add_option("--backends", args->backends,
                  "Comma-separated: reference, cpu, gpu (engine per layer), gpu:custom, gpu:cublas [every one built here]");
  app->add_option("--networks", args->networks, "Comma-separated layer sizes, e.g. 784-128-64-10")
      ->capture_default_str();
  app->add_option("--batches", args->batches, "Comma-separated batch sizes")->capture_default_str();
  app->add_option("--budget", args->budget, "Seconds per cell (backend, network, batch); longer cells are skipped")
      ->check(seconds_up_to(kMaxBenchBudgetSeconds))->capture_default_str();
  app->add_option("--repeats", args->repeats, "Timed repeats per cell; the median is reported")
      ->check(CLI::Range(1, 1000))->capture_default_str();
  add_threads_option(*app, args->threads);
  app->add_option("--dropout", args->dropout, "Train with inverted dropout of this P after every hidden ReLU")
      ->check(kDropoutRange)->capture_default_str();
  app->add_option("--json", args->json_path, "Also write the results as JSON to this file");
  app->add_option("--plot", args->plot_path, "Also write an SVG chart of samples/s against batch size here");
  add_distributed_options(*app, args->dist);
  app->add_option("--scaling", args->scaling,
                  "With --distributed: weak (--batches per rank, the global batch grows with the ranks) or strong "
                  "(--batches global, split over the ranks)")
      ->check(CLI::IsMember({"weak", "strong"}))
      ->capture_default_str();
  args->app = app;
  return {app, [args] { return run_bench(*args); }};
}

}  // namespace cudamlp::cli
