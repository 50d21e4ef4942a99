// The validation set (`train --val-split`), early stopping (`--early-stop N`) and keeping the best epoch's
// weights (`--keep best`): in the trainer (TrainOptions::validation, early_stop, keep_best), through
// checkpoints and resume, and end to end on the command line with a synthetic MNIST folder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "cudamlp/backend.h"
#include "cudamlp/checkpoint.h"
#include "cudamlp/dataset.h"
#include "cudamlp/errors.h"
#include "cudamlp/model_file.h"
#include "cudamlp/rng.h"
#include "cudamlp/run_log.h"
#include "cudamlp/safetensors.h"
#include "cudamlp/trainer.h"
#include "test_helpers.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

namespace fs = std::filesystem;

// A learning rate so small that no weight moves (each update is below half an ulp of the weight; only the
// biases, which start at 0, move by about 1e-20): every epoch's validation accuracy is the first one's, the
// plateau early stopping is for.
constexpr float kNoLearningRate = 1e-20f;

// The backends whose steps are deterministic, so that resuming must be bitwise exact.
std::vector<std::string> deterministic_devices() {
#if CUDAMLP_HAVE_CPU_BACKEND
  return {"reference", "cpu"};
#else
  return {"reference"};
#endif
}

// n samples of `side`x`side` images in `classes` classes: class c brightens row band c, plus noise that
// `noise` (0..255) makes as bright as the band, so that a small network learns it only in part and its
// validation accuracy goes up and down from epoch to epoch.
Dataset banded_dataset(int64_t n, int side, int classes, uint64_t seed, int noise = 90) {
  Dataset data;
  data.count = n;
  data.rows = data.cols = side;
  data.num_classes = classes;
  Rng rng(seed);
  data.pixels.resize(size_t(n * side * side));
  data.labels.resize(size_t(n));
  for (int64_t s = 0; s < n; ++s) {
    const int c = int(rng.below(uint64_t(classes)));
    data.labels[size_t(s)] = uint8_t(c);
    for (int i = 0; i < side * side; ++i) {
      const bool lit = (i / side) * classes / side == c;
      data.pixels[size_t(s * side * side + i)] =
          uint8_t(lit ? 120 + rng.below(136) : rng.below(uint64_t(noise)));
    }
  }
  return data;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// The two model files hold bitwise the same weights (their recipes, cudamlp.recipe, may name other runs).
bool same_weights(const std::string& a, const std::string& b) {
  return bitwise_equal(load_model(a).parameters, load_model(b).parameters);
}

// The MNIST folder layout (what `train --data DIR` reads) with banded 28x28 digits.
void write_mnist_folder(const fs::path& dir, int64_t train_samples, int64_t test_samples) {
  fs::create_directories(dir);
  for (const auto& [prefix, n, seed] : {std::tuple{"train", train_samples, 11}, std::tuple{"t10k", test_samples, 12}}) {
    const Dataset data = banded_dataset(n, 28, 10, uint64_t(seed));
    write_file((dir / (std::string(prefix) + "-images-idx3-ubyte")).string(),
               idx_images(uint32_t(n), 28, 28, data.pixels));
    write_file((dir / (std::string(prefix) + "-labels-idx1-ubyte")).string(), idx_labels(data.labels));
  }
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// A trainer run of `epochs` over a noisy 3-class set, its validation set held out of it: momentum and a
// high learning rate make the validation accuracy rise, peak and fall back within a few epochs.
struct NoisyRun {
  Dataset all = banded_dataset(90, 4, 3, 21, 200);
  TrainTestSplit split = hold_out(all, 0.3, 5);
  TrainOptions options;
  Model initial;

  explicit NoisyRun(int epochs) {
    options.epochs = epochs;
    options.batch = 8;
    options.lr = 0.4f;  // validation correct per epoch: 20 17 24 22 26 27 26 26 27 26 ...
    options.optimizer.momentum = 0.9f;
    options.seed = 4;
    options.validation = &split.test;
    initial = make_mlp(std::vector<int>{16, 6, 3}, options.seed);
  }
};

}  // namespace

// ------------------------------------------------------------------------------------------------
// The trainer

TEST(Validation, IsEvaluatedEveryEpochNextToTheTestSet) {
  NoisyRun run(3);
  const Dataset test = banded_dataset(20, 4, 3, 22);
  std::vector<EpochReport> reports;
  const auto backend = make_backend("reference");
  backend->set_model(run.initial, run.options.optimizer);
  train(*backend, run.split.train, &test, run.options, [&](const EpochReport& r) { reports.push_back(r); });
  ASSERT_EQ(reports.size(), 3u);
  for (const EpochReport& report : reports) {
    ASSERT_TRUE(report.test && report.validation);
    EXPECT_EQ(report.test->count, 20);
    EXPECT_EQ(report.validation->count, 27);  // 30% of 90
    EXPECT_GE(report.best_epoch, 1);
    EXPECT_LE(report.best_epoch, report.epoch);
  }
  // The last epoch's validation is the final model's accuracy on the validation set.
  EXPECT_EQ(reports.back().validation->correct, evaluate(*backend, run.split.test).correct);
}

TEST(EarlyStop, StopsNEpochsAfterTheBestOnAPlateauAndATieKeepsTheEarlierEpoch) {
  NoisyRun run(20);
  run.options.lr = kNoLearningRate;
  run.options.early_stop = 3;
  run.options.keep_best = true;
  std::vector<EpochReport> reports;
  const auto backend = make_backend("reference");
  backend->set_model(run.initial, run.options.optimizer);
  TrainHooks hooks;
  hooks.on_epoch = [&](const EpochReport& r) { reports.push_back(r); };
  const TrainResult result = train(*backend, run.split.train, nullptr, run.options, hooks);
  EXPECT_TRUE(result.stopped_early);
  EXPECT_FALSE(result.stopped);
  EXPECT_EQ(result.position.epoch, 4);  // epoch 1 is the best; 2, 3 and 4 only tie it
  EXPECT_EQ(result.position.best_epoch, 1);
  ASSERT_EQ(reports.size(), 4u);
  for (const EpochReport& report : reports) {
    EXPECT_EQ(report.validation->correct, reports[0].validation->correct);  // the plateau
    EXPECT_EQ(report.best_epoch, 1);
  }
  EXPECT_EQ(result.best_parameters.size(), run.initial.parameters.size());
}

TEST(EarlyStop, WithoutAValidationSetIsAUsageError) {
  const Dataset data = banded_dataset(20, 4, 3, 5);
  TrainOptions options;
  const auto backend = make_backend("reference");
  backend->set_model(make_mlp(std::vector<int>{16, 3}, 1));
  options.early_stop = 2;
  EXPECT_THROW(train(*backend, data, nullptr, options, TrainHooks{}), UsageError);
  options.early_stop = 0;
  options.keep_best = true;
  EXPECT_THROW(train(*backend, data, nullptr, options, TrainHooks{}), UsageError);
  options.keep_best = false;
  options.early_stop = -1;
  EXPECT_THROW(train(*backend, data, nullptr, options, TrainHooks{}), UsageError);
}

TEST(KeepBest, KeepsTheWeightsOfTheBestValidationEpoch) {
  NoisyRun run(8);
  run.options.keep_best = true;
  std::vector<EpochReport> reports;
  const auto backend = make_backend("reference");
  backend->set_model(run.initial, run.options.optimizer);
  TrainHooks hooks;
  hooks.on_epoch = [&](const EpochReport& r) { reports.push_back(r); };
  const TrainResult result = train(*backend, run.split.train, nullptr, run.options, hooks);
  const int64_t best = result.position.best_epoch;
  // The run must have a best epoch before the last, or the test tells keep best from keep last by nothing.
  ASSERT_GT(best, 0);
  ASSERT_LT(best, 8) << "the validation accuracy rose to the end: pick a noisier run";
  int64_t most = -1;
  for (const EpochReport& report : reports) most = std::max(most, report.validation->correct);
  EXPECT_EQ(reports[size_t(best - 1)].validation->correct, most);
  for (int64_t e = 0; e < best - 1; ++e) EXPECT_LT(reports[size_t(e)].validation->correct, most);  // the first

  // The same run stopped after the best epoch ends with those weights.
  NoisyRun shorter{int(best)};
  const auto again = make_backend("reference");
  again->set_model(shorter.initial, shorter.options.optimizer);
  train(*again, shorter.split.train, nullptr, shorter.options, TrainHooks{});
  EXPECT_TRUE(bitwise_equal(result.best_parameters, again->model().parameters));
  EXPECT_FALSE(bitwise_equal(result.best_parameters, backend->model().parameters));
}

class EarlyStopResume : public ::testing::TestWithParam<std::string> {};

// Snapshots every 3 steps of an early-stopping keep-best run; resuming from each one on a fresh backend
// must stop after the same epoch with the same best epoch, best weights and final weights.
TEST_P(EarlyStopResume, FromEverySnapshotEndsBitwiseLikeTheUninterruptedRun) {
  NoisyRun run(30);
  run.options.early_stop = 2;
  run.options.keep_best = true;
  run.options.snapshot_every_steps = 3;
  run.options.snapshot_every_epochs = 1;
  std::vector<TrainSnapshot> snapshots;
  TrainHooks hooks;
  hooks.on_snapshot = [&](const TrainSnapshot& s) { snapshots.push_back(s); };
  const auto backend = make_backend(GetParam());
  backend->set_model(run.initial, run.options.optimizer);
  const TrainResult full = train(*backend, run.split.train, nullptr, run.options, hooks);
  ASSERT_TRUE(full.stopped_early) << "30 epochs without an early stop";
  EXPECT_EQ(full.position.best_epoch, 6);
  EXPECT_EQ(full.position.epoch, 8);
  const Model expected = backend->model();
  ASSERT_GT(snapshots.size(), 5u);

  for (const TrainSnapshot& snapshot : snapshots) {
    SCOPED_TRACE("resumed at step " + std::to_string(snapshot.position.step));
    const auto resumed = make_backend(GetParam());
    resumed->set_model(snapshot.model, run.options.optimizer);
    resumed->set_optimizer_state(snapshot.optimizer);
    const TrainResult result = train(*resumed, run.split.train, nullptr, run.options, TrainHooks{}, snapshot.position,
                                     snapshot.best_parameters);
    EXPECT_TRUE(result.stopped_early);
    EXPECT_EQ(result.position.step, full.position.step);
    EXPECT_EQ(result.position.best_epoch, full.position.best_epoch);
    EXPECT_TRUE(bitwise_equal(result.best_parameters, full.best_parameters));
    EXPECT_TRUE(bitwise_equal(resumed->model().parameters, expected.parameters));
  }
}

INSTANTIATE_TEST_SUITE_P(Deterministic, EarlyStopResume, ::testing::ValuesIn(deterministic_devices()));

// ------------------------------------------------------------------------------------------------
// Checkpoint files

TEST(ValidationCheckpoint, KeepsTheBestEpochItsWeightsAndTheFlags) {
  TempDir dir;
  Checkpoint checkpoint;
  checkpoint.state.model = make_mlp(std::vector<int>{6, 5, 3}, 4);
  checkpoint.state.optimizer = {{{"momentum_buffer", make_mlp(std::vector<int>{6, 5, 3}, 5).parameters}}};
  checkpoint.state.position = {3, 0, 9, 0.0, 0, 2, 7};  // epoch 3 done, the best was epoch 2 with 7 right
  checkpoint.state.best_parameters = make_mlp(std::vector<int>{6, 5, 3}, 6).parameters;
  checkpoint.options.epochs = 5;
  checkpoint.options.batch = 4;
  checkpoint.options.optimizer = {OptimizerKind::kSgd, 0.9f};
  checkpoint.options.early_stop = 4;
  checkpoint.options.keep_best = true;
  checkpoint.data = {10, 6, 3, 0x1234};
  checkpoint.device = "reference";
  checkpoint.val_split = 0.25;
  const std::string path = dir.file("c.safetensors");
  save_checkpoint(path, checkpoint);

  const Checkpoint loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.state.position.best_epoch, 2);
  EXPECT_EQ(loaded.state.position.best_validation_correct, 7);
  EXPECT_TRUE(bitwise_equal(loaded.state.best_parameters, checkpoint.state.best_parameters));
  EXPECT_EQ(loaded.options.early_stop, 4);
  EXPECT_TRUE(loaded.options.keep_best);
  EXPECT_EQ(loaded.val_split, 0.25);
  // The best weights are "best.<tensor>", which a model reader skips: the file is still a model file.
  const SafetensorsFile file = read_safetensors(path);
  ASSERT_NE(file.find("best.0.weight"), nullptr);
  EXPECT_EQ(file.find("best.0.weight")->shape, file.find("0.weight")->shape);
  EXPECT_TRUE(bitwise_equal(load_model(path).parameters, checkpoint.state.model.parameters));

  // Without keep best there are no best weights, and a file of before these keys loads as "none".
  checkpoint.options.keep_best = false;
  checkpoint.state.best_parameters.clear();
  save_checkpoint(path, checkpoint);
  EXPECT_EQ(read_safetensors(path).find("best.0.weight"), nullptr);
  SafetensorsFile older = read_safetensors(path);
  for (const char* key : {"cudamlp.run.val_split", "cudamlp.run.early_stop", "cudamlp.run.keep",
                          "cudamlp.position.best_epoch", "cudamlp.position.best_validation_correct"})
    older.metadata.erase(key);
  write_safetensors(path, older);
  const Checkpoint old = load_checkpoint(path);
  EXPECT_EQ(old.val_split, 0.0);
  EXPECT_EQ(old.options.early_stop, 0);
  EXPECT_FALSE(old.options.keep_best);
  EXPECT_EQ(old.state.position.best_epoch, 0);
}

