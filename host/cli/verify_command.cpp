// `cudamlp verify`: does this machine compute correctly? Every op of a backend against the reference on
// awkward shapes, whole training steps and a short run (host/verify/verify.h), as a table; or a golden
// file: `--record FILE` stores a short training run's outputs on the reference, `--against FILE` reruns
// it on a backend and compares every stored output. Exit 0 when everything is within tolerance, 1 when
// anything is not, 2 on a usage error.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "cudamlp/errors.h"
#include "golden_file.h"
#include "golden_run.h"
#include "planted_bug.h"
#include "verify.h"

namespace cudamlp::cli {

namespace {

struct VerifyArgs {
  std::string device = "all";
  bool quick = false;
  bool json = false;
  std::string record, against;
  // The golden run's flags (--record only), as `cudamlp train` spells them.
  std::string hidden = "32";
  verify::GoldenRun run;
  std::string optimizer = "sgd";
  std::string image = "8x8";
  std::string data_dir;
  int64_t limit = 0;
};

// The flags that describe the golden run: given with --against they would contradict the file.
const char* const kRunFlags[] = {"--hidden", "--epochs", "--batch", "--lr", "--optimizer", "--momentum",
                                 "--nesterov", "--beta1", "--beta2", "--eps", "--weight-decay", "--dropout",
                                 "--seed", "--samples", "--image", "--classes", "--limit"};

// Prints the rows as a table (or JSON lines) and counts them and their failures.
class Table {
 public:
  explicit Table(bool json) : json_(json) {}
  void header() const {
    if (json_) return;
    std::cout << format("%-20s %-26s %-34s %-32s %10s %10s  %-44s %s\n", "backend", "op", "shape", "output",
                        "max abs", "max rel", "tolerance", "verdict");
  }
  void row(const verify::Comparison& c) {
    ++rows_;
    if (!c.passed) failures_.push_back(c);
    if (json_) {
      std::cout << nlohmann::ordered_json{{"backend", c.backend}, {"op", c.op},           {"shape", c.shape},
                                          {"output", c.what},     {"max_abs", c.max_abs}, {"max_rel", c.max_rel},
                                          {"worst", c.worst},     {"tolerance", c.tolerance},
                                          {"passed", c.passed},   {"detail", c.detail}}
                       .dump()
                << std::endl;
      return;
    }
    std::cout << format("%-20s %-26s %-34s %-32s %10.3g %10.3g  %-44s %s\n", c.backend.c_str(), c.op.c_str(),
                        c.shape.c_str(), c.what.c_str(), c.max_abs, c.max_rel, c.tolerance.c_str(),
                        c.passed ? "ok" : "FAIL");
  }
  void note(const std::string& text) const {
    if (json_) std::cout << nlohmann::json{{"event", "note"}, {"text", text}}.dump() << std::endl;
    else std::cout << text << "\n";
  }
  // The summary; the exit code.
  int finish() const {
    if (json_) {
      std::cout << nlohmann::json{{"event", "done"}, {"comparisons", rows_}, {"failed", failures_.size()}}.dump()
                << std::endl;
    } else {
      std::cout << "\n" << rows_ << " comparisons, " << failures_.size() << " failed\n";
      for (const verify::Comparison& c : failures_)
        std::cout << "FAILED " << c.backend << " " << c.op << " " << c.shape << ": " << c.detail << " (tolerance "
                  << c.tolerance << ")\n";
    }
    return failures_.empty() ? 0 : 1;
  }

 private:
  bool json_;
  int64_t rows_ = 0;
  std::vector<verify::Comparison> failures_;
};

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) text += (i ? separator : "") + items[i];
  return text;
}

const char* const kReferenceNote =
    "reference: the oracle every backend is compared with; comparing it with itself would check nothing";

int run_checks(const VerifyArgs& args) {
  Table table(args.json);
  if (args.device == "reference") {
    table.note(std::string(kReferenceNote) + " (use --device cpu, gpu, gpu-emulated or all)");
    return 0;
  }
  std::vector<std::string> devices = {args.device};
  if (args.device == "all") {
    devices = verify::devices_to_verify();
    table.note(std::string(kReferenceNote) + "; checking " + join(devices, ", ") + " against it");
  }
  if (const std::string op = verify::planted_bug_op(); !op.empty())
    table.note("CUDAMLP_PLANTED_BUG: " + op + "'s results are perturbed by a relative " +
               format("%g", double(verify::kPlantedBugSize)));
  table.header();
  for (const std::string& device : devices)
    verify::verify_device(device, args.quick, [&](const verify::Comparison& c) { table.row(c); });
  return table.finish();
}

