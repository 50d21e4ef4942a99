// See golden_run.h.
#include "golden_run.h"

#include "cudamlp/errors.h"
#include "cudamlp/trainer.h"
#include "op_checks.h"
#include "step_check.h"

namespace cudamlp::verify {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

Dataset synthetic_dataset(const GoldenData& d) {
  Dataset data = random_dataset(d.samples, d.rows * d.cols, d.classes, d.seed);
  data.rows = d.rows;
  data.cols = d.cols;
  return data;
}

GoldenFile run_golden(Backend& backend, const GoldenRun& run, const Dataset& data) {
  check_golden_run(run);
  TrainOptions options;
  options.epochs = run.epochs;
  options.batch = run.batch;
  options.lr = run.lr;
  options.optimizer = run.optimizer;
  options.seed = run.seed;
  options.regularization.dropout = run.dropout;
  options.regularization.seed = run.seed;
  options.progress_every_seconds = 0;  // on_step after every step: each step's loss
  std::vector<int> sizes = {int(data.dim())};
  sizes.insert(sizes.end(), run.hidden.begin(), run.hidden.end());
  sizes.push_back(data.num_classes);
  backend.set_model(make_mlp(sizes, run.seed), run.optimizer);
  GoldenFile golden;
  golden.run = run;
  TrainHooks hooks;
  hooks.on_step = [&](const StepProgress& progress) { golden.losses.push_back(float(progress.loss)); };
  train(backend, data, nullptr, options, hooks);
  if (int64_t(golden.losses.size()) != run.steps())
    throw Error("golden run: " + std::to_string(golden.losses.size()) + " steps reported, " +
                std::to_string(run.steps()) + " expected");
  golden.model = backend.model();
  golden.probabilities = predict_probabilities(backend, data, 0, run.probability_samples());
  return golden;
}

void check_golden_data(const std::string& path, const GoldenRun& run, const Dataset& data) {
  const DataIdentity is = identify_data(data), was = run.data.identity;
  if (is == was) return;
  throw FileError(path, "was recorded on other data (" + std::to_string(was.samples) + " samples of " +
                            std::to_string(was.dim) + " values, " + std::to_string(was.num_classes) +
                            " classes, checksum " + checksum_text(was.checksum) + "; this data has " +
                            std::to_string(is.samples) + " of " + std::to_string(is.dim) + ", " +
                            std::to_string(is.num_classes) + ", " + checksum_text(is.checksum) + ")");
}

std::vector<Comparison> compare_with_golden(const GoldenFile& got, const GoldenFile& want) {
  std::vector<Comparison> rows;
  rows.push_back(compare_relative_to_max(got.losses, want.losses, kTrainingRunTolerance, "golden.losses"));
  rows.back().shape = shape_text({int64_t(want.losses.size())});
  const Network& network = want.model.network;
  if (!(got.model.network == network)) {
    rows.push_back(failed_comparison("network", "the rerun's network differs from the stored one"));
  } else {
    std::vector<Comparison> weights =
        compare_tensors(network, got.model.parameters, want.model.parameters, kTrainingRunTolerance, "");
    const std::vector<ParameterTensor> tensors = network.tensors();
    for (size_t t = 0; t < weights.size() && t < tensors.size(); ++t) weights[t].shape = shape_text(tensors[t].shape);
    rows.insert(rows.end(), weights.begin(), weights.end());
  }
  rows.push_back(compare_relative_to_max(got.probabilities, want.probabilities, kTrainingRunTolerance,
                                         "golden.probabilities"));
  rows.back().shape = shape_text({want.run.probability_samples(), int64_t(want.run.data.classes)});
  for (Comparison& row : rows) row.op = "golden";
  return rows;
}

}  // namespace cudamlp::verify