TEST(ValidationCheckpoint, RefusesBestEpochsAndWeightsThatDoNotFit) {
  TempDir dir;
  Checkpoint checkpoint;
  checkpoint.state.model = make_mlp(std::vector<int>{6, 3}, 4);
  checkpoint.state.optimizer = {{{"momentum_buffer", make_mlp(std::vector<int>{6, 3}, 5).parameters}}};
  checkpoint.state.position = {2, 0, 6, 0.0, 0, 1, 3};
  checkpoint.state.best_parameters = make_mlp(std::vector<int>{6, 3}, 6).parameters;
  checkpoint.options.epochs = 4;
  checkpoint.options.batch = 4;
  checkpoint.options.keep_best = true;
  checkpoint.data = {10, 6, 3, 0x1234};
  checkpoint.device = "reference";
  checkpoint.val_split = 0.5;
  const std::string path = dir.file("c.safetensors");
  save_checkpoint(path, checkpoint);
  const SafetensorsFile good = read_safetensors(path);
  const auto refused = [&](const SafetensorsFile& file, const std::string& words) {
    write_safetensors(path, file);
    try {
      load_checkpoint(path);
      ADD_FAILURE() << "accepted: " << words;
    } catch (const FileError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_TRUE(is_short_printable_line(e.what()));
    }
  };
  for (const auto& [key, value, words] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"cudamlp.position.best_epoch", "3", "cudamlp.position.best_epoch"},  // not trained yet
           {"cudamlp.position.best_epoch", "-1", "cudamlp.position.best_epoch"},
           {"cudamlp.run.keep", "first", "cudamlp.run.keep"},
           {"cudamlp.run.val_split", "1", "cudamlp.run.val_split"},
           {"cudamlp.run.val_split", "0", "needs cudamlp.run.val_split"},
           {"cudamlp.run.early_stop", "-2", "cudamlp.run.early_stop"},
           {"cudamlp.run.keep", "last", "keeps no best epoch"},
       }) {
    SafetensorsFile bad = good;
    bad.metadata[key] = value;
    refused(bad, words);
  }
  SafetensorsFile no_best = good;
  std::erase_if(no_best.tensors, [](const Tensor& t) { return t.name == "best.0.bias"; });
  refused(no_best, "best.0.bias");
}