// The training set of an MNIST folder (--data), the only real data a golden run names.
Dataset mnist_training_set(const std::string& data_dir) {
  DataSources sources;
  sources.data_dir = data_dir;
  return load_labelled_data(sources).train;
}

Dataset golden_data(const verify::GoldenRun& run, const std::string& data_dir) {
  if (run.data.kind == "synthetic") return verify::synthetic_dataset(run.data);
  if (data_dir.empty()) throw UsageError("--data: the golden run trained on an MNIST folder; name it with --data DIR");
  return mnist_training_set(data_dir).first(run.data.samples);
}

int run_record(VerifyArgs args, const CLI::App& app) {
  if (app.count("--device")) throw UsageError("--device: --record always runs on the reference backend");
  if (args.quick) throw UsageError("--quick: applies to the op checks, not to --record");
  check_output_path("--record", args.record);
  verify::GoldenRun& run = args.run;
  run.hidden = parse_hidden(args.hidden);
  const std::optional<OptimizerKind> kind = optimizer_kind(args.optimizer);
  if (!kind) throw UsageError("--optimizer: expected sgd, adam or adamw, got '" + args.optimizer + "'");
  run.optimizer.kind = *kind;
  if (*kind != OptimizerKind::kSgd && !app.count("--momentum")) run.optimizer.momentum = 0.0f;
  Dataset data;
  if (!args.data_dir.empty()) {
    for (const char* flag : {"--samples", "--image", "--classes"})
      if (app.count(flag)) throw UsageError(std::string(flag) + ": describes the synthetic data; --data names real data");
    check_outputs_apart({{"--record", args.record}}, mnist_folder_inputs("--data", args.data_dir));
    data = mnist_training_set(args.data_dir);
    if (args.limit > 0) data = data.first(args.limit);
    run.data.kind = "mnist";
    run.data.samples = data.count;
    run.data.classes = data.num_classes;
  } else {
    if (app.count("--limit")) throw UsageError("--limit: needs --data (the synthetic set's size is --samples)");
    int rows = 0, cols = 0;
    char extra = 0;
    if (std::sscanf(args.image.c_str(), "%dx%d%c", &rows, &cols, &extra) != 2)
      throw UsageError("--image: expected ROWSxCOLS (8x8), got '" + args.image + "'");
    run.data.rows = rows;
    run.data.cols = cols;
    run.data.identity.dim = int64_t(rows) * cols;
    verify::check_golden_run(run);
    data = verify::synthetic_dataset(run.data);
  }
  run.data.identity = identify_data(data);
  verify::check_golden_run(run);
  std::unique_ptr<Backend> reference = make_backend("reference");
  const verify::GoldenFile golden = verify::run_golden(*reference, run, data);
  verify::write_golden(args.record, golden);
  if (args.json) {
    std::cout << nlohmann::json{{"event", "recorded"},          {"file", args.record},
                                {"steps", golden.losses.size()}, {"sizes", golden.model.sizes()},
                                {"final_loss", golden.losses.back()}}
                     .dump()
              << std::endl;
    return 0;
  }
  std::cout << args.record << ": " << golden.losses.size() << " steps of " << join_sizes(golden.model.sizes())
            << " on the reference, final loss " << format("%.6f", double(golden.losses.back())) << "\n";
  return 0;
}

int run_against(const VerifyArgs& args, const CLI::App& app) {
  if (args.quick) throw UsageError("--quick: applies to the op checks; --against reruns the stored run whole");
  for (const char* flag : kRunFlags)
    if (app.count(flag))
      throw UsageError(std::string(flag) + ": --against reruns the run stored in " + args.against +
                       "; its flags come from the file");
  const verify::GoldenFile want = verify::read_golden(args.against);
  const Dataset data = golden_data(want.run, args.data_dir);
  verify::check_golden_data(args.against, want.run, data);
  std::vector<std::string> devices = {args.device};
  if (args.device == "all") {
    devices = verify::devices_to_verify();
    devices.insert(devices.begin(), "reference");
  }
  Table table(args.json);
  table.header();
  for (const std::string& device : devices) {
    std::unique_ptr<Backend> backend = make_backend(device);
    const verify::GoldenFile got = verify::run_golden(*backend, want.run, data);
    for (verify::Comparison c : verify::compare_with_golden(got, want)) {
      c.backend = device;
      table.row(c);
    }
  }
  return table.finish();
}

}  // namespace

