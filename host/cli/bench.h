// `cudamlp bench`: what one measurement is, shared by the command (bench_command.cpp) and its chart
// (bench_plot.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli_common.h"
#include "cudamlp/backend.h"
#include "cudamlp/communicator.h"
#include "cudamlp/dataset.h"

namespace cudamlp::cli {

struct BenchArgs {
  std::string backends;  // comma-separated labels (kBenchBackends); empty: every one built here
  std::string networks = "784-10-10-10,784-128-64-10,784-1024-1024-10,784-4096-4096-10";
  std::string batches = "32,64,128,256,512,1024,2048,4096,8192";
  double budget = 3.0;  // seconds per cell
  int repeats = 5;
  int threads = 0;
  double dropout = 0.0;  // --dropout P: train every cell with inverted dropout (its cost, measured)
  std::string json_path;
  std::string plot_path;
  DistributedOptions dist;        // --distributed: scaling over mpirun's ranks instead of the backend grid
  std::string scaling = "weak";   // --scaling: weak (--batches per rank) or strong (--batches global)
  const CLI::App* app = nullptr;  // to ask which flags were given
};

// The longest --budget of one cell: an hour, where the grid's largest cell needs seconds; it keeps the
// steps per repeat that the budget buys (budget / seconds per step) inside int64.
constexpr double kMaxBenchBudgetSeconds = 3600;

constexpr float kBenchLearningRate = 0.01f;  // small enough that random labels never blow the weights up

// `cudamlp bench --distributed`, on one rank of comm: samples/s of data-parallel training on the first
// 1, 2, 4, ... ranks and all of them, and the scaling efficiency of each rank count (bench_distributed.cpp).
int run_distributed_bench(const BenchArgs& args, Communicator& comm);

// Pieces of bench_command.cpp that the distributed bench shares.
std::vector<std::string> split_list(const std::string& text, char separator);
std::vector<std::vector<int>> parse_networks(const std::string& text);  // "784-128-10,..." or UsageError
std::vector<int64_t> parse_batches(const std::string& text);            // "32,64" or UsageError
// n samples of D random pixels with random labels in [0, C): MNIST's shape when D = 784, C = 10.
Dataset synthetic_dataset(int64_t n, int D, int C);
// The backend of a label: "cpu", or "gpu:cublas" = --device gpu --gemm cublas.
std::unique_ptr<Backend> make_bench_backend(const std::string& label, BackendOptions options);
// Runs `steps` training steps of `batch` samples on backend (model and data set, begin_epoch called) the
// way `train` does, through train_batch: on a GPU each step is a replayed CUDA graph and the metrics stay
// on the device. The batches are the windows [k batch, (k + 1) batch) of the epoch's order, k counting
// up and wrapping to 0 before the window would pass `samples` (a GPU moves its cursor back then, in
// stream order: one tiny launch). Needs samples >= batch. Returns their seconds, the wait for a GPU to finish included. `step` counts the steps so
// far. With a communicator, batch is the global batch and this is a collective.
double run_steps(Backend& backend, int64_t samples, int64_t batch, int64_t& step, int64_t steps);
double median(std::vector<double> values);
std::string with_commas(double value);  // 1234567.8 -> "1,234,568"
std::string cpu_model();                // /proc/cpuinfo's model name
std::string utc_now();                  // "2026-11-24T22:00:00Z"

// One cell of the grid: a backend training one network at one batch size.
struct BenchResult {
  std::string backend;             // device name: reference, cpu, gpu...
  std::vector<int> sizes;          // [D, hidden..., C]
  int64_t batch = 0;
  bool skipped = false;            // over the time budget: not measured
  std::string reason;              // why it was skipped
  double ms_per_step = 0.0;        // median over the repeats
  double samples_per_second = 0.0; // batch / median step time
  int64_t steps_per_repeat = 0;
  int repeats = 0;
  double gpu_cpu_speedup = 0.0;    // gpu rows: samples/s over the cpu row's; 0 when there is none
};

// An SVG chart of samples/s against batch size, log-log, one line per backend and network.
std::string bench_svg(const std::vector<BenchResult>& results, const std::string& title);

}  // namespace cudamlp::cli