// ------------------------------------------------------------------------------------------------
// The command line

class ValidationCli : public ::testing::Test {
 protected:
  void SetUp() override { write_mnist_folder(dir.path() / "data", 600, 50); }
  // 600 digits, a quarter held out; momentum and a high learning rate make the validation accuracy peak
  // at epoch 4 and fall back (found by trying), so early stopping and keep best have something to do.
  std::vector<std::string> args(const std::vector<std::string>& more, const std::string& lr = "0.3") const {
    std::vector<std::string> all = {"train", "--data", dir.file("data"), "--hidden", "8", "--batch", "16",
                                    "--lr", lr, "--momentum", "0.9", "--val-split", "0.25", "--device",
                                    "reference"};
    all.insert(all.end(), more.begin(), more.end());
    return all;
  }
  TempDir dir;
};

TEST_F(ValidationCli, DataSplitIsSeededHeldOutOfTrainingAndTheTestSetIsStillReported) {
  const std::string out = dir.file("m.safetensors"), log = dir.file("run.json"), report = dir.file("run.html");
  const CommandResult run = run_cli(args({"--epochs", "2", "--json", "--out", out, "--log", log, "--report", report}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("holding out 150 samples (--val-split 0.25, seed 1) as the validation set"),
            std::string::npos)
      << run.err;
  const std::vector<nlohmann::json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 3u);
  for (const nlohmann::json& epoch : {lines[0], lines[1]}) {
    EXPECT_TRUE(epoch.contains("test_accuracy")) << epoch.dump();  // t10k, as without --val-split
    EXPECT_TRUE(epoch.contains("val_accuracy") && epoch.contains("val_loss")) << epoch.dump();
  }
  EXPECT_EQ(lines[2]["train_samples"], 450);
  // The run log and the report show validation next to test.
  const RunLog written = read_run_log(log);
  ASSERT_EQ(written.epochs.size(), 2u);
  EXPECT_EQ(written.epochs[1].val_accuracy, lines[1]["val_accuracy"].get<double>());
  EXPECT_EQ(written.epochs[1].test_accuracy, lines[1]["test_accuracy"].get<double>());
  ASSERT_TRUE(written.test);
  EXPECT_EQ(written.test->set, "test");  // the summary stays the test set's when there is one
  EXPECT_EQ(written.settings["validation samples"], 150);
  const std::string html = read_file(report);
  EXPECT_NE(html.find("<th>val acc</th>"), std::string::npos);
  EXPECT_NE(html.find(">validation</text>"), std::string::npos);  // the curves' legend

  // The validation set is hold_out(train, 0.25, seed) of the training files, the rest is trained on: the
  // saved model's loss on that part is the reported one, exactly (the same reference evaluation).
  const TrainTestSplit files = load_mnist_dir(dir.file("data"));
  const TrainTestSplit split = hold_out(files.train, 0.25, 1);
  const auto backend = make_backend("reference");
  backend->set_model(load_model(out));
  EXPECT_EQ(evaluate(*backend, split.test).loss, lines[1]["val_loss"].get<double>());
  EXPECT_EQ(evaluate(*backend, files.test).loss, lines[1]["test_loss"].get<double>());

  // Another seed holds out other samples (and starts from other weights): another validation loss; the
  // same seed the same one.
  const CommandResult same = run_cli(args({"--epochs", "1", "--json"}));
  const CommandResult other = run_cli(args({"--epochs", "1", "--json", "--seed", "2"}));
  ASSERT_EQ(same.exit_code, 0) << same.err;
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(json_lines(same.out)[0]["val_loss"], lines[0]["val_loss"]);
  EXPECT_NE(json_lines(other.out)[0]["val_loss"], lines[0]["val_loss"]);
}

