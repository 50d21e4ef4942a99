// `cudamlp bench`: what one measurement is, shared by the command (bench_command.cpp) and its chart
// (bench_plot.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cudamlp::cli {

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