Command add_verify_command(CLI::App& parent) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* app = parent.add_subcommand(
      "verify", "Check a backend against the reference backend, op by op, or against a golden file of stored outputs");
  app->add_option("--device", args->device,
                  "cpu, gpu, gpu-emulated, all (each backend this build has and this machine runs) or reference "
                  "(the oracle itself); with --against also auto [all]")
      ->check(CLI::IsMember({"reference", "cpu", "gpu", "gpu-emulated", "all", "auto"}));
  app->add_flag("--quick", args->quick, "A few shapes of each op: seconds on a GPU, under a minute on a CPU");
  app->add_flag("--json", args->json, "One JSON object per comparison, and a last one {\"event\":\"done\",...}");
  auto* record = app->add_option("--record", args->record,
                                 "Train a short run on the reference and store its outputs in this golden file");
  auto* against = app->add_option("--against", args->against, "Rerun the golden file's run and compare its outputs")
                      ->check(kReadableFile);
  record->excludes(against);
  app->add_option("--data", args->data_dir, "The golden run's data: an MNIST folder (default: synthetic data)")
      ->check(kReadableDirectory);
  app->add_option("--hidden", args->hidden, "Golden run: hidden layer sizes [32]");
  app->add_option("--epochs", args->run.epochs, "Golden run: passes over the data [2]");
  app->add_option("--batch", args->run.batch, "Golden run: minibatch size [32]");
  app->add_option("--lr", args->run.lr, "Golden run: learning rate [0.1]")->check(kLearningRate);
  app->add_option("--optimizer", args->optimizer, "Golden run: sgd, adam or adamw [sgd]");
  app->add_option("--momentum", args->run.optimizer.momentum, "Golden run: SGD momentum [0.9]");
  app->add_flag("--nesterov", args->run.optimizer.nesterov, "Golden run: Nesterov momentum");
  app->add_option("--beta1", args->run.optimizer.beta1, "Golden run: Adam(W)'s beta1 [0.9]");
  app->add_option("--beta2", args->run.optimizer.beta2, "Golden run: Adam(W)'s beta2 [0.999]");
  app->add_option("--eps", args->run.optimizer.eps, "Golden run: Adam(W)'s eps [1e-8]");
  app->add_option("--weight-decay", args->run.optimizer.weight_decay, "Golden run: weight decay [0]");
  app->add_option("--dropout", args->run.dropout, "Golden run: dropout probability [0]")->check(kDropoutRange);
  app->add_option("--seed", args->run.seed, "Golden run: seed of weights, shuffles, masks and synthetic data [1]")
      ->check(kSeedText);
  app->add_option("--samples", args->run.data.samples, "Golden run: synthetic samples [256]");
  app->add_option("--image", args->image, "Golden run: synthetic image shape ROWSxCOLS [8x8]");
  app->add_option("--classes", args->run.data.classes, "Golden run: synthetic classes [10]");
  app->add_option("--limit", args->limit, "Golden run with --data: its first N training samples");
  return {app, [args, app] {
            VerifyArgs given = *args;
            if (!given.record.empty()) {
              given.run.data.seed = given.run.seed;  // the synthetic data's seed is the run's
              return run_record(given, *app);
            }
            if (!given.against.empty()) {
              if (!app->count("--device")) given.device = "auto";
              return run_against(given, *app);
            }
            for (const char* flag : kRunFlags)
              if (app->count(flag)) throw UsageError(std::string(flag) + ": a golden run's flag; it needs --record");
            if (app->count("--data")) throw UsageError("--data: a golden run's flag; it needs --record or --against");
            if (given.device == "auto") throw UsageError("--device auto: verify names what it checks (cpu, gpu, gpu-emulated or all)");
            return run_checks(given);
          }};
}

}  // namespace cudamlp::cli