TEST_F(ValidationCli, EarlyStopEndsOnAPlateauAndSaysWhenAndWhy) {
  const CommandResult run = run_cli(args({"--epochs", "20", "--early-stop", "2", "--json"}, "1e-20"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<nlohmann::json> lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 4u);  // epochs 1 (the best), 2 and 3 (ties), and "done"
  const nlohmann::json& done = lines.back();
  EXPECT_EQ(done["event"], "done");
  EXPECT_EQ(done["stopped_early"], true);
  EXPECT_EQ(done["best_epoch"], 1);
  EXPECT_EQ(done["saved_epoch"], 3);  // --keep last
  EXPECT_NE(run.err.find("stopped early after epoch 3 of 20: the validation accuracy has not improved for 2 "
                         "epochs (--early-stop 2) since its best, epoch 1"),
            std::string::npos)
      << run.err;
}

TEST_F(ValidationCli, KeepBestSavesTheBestEpochsModelFile) {
  const std::string best = dir.file("best.safetensors"), last = dir.file("last.safetensors");
  const CommandResult run = run_cli(args({"--epochs", "8", "--keep", "best", "--json", "--out", best}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json done = json_lines(run.out).back();
  const int64_t epoch = done["best_epoch"].get<int64_t>();
  ASSERT_GT(epoch, 1);
  ASSERT_LT(epoch, 8) << "the validation accuracy rose to the end: keep best and keep last would agree";
  EXPECT_EQ(done["saved_epoch"], epoch);
  EXPECT_NE(run.err.find("(the weights of epoch " + std::to_string(epoch) + ", the best validation accuracy"),
            std::string::npos)
      << run.err;
  // The weights a run of that many epochs saves, bitwise; the recipe says which epoch's they are.
  ASSERT_EQ(run_cli(args({"--epochs", std::to_string(epoch), "--out", last})).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(read_safetensors(best).metadata.at("cudamlp.recipe"))["saved epoch"], epoch);
  EXPECT_TRUE(same_weights(best, last));
}

TEST_F(ValidationCli, BadFlagsAreOneLineErrors) {
  const std::string csv = dir.file("train.csv");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--val-split", "0"}, "--val-split"},
      {{"--val-split", "1"}, "--val-split"},
      {{"--val-split", "-0.2"}, "--val-split"},
      {{"--val-split", "0.0001"}, "--val-split"},  // none of 600 samples held out
      {{"--early-stop", "-1"}, "--early-stop"},
      {{"--keep", "foo"}, "--keep"},
  };
  for (const auto& [more, words] : cases) {
    SCOPED_TRACE(::testing::PrintToString(more));
    const CommandResult result = run_cli(args(more));
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_TRUE(is_short_printable_line(result.err.substr(0, result.err.size() - 1))) << result.err;
    EXPECT_NE(result.err.find(words), std::string::npos) << result.err;
  }
  for (const auto& [more, words] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--early-stop", "3"}, "--early-stop 3 needs a validation set: add --val-split F"},
           {{"--keep", "best"}, "--keep best needs a validation set: add --val-split F"}}) {
    std::vector<std::string> no_split = {"train", "--data", dir.file("data"), "--device", "reference"};
    no_split.insert(no_split.end(), more.begin(), more.end());
    const CommandResult result = run_cli(no_split);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_NE(result.err.find(words), std::string::npos) << result.err;
  }
}

class ValidationResumeCli : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { write_mnist_folder(dir.path() / "data", 600, 50); }
  std::vector<std::string> args(const std::vector<std::string>& more) const {
    std::vector<std::string> all = {"train", "--data", dir.file("data"), "--hidden", "8", "--batch", "16", "--lr",
                                    "0.3", "--momentum", "0.9", "--val-split", "0.25", "--early-stop", "2",
                                    "--keep", "best", "--device", GetParam(), "--threads", "2"};
    all.insert(all.end(), more.begin(), more.end());
    return all;
  }
  TempDir dir;
};

