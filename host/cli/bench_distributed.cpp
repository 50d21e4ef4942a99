// `cudamlp bench --distributed`: how data-parallel training scales over the ranks of mpirun.
//
//   mpirun -np 4 cudamlp bench --distributed --backends cpu --threads 1
//
// For each network and batch size it times training steps on the first k ranks, for k = 1, 2, 4, ...
// and all of them (the other ranks wait, sleeping), and reports samples/s, the speed-up over one rank
// and the scaling efficiency: samples/s on k ranks / (k x samples/s on one). Weak scaling (default)
// keeps --batches per rank, so the global batch grows with k; strong scaling splits --batches over the
// k ranks. Each measurement warms up, then takes the median of --repeats timed repeats.
#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>

#include "bench.h"
#include "cudamlp/errors.h"
#include "cudamlp/gpu_info.h"
#include "cudamlp/model.h"
#include "cudamlp/atomic_file.h"

namespace cudamlp::cli {

namespace {

struct ScalingResult {
  std::vector<int> sizes;
  int64_t batch = 0;         // --batches' value: per rank (weak) or global (strong)
  int ranks = 0;
  int64_t global_batch = 0;  // samples per optimizer step over all ranks
  double ms_per_step = 0.0;  // median
  double samples_per_second = 0.0;
  double speedup = 0.0;      // over the same cell on one rank
  double efficiency = 0.0;   // speedup / ranks
};

// 1, 2, 4, ... below `ranks`, and `ranks`.
std::vector<int> rank_counts(int ranks) {
  std::vector<int> counts;
  for (int k = 1; k < ranks; k *= 2) counts.push_back(k);
  counts.push_back(ranks);
  return counts;
}

// Times training steps of `global_batch` on the ranks of comm: a warm-up of about a fifth of the
// budget, then `repeats` timed repeats; returns the median seconds per step (on every rank: rank 0's
// numbers are broadcast, so that all ranks run the same number of steps).
double time_steps(Backend& backend, Communicator& comm, const Dataset& data, int64_t global_batch,
                  const BenchArgs& args) {
  backend.begin_epoch({data.count, 1, 0, true});
  int64_t step = 0;
  auto run = [&](int64_t steps) {
    double seconds = run_steps(backend, data.count, global_batch, step, steps);
    comm.broadcast(std::as_writable_bytes(std::span(&seconds, 1)), 0);
    return seconds;
  };
  double warm = run(1);  // allocates the buffers
  for (int64_t steps = 1; warm < 0.2 * args.budget && steps < 1000; steps *= 2) warm += run(steps);
  const double step_seconds = std::max(run(1), 1e-6);
  const int64_t steps = std::max<int64_t>(1, int64_t(0.8 * args.budget / args.repeats / step_seconds));
  std::vector<double> per_step;
  for (int r = 0; r < args.repeats; ++r) per_step.push_back(run(steps) / double(steps));
  return median(per_step);
}

nlohmann::json result_json(const ScalingResult& r) {
  return {{"network", join_sizes(r.sizes)}, {"sizes", r.sizes},
          {"batch", r.batch},               {"ranks", r.ranks},
          {"global_batch", r.global_batch}, {"ms_per_step", r.ms_per_step},
          {"samples_per_second", r.samples_per_second}, {"speedup", r.speedup},
          {"efficiency", r.efficiency}};
}

}  // namespace

int run_distributed_bench(const BenchArgs& args, Communicator& comm) {
  const bool root = comm.rank() == 0;
  // Smaller defaults than the single-process grid: each cell runs once per rank count.
  const auto given = [&](const char* flag) { return args.app->get_option(flag)->count() > 0; };
  const std::vector<std::vector<int>> networks =
      parse_networks(given("--networks") ? args.networks : "784-128-64-10,784-1024-1024-10");
  const std::vector<int64_t> batches =
      parse_batches(given("--batches") ? args.batches : "256,1024");
  if (root && !args.json_path.empty()) check_output_path("--json", args.json_path);
  if (!args.plot_path.empty()) throw UsageError("--plot: not drawn for --distributed (use --json)");
  std::string label = args.backends;
  if (label.empty()) label = query_gpu().usable ? "gpu:cublas" : "cpu";
  if (label.find(',') != std::string::npos)
    throw UsageError("--backends " + label + ": --distributed measures one backend at a time");
  const bool weak = args.scaling == "weak";
  BackendOptions options;
  options.threads = args.threads;

  if (root) {
    std::cout << format("cudamlp bench --distributed: data-parallel training on %d ranks (%s), backend %s, %s "
                        "scaling (%s), SGD lr %g, median of %d repeats after warm-up, budget %g s per cell\n",
                        comm.size(), comm.description().c_str(), label.c_str(), weak ? "weak" : "strong",
                        weak ? "--batches per rank" : "--batches split over the ranks", double(kBenchLearningRate),
                        args.repeats, args.budget);
    std::cout << "host of rank 0: " << cpu_model() << "\n";
    std::cout << format("\n%-20s %6s %6s %8s %10s %14s %9s %11s\n", "network", "batch", "ranks", "global",
                        "ms/step", "samples/s", "speed-up", "efficiency");
  }
  std::vector<ScalingResult> results;
  for (const std::vector<int>& sizes : networks) {
    for (const int64_t batch : batches) {
      double one_rank = 0;  // samples/s on one rank
      for (const int ranks : rank_counts(comm.size())) {
        const int64_t global_batch = weak ? batch * ranks : batch;
        double seconds = 0;
        std::unique_ptr<Communicator> sub = comm.first_ranks(ranks);
        if (sub != nullptr) {
          BackendOptions rank_options = options;
          rank_options.communicator = sub.get();
          std::unique_ptr<Backend> backend = make_bench_backend(label, rank_options);
          const Dataset data = synthetic_dataset(std::max<int64_t>(2 * global_batch, 1024), sizes.front(), sizes.back());
          backend->set_model(make_mlp(sizes, 1));
          backend->set_regularization({.dropout = float(args.dropout), .augmentation = {}, .seed = 1});
          backend->set_training_data(data);
          seconds = time_steps(*backend, *sub, data, global_batch, args);
        }
        // The others wait here, sleeping, so that the measured ranks keep the cores.
        comm.barrier();
        comm.broadcast(std::as_writable_bytes(std::span(&seconds, 1)), 0);
        ScalingResult r{sizes, batch, ranks, global_batch, 1e3 * seconds, double(global_batch) / seconds};
        if (ranks == 1) one_rank = r.samples_per_second;
        r.speedup = r.samples_per_second / one_rank;
        r.efficiency = r.speedup / ranks;
        if (root)
          std::cout << format("%-20s %6lld %6d %8lld %10.3f %14s %8.2fx %10.0f%%", join_sizes(sizes).c_str(),
                              (long long)batch, ranks, (long long)global_batch, r.ms_per_step,
                              with_commas(r.samples_per_second).c_str(), r.speedup, 100 * r.efficiency)
                    << std::endl;
        results.push_back(r);
      }
    }
  }
  if (root && !args.json_path.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const ScalingResult& r : results) rows.push_back(result_json(r));
    const nlohmann::json report = {{"tool", "cudamlp bench --distributed"},
                                   {"date", utc_now()},
                                   {"ranks", comm.size()},
                                   {"mpi", comm.description()},
                                   {"backend", label},
                                   {"scaling", args.scaling},
                                   {"cpu_model", cpu_model()},
                                   {"threads", args.threads},
                                   {"data", "synthetic, uint8 pixels, MNIST-shaped"},
                                   {"lr", kBenchLearningRate},
                                   {"budget_seconds", args.budget},
                                   {"results", rows}};
    write_file_atomically(args.json_path, report.dump(2) + "\n");
    std::cout << "wrote " << args.json_path << "\n";
  }
  return 0;
}

}  // namespace cudamlp::cli
