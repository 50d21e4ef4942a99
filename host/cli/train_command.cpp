// `cudamlp train`: train an MLP with minibatch SGD, print per-epoch metrics, save the model.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cudamlp/backend.h"
#include "cudamlp/errors.h"
#include "cudamlp/model_file.h"
#include "cudamlp/trainer.h"

namespace cudamlp::cli {

namespace {

struct TrainArgs {
  std::string data_dir;
  std::string train_csv;
  std::string hidden = "128,64";
  int epochs = 3;
  int64_t batch = 64;
  double lr = 0.1;
  double momentum = 0.0;
  uint64_t seed = 1;
  std::string device = "auto";
  BackendOptions backend;  // --threads, --gemm, --tf32
  std::string out;
  std::string init;
  bool no_shuffle = false;
  int64_t limit = 0;  // 0: all samples
  bool json = false;
  CLI::Option* hidden_option = nullptr;
};

nlohmann::json epoch_json(const EpochReport& report, int epochs) {
  nlohmann::json line = {{"event", "epoch"},
                         {"epoch", report.epoch},
                         {"epochs", epochs},
                         {"steps", report.steps},
                         {"train_loss", report.train_loss},
                         {"train_accuracy", report.train_accuracy},
                         {"seconds", report.seconds},
                         {"samples_per_second", report.samples_per_second}};
  if (report.test) {
    line["test_loss"] = report.test->loss;
    line["test_accuracy"] = report.test->accuracy();
  }
  return line;
}

std::string epoch_line(const EpochReport& report, int epochs) {
  std::string test = report.test ? format("%6.2f%%", 100.0 * report.test->accuracy()) : "     -";
  return format("epoch %d/%d  train loss %.4f  train acc %6.2f%%  test acc %s  %.0f samples/s  %.2f s",
                report.epoch, epochs, report.train_loss, 100.0 * report.train_accuracy, test.c_str(),
                report.samples_per_second, report.seconds);
}

// The starting model: --init's file (which must agree with --hidden when both are given), or a new
// He-initialised network of D -> hidden... -> C.
Mlp initial_model(const TrainArgs& args, const Dataset& train) {
  const std::vector<int> hidden = parse_hidden(args.hidden);
  if (args.init.empty()) {
    std::vector<int> sizes = {int(train.dim())};
    sizes.insert(sizes.end(), hidden.begin(), hidden.end());
    sizes.push_back(train.num_classes);
    return make_mlp(sizes, args.seed);
  }
  Mlp model = load_model(args.init);
  const std::vector<int> sizes = model.sizes();
  if (sizes.front() != train.dim())
    throw UsageError("--init " + args.init + ": the model takes " + std::to_string(sizes.front()) +
                     " inputs, the data has " + std::to_string(train.dim()) + " values per sample");
  if (sizes.back() != train.num_classes)
    throw UsageError("--init " + args.init + ": the model has " + std::to_string(sizes.back()) +
                     " outputs, the data has " + std::to_string(train.num_classes) + " classes");
  const std::vector<int> file_hidden(sizes.begin() + 1, sizes.end() - 1);
  if (args.hidden_option->count() > 0 && file_hidden != hidden)
    throw UsageError("--hidden " + args.hidden + " disagrees with --init " + args.init + " (" +
                     join_sizes(sizes) + ")");
  return model;
}

int run_train(const TrainArgs& args) {
  if (!args.out.empty()) check_output_path("--out", args.out);
  parse_hidden(args.hidden);  // flag errors before the (slow) data load
  std::unique_ptr<Backend> backend = make_backend(args.device, args.backend);

  LabelledData data = load_labelled_data(args.data_dir, args.train_csv);
  if (args.limit > 0) data.train = data.train.first(args.limit);
  const Mlp model = initial_model(args, data.train);
  backend->set_model(model);

  TrainOptions options;
  options.epochs = args.epochs;
  options.batch = args.batch;
  options.sgd = {float(args.lr), float(args.momentum)};
  options.seed = args.seed;
  options.shuffle = !args.no_shuffle;

  const std::string sizes = join_sizes(model.sizes());
  // With --json, stdout carries only JSON lines; the human-readable lines go to stderr.
  std::ostream& human = args.json ? std::cerr : std::cout;
  human << format("training %s MLP (%lld parameters) on %lld samples: device %s, batch %lld, lr %g, "
                  "momentum %g, seed %llu%s\n",
                  sizes.c_str(), (long long)model.parameter_count(), (long long)data.train.count,
                  backend->name().c_str(), (long long)args.batch, args.lr, args.momentum,
                  (unsigned long long)args.seed, args.no_shuffle ? ", no shuffle" : "");

  double seconds = 0.0;
  std::optional<EpochReport> last;
  train(*backend, data.train, data.test ? &*data.test : nullptr, options, [&](const EpochReport& report) {
    seconds += report.seconds;
    last = report;
    human << epoch_line(report, args.epochs) << std::endl;
    if (args.json) std::cout << epoch_json(report, args.epochs).dump() << std::endl;
  });

  if (!args.out.empty()) {
    save_model(args.out, backend->model());
    human << "saved " << args.out << "\n";
  }
  if (args.json) {
    nlohmann::json done = {{"event", "done"},
                           {"device", backend->name()},
                           {"sizes", model.sizes()},
                           {"parameters", model.parameter_count()},
                           {"train_samples", data.train.count},
                           {"epochs", args.epochs},
                           {"batch", args.batch},
                           {"lr", args.lr},
                           {"momentum", args.momentum},
                           {"seed", args.seed},
                           {"seconds", seconds},
                           {"model", args.out.empty() ? nlohmann::json() : nlohmann::json(args.out)}};
    if (last) {
      done["steps"] = last->steps;
      done["train_loss"] = last->train_loss;
      done["train_accuracy"] = last->train_accuracy;
      if (last->test) done["test_accuracy"] = last->test->accuracy();
    }
    std::cout << done.dump() << std::endl;
  }
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& parent) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* app = parent.add_subcommand("train", "Train an MLP with minibatch SGD and save it");
  auto* data = app->add_option("--data", args->data_dir,
                               "Folder with the four MNIST-named IDX files (plain or .gz)")
                   ->check(CLI::ExistingDirectory);
  auto* csv = app->add_option("--train-csv", args->train_csv, "Kaggle digit-recognizer train.csv")
                  ->check(CLI::ExistingFile);
  data->excludes(csv);
  csv->excludes(data);
  app->callback([data, csv] {
    if (data->count() + csv->count() == 0) throw CLI::RequiredError("--data or --train-csv");
  });
  args->hidden_option =
      app->add_option("--hidden", args->hidden, "Hidden layer sizes, e.g. 128,64 (\"none\": no hidden layer)")
          ->capture_default_str();
  app->add_option("--epochs", args->epochs, "Passes over the training set")
      ->check(CLI::Range(1, 1000000))->capture_default_str();
  app->add_option("--batch", args->batch, "Minibatch size (the last partial batch is trained too)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))->capture_default_str();
  app->add_option("--lr", args->lr, "Learning rate")->check(kPositiveFinite)->capture_default_str();
  app->add_option("--momentum", args->momentum, "SGD momentum (PyTorch's: v = m*v + g; w -= lr*v)")
      ->check(kMomentumRange)->capture_default_str();
  app->add_option("--seed", args->seed, "Seed of the initial weights and the per-epoch shuffles")
      ->capture_default_str();
  add_device_options(*app, args->device, args->backend);
  app->add_option("--out", args->out, "Write the trained model here (safetensors)");
  app->add_option("--init", args->init, "Start from this model file instead of random weights")
      ->check(CLI::ExistingFile);
  app->add_flag("--no-shuffle", args->no_shuffle, "Visit the samples in file order every epoch");
  app->add_option("--limit", args->limit, "Train on the first N samples only")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  app->add_flag("--json", args->json, "One JSON object per epoch and a final one on stdout");
  return {app, [args] { return run_train(*args); }};
}

}  // namespace cudamlp::cli