// A run cut short after 3 epochs and resumed with the flags left out (the checkpoint's: --val-split,
// --early-stop, --keep), and the checkpoint of the run that stopped early resumed once more, both end
// with the uninterrupted run's model file.
TEST_P(ValidationResumeCli, AResumedEarlyStoppingKeepBestRunEndsBitwiseLikeTheUninterruptedOne) {
  const std::string whole = dir.file("whole.safetensors"), whole_checkpoint = dir.file("whole.ckpt");
  const CommandResult uninterrupted =
      run_cli(args({"--epochs", "12", "--json", "--out", whole, "--checkpoint", whole_checkpoint}));
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.err;
  const nlohmann::json done = json_lines(uninterrupted.out).back();
  ASSERT_EQ(done["stopped_early"], true) << done.dump();
  ASSERT_GT(done["best_epoch"].get<int64_t>(), 1);
  ASSERT_LT(done["best_epoch"].get<int64_t>(), 6) << "the best epoch must come after the interruption's";

  const std::string part = dir.file("part.safetensors"), checkpoint = dir.file("part.ckpt");
  ASSERT_EQ(run_cli(args({"--epochs", "3", "--out", part, "--checkpoint", checkpoint})).exit_code, 0);
  const Checkpoint saved = load_checkpoint(checkpoint);
  EXPECT_EQ(saved.state.position.epoch, 3);
  EXPECT_GT(saved.state.position.best_epoch, 0);
  EXPECT_FALSE(saved.state.best_parameters.empty());
  const std::string resumed = dir.file("resumed.safetensors");
  const CommandResult going_on = run_cli({"train", "--data", dir.file("data"), "--epochs", "12", "--device",
                                          GetParam(), "--threads", "2", "--resume", checkpoint, "--checkpoint",
                                          checkpoint, "--out", resumed});
  ASSERT_EQ(going_on.exit_code, 0) << going_on.err;
  EXPECT_NE(going_on.out.find("stopped early after epoch"), std::string::npos) << going_on.out;
  EXPECT_TRUE(read_file(resumed) == read_file(whole)) << going_on.out;  // the recipe too

  // The checkpoint written where the run stopped early: resuming it stops at once, with the best weights.
  const std::string again = dir.file("again.safetensors");
  const CommandResult at_the_stop = run_cli(args({"--epochs", "12", "--resume", whole_checkpoint, "--checkpoint",
                                                  whole_checkpoint, "--out", again}));
  ASSERT_EQ(at_the_stop.exit_code, 0) << at_the_stop.err;
  EXPECT_NE(at_the_stop.out.find("stopped early"), std::string::npos) << at_the_stop.out;
  EXPECT_TRUE(read_file(again) == read_file(whole));

  // A flag given on resume must agree with the checkpoint's.
  const CommandResult disagreeing = run_cli({"train", "--data", dir.file("data"), "--early-stop", "5", "--resume",
                                             checkpoint, "--checkpoint", checkpoint});
  EXPECT_EQ(disagreeing.exit_code, 2);
  EXPECT_NE(disagreeing.err.find("--early-stop 5 disagrees with --resume"), std::string::npos) << disagreeing.err;
}

INSTANTIATE_TEST_SUITE_P(Deterministic, ValidationResumeCli, ::testing::ValuesIn(deterministic_devices()));
