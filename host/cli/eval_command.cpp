// `cudamlp eval`: loss, accuracy, per-class accuracy and confusion matrix of a model on labelled data.
#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "cudamlp/backend.h"
#include "cudamlp/errors.h"
#include "cudamlp/model_file.h"
#include "cudamlp/trainer.h"

namespace cudamlp::cli {

namespace {

struct EvalArgs {
  std::string model;
  std::string data_dir;
  std::string csv;
  std::string test_npy;  // X.npy,y.npy
  std::string device = "auto";
  BackendOptions backend;  // --threads, --gemm, --tf32
  bool json = false;
};

void print_human(const std::string& source, const EvalResult& result) {
  std::cout << format("%s: %lld samples, loss %.4f, accuracy %.2f%%\n", source.c_str(),
                      (long long)result.count, result.loss, 100.0 * result.accuracy());
  std::cout << "per-class accuracy:";
  for (int c = 0; c < result.num_classes; ++c) std::cout << format("  %d: %.2f%%", c, 100.0 * result.class_accuracy(c));
  std::cout << "\nconfusion matrix (rows: true class, columns: predicted class):\n      ";
  for (int p = 0; p < result.num_classes; ++p) std::cout << format("%6d", p);
  std::cout << "\n";
  for (int t = 0; t < result.num_classes; ++t) {
    std::cout << format("%6d", t);
    for (int p = 0; p < result.num_classes; ++p)
      std::cout << format("%6lld", (long long)result.confusion[size_t(t) * result.num_classes + p]);
    std::cout << "\n";
  }
}

// The set to evaluate: --data's test half (t10k; the training files are not read), --csv's labelled CSV or
// --test-npy's files, whose labels must be among the model's classes.
Dataset evaluation_set(const EvalArgs& args, const Model& model) {
  if (!args.data_dir.empty()) return load_mnist_test(args.data_dir);
  if (!args.test_npy.empty()) return load_npy_flag("--test-npy", args.test_npy, std::min(model.output_size(), kMaxClasses));
  Dataset set = load_kaggle_csv(args.csv);
  if (!set.has_labels())
    throw UsageError(args.csv + ": has no label column (a Kaggle test.csv?); evaluation needs labelled samples, "
                                "like train.csv's");
  return set;
}

int run_eval(const EvalArgs& args) {
  std::unique_ptr<Backend> backend = make_backend(args.device, args.backend);
  const Model model = load_model(args.model);
  // The confusion matrix is C x C: a model of 65536 outputs would need 32 GiB for it.
  const std::string too_large = evaluation_memory_problem(model.network);
  if (!too_large.empty()) throw FileError(args.model, too_large);
  backend->set_model(model);
  const Dataset set = evaluation_set(args, model);
  const std::string source = !args.data_dir.empty()   ? args.data_dir + " (test set)"
                             : !args.test_npy.empty() ? args.test_npy
                                                      : args.csv;
  if (set.dim() != model.input_size())
    throw UsageError(args.model + " takes " + std::to_string(model.input_size()) + " inputs, " + source +
                     " has " + std::to_string(set.dim()) + " values per sample");
  if (set.input_scale != model.network.input_scale)
    throw UsageError(args.model + " takes " + std::string(input_kind_name(model.network.input_scale)) + ", " + source +
                     " holds " + std::string(input_kind_name(set.input_scale)));
  const EvalResult result = evaluate(*backend, set);
  if (!args.json) {
    print_human(source, result);
    return 0;
  }
  nlohmann::json per_class = nlohmann::json::array(), confusion = nlohmann::json::array();
  for (int c = 0; c < result.num_classes; ++c) {
    per_class.push_back(result.class_accuracy(c));
    confusion.push_back(std::vector<int64_t>(result.confusion.begin() + c * result.num_classes,
                                             result.confusion.begin() + (c + 1) * result.num_classes));
  }
  std::cout << nlohmann::json{{"model", args.model},     {"data", source},
                              {"samples", result.count}, {"loss", result.loss},
                              {"accuracy", result.accuracy()}, {"per_class_accuracy", per_class},
                              {"confusion", confusion}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& parent) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* app = parent.add_subcommand("eval", "Evaluate a model: loss, accuracy, confusion matrix");
  app->add_option("--model", args->model, "Model file (safetensors)")->required()->check(CLI::ExistingFile);
  auto* data = app->add_option("--data", args->data_dir, "MNIST-style folder: evaluates its t10k test set")
                   ->check(CLI::ExistingDirectory);
  auto* csv = app->add_option("--csv", args->csv, "Labelled Kaggle-style CSV")->check(CLI::ExistingFile);
  auto* npy = app->add_option("--test-npy", args->test_npy,
                              "NumPy test set, FEATURES.npy,LABELS.npy: features [N, D] or [N, H, W] (uint8 or "
                              "float32, as the model was trained on) and integer labels [N]")
                  ->check(kNpyPair);
  data->excludes(csv, npy);
  csv->excludes(data, npy);
  npy->excludes(data, csv);
  app->callback([data, csv, npy] {
    if (data->count() + csv->count() + npy->count() == 0) throw CLI::RequiredError("--data, --csv or --test-npy");
  });
  add_device_options(*app, args->device, args->backend);
  app->add_flag("--json", args->json, "Print one JSON object instead of text");
  return {app, [args] { return run_eval(*args); }};
}

}  // namespace cudamlp::cli
