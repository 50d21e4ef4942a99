// Checkpoints and resume, Ctrl-C, and the divergence guard: in the library (trainer snapshots, the
// checkpoint file) and end to end on real processes that are killed with SIGKILL, interrupted with
// SIGINT/SIGTERM, or made to diverge. The promise under test: a run stopped at any moment and resumed
// from its last checkpoint ends with bitwise the same model file as a run never stopped.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "cli_process.h"
#include "cudamlp/backend.h"
#include "cudamlp/checkpoint.h"
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

// The backends whose steps are deterministic, so that resuming must be bitwise exact.
std::vector<std::string> deterministic_devices() {
#if CUDAMLP_HAVE_CPU_BACKEND
  return {"reference", "cpu"};
#else
  return {"reference"};
#endif
}

// n samples of `side`x`side` images in `classes` classes: class c brightens row band c, plus noise.
Dataset banded_dataset(int64_t n, int side, int classes, uint64_t seed) {
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
      data.pixels[size_t(s * side * side + i)] = uint8_t(lit ? 120 + rng.below(136) : rng.below(90));
    }
  }
  return data;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

void expect_bitwise_equal(const Model& a, const Model& b) {
  ASSERT_TRUE(a.network == b.network);
  EXPECT_TRUE(bitwise_equal(a.parameters, b.parameters));
}

void expect_bitwise_equal(const OptimizerState& a, const OptimizerState& b) {
  ASSERT_EQ(a.slots.size(), b.slots.size());
  for (const auto& [slot, values] : a.slots) {
    ASSERT_EQ(b.slots.count(slot), 1u) << slot;
    EXPECT_TRUE(bitwise_equal(values, b.slots.at(slot))) << slot;
  }
}

// An SGD state whose momentum buffer holds the parameters of a model made from `seed`: arbitrary values.
OptimizerState momentum_state(const std::vector<int>& sizes, uint64_t seed) {
  return {{{"momentum_buffer", make_mlp(sizes, seed).parameters}}};
}

// The MNIST folder layout with generated data: what `train --data DIR` reads.
void write_mnist_folder(const fs::path& dir, int64_t train_samples, int64_t test_samples) {
  fs::create_directories(dir);
  for (const auto& [prefix, n, seed] : {std::tuple{"train", train_samples, 11}, std::tuple{"t10k", test_samples, 12}}) {
    const Dataset data = banded_dataset(n, 28, 10, uint64_t(seed));
    write_file((dir / (std::string(prefix) + "-images-idx3-ubyte")).string(),
               idx_images(uint32_t(n), 28, 28, data.pixels));
    write_file((dir / (std::string(prefix) + "-labels-idx1-ubyte")).string(), idx_labels(data.labels));
  }
}

int count_lines(const std::string& text) { return int(std::count(text.begin(), text.end(), '\n')); }

// file, written to path, is refused by load_checkpoint with a FileError whose message holds words.
void expect_refused(const std::string& path, const SafetensorsFile& file, const std::string& words) {
  write_safetensors(path, file);
  try {
    load_checkpoint(path);
    ADD_FAILURE() << "accepted";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// The checkpoint file

class CheckpointFile : public ::testing::Test {
 protected:
  void SetUp() override {
    checkpoint.state.model = make_mlp(std::vector<int>{6, 5, 3}, 4);
    checkpoint.state.optimizer = momentum_state({6, 5, 3}, 5);
    checkpoint.state.position = {1, 8, 5, 3.25, 5};  // epoch 2 of 3, 8 of 10 samples in batches of 4: step 3 + 2
    checkpoint.options.epochs = 3;
    checkpoint.options.batch = 4;
    checkpoint.options.lr = 0.05f;
    checkpoint.options.optimizer = {OptimizerKind::kSgd, 0.9f};
    checkpoint.options.seed = 18446744073709551615ull;  // the largest seed survives the text round trip
    checkpoint.options.shuffle = false;
    checkpoint.options.regularization.dropout = 0.25f;
    checkpoint.limit = 10;
    checkpoint.data = {10, 6, 3, 0xfedcba9876543210ull};
    checkpoint.device = "reference";
  }
  TempDir dir;
  Checkpoint checkpoint;
};

TEST_F(CheckpointFile, SavesAndLoadsEveryField) {
  const std::string path = dir.file("c.safetensors");
  save_checkpoint(path, checkpoint);
  const Checkpoint loaded = load_checkpoint(path);
  expect_bitwise_equal(loaded.state.model, checkpoint.state.model);
  expect_bitwise_equal(loaded.state.optimizer, checkpoint.state.optimizer);
  const TrainPosition& at = loaded.state.position;
  EXPECT_EQ(at.epoch, 1);
  EXPECT_EQ(at.sample, 8);
  EXPECT_EQ(at.step, 5);
  EXPECT_EQ(at.epoch_loss_sum, 3.25);
  EXPECT_EQ(at.epoch_correct, 5);
  EXPECT_EQ(loaded.options.epochs, 3);
  EXPECT_EQ(loaded.options.batch, 4);
  EXPECT_EQ(loaded.options.lr, 0.05f);
  EXPECT_EQ(loaded.options.optimizer.kind, OptimizerKind::kSgd);
  EXPECT_EQ(loaded.options.optimizer.momentum, 0.9f);
  EXPECT_EQ(loaded.options.seed, 18446744073709551615ull);
  EXPECT_FALSE(loaded.options.shuffle);
  EXPECT_EQ(loaded.options.regularization.dropout, 0.25f);
  EXPECT_EQ(loaded.limit, 10);
  EXPECT_EQ(loaded.data, checkpoint.data);
  EXPECT_EQ(loaded.device, "reference");
}

TEST_F(CheckpointFile, WithoutDropoutMetadataIsARunWithoutDropout) {
  // Files written before --dropout existed have no cudamlp.run.dropout.
  const std::string path = dir.file("c.safetensors");
  save_checkpoint(path, checkpoint);
  SafetensorsFile file = read_safetensors(path);
  ASSERT_EQ(file.metadata.at("cudamlp.run.dropout"), "0.25");
  file.metadata.erase("cudamlp.run.dropout");
  write_safetensors(path, file);
  EXPECT_EQ(load_checkpoint(path).options.regularization.dropout, 0.0f);
}

TEST_F(CheckpointFile, IsAModelFileToEveryModelReader) {
  const std::string path = dir.file("c.safetensors");
  save_checkpoint(path, checkpoint);
  expect_bitwise_equal(load_model(path), checkpoint.state.model);  // so info, eval, predict and --init work
  const SafetensorsFile file = read_safetensors(path);
  ASSERT_NE(file.find("0.weight"), nullptr);  // PyTorch's names, for load_state_dict
  ASSERT_NE(file.find("momentum_buffer.0.weight"), nullptr);  // PyTorch's name of SGD's slot
  EXPECT_EQ(file.metadata.at("cudamlp.sizes"), "6,5,3");
  EXPECT_EQ(file.metadata.at("cudamlp.optimizer"), "sgd");
}

TEST_F(CheckpointFile, LoadsAVersionOneCheckpointWithItsVelocityTensors) {
  // What cudamlp wrote before 2026-12: version "1", SGD's buffers as "velocity.<tensor>", no
  // cudamlp.optimizer. It resumes as the same SGD state.
  const std::string path = dir.file("v1.safetensors");
  save_checkpoint(path, checkpoint);
  SafetensorsFile file = read_safetensors(path);
  for (Tensor& tensor : file.tensors)
    if (tensor.name.starts_with("momentum_buffer.")) tensor.name = "velocity." + tensor.name.substr(16);
  file.metadata["cudamlp.checkpoint"] = "1";
  file.metadata.erase("cudamlp.optimizer");
  file.metadata.erase("cudamlp.layers");
  write_safetensors(path, file);
  const Checkpoint loaded = load_checkpoint(path);
  expect_bitwise_equal(loaded.state.model, checkpoint.state.model);
  expect_bitwise_equal(loaded.state.optimizer, checkpoint.state.optimizer);
  EXPECT_EQ(loaded.options.optimizer.momentum, 0.9f);
  // Marked version 2, the same tensors are damaged: version 2 names them momentum_buffer.*
  file.metadata["cudamlp.checkpoint"] = "2";
  write_safetensors(path, file);
  EXPECT_THROW(load_checkpoint(path), FileError);
}

TEST_F(CheckpointFile, RejectsAModelFileAndEveryDamagedField) {
  const std::string model_path = dir.file("m.safetensors");
  save_model(model_path, checkpoint.state.model);
  EXPECT_THROW(load_checkpoint(model_path), FileError);

  // Each row damages one thing of a good checkpoint; the error must name it.
  const std::string good = dir.file("good.safetensors");
  save_checkpoint(good, checkpoint);
  const SafetensorsFile original = read_safetensors(good);
  struct Damage {
    std::string key, value, words;
  };
  const std::vector<Damage> damages = {
      {"cudamlp.checkpoint", "4", "version"},
      {"cudamlp.optimizer", "lamb", "cudamlp.optimizer"},
      {"cudamlp.run.nesterov", "1", "cudamlp.run.nesterov"},
      {"cudamlp.run.weight_decay", "-0.1", "cudamlp.run.weight_decay"},
      {"cudamlp.run.lr_schedule", "exponential", "cudamlp.run.lr_schedule"},
      {"cudamlp.run.warmup_steps", "1000", "cudamlp.run.lr_schedule"},  // not shorter than the run
      {"cudamlp.run.lr_min", "5", "cudamlp.run.lr_schedule"},          // above lr
      {"cudamlp.run.lr_step_epochs", "x", "cudamlp.run.lr_step_epochs"},
      {"cudamlp.position.step", "6", "cudamlp.position.step"},  // disagrees with epoch 1, sample 8
      {"cudamlp.position.sample", "6", "cudamlp.position.sample"},  // not a batch boundary
      {"cudamlp.position.sample", "11", "cudamlp.position.sample"},
      {"cudamlp.position.epoch", "4", "cudamlp.position.epoch"},
      {"cudamlp.position.epoch", "-1", "cudamlp.position.epoch"},
      {"cudamlp.position.epoch_correct", "9", "epoch_correct"},
      {"cudamlp.position.epoch_loss_sum", "nan", "epoch_loss_sum"},
      {"cudamlp.run.batch", "0", "cudamlp.run.batch"},
      {"cudamlp.run.batch", "4x", "cudamlp.run.batch"},
      {"cudamlp.run.lr", "inf", "cudamlp.run.lr"},
      {"cudamlp.run.lr", "-0.1", "cudamlp.run.lr"},
      {"cudamlp.run.momentum", "1", "cudamlp.run.momentum"},
      {"cudamlp.run.dropout", "1", "cudamlp.run.dropout"},
      {"cudamlp.run.dropout", "-0.5", "cudamlp.run.dropout"},
      {"cudamlp.run.dropout", "nan", "cudamlp.run.dropout"},
      {"cudamlp.run.dropout", "0.5x", "cudamlp.run.dropout"},
      {"cudamlp.run.seed", "-1", "cudamlp.run.seed"},
      {"cudamlp.run.seed", " 1", "cudamlp.run.seed"},
      {"cudamlp.run.shuffle", "yes", "cudamlp.run.shuffle"},
      {"cudamlp.data.dim", "7", "cudamlp.data.dim"},
      {"cudamlp.data.classes", "2", "cudamlp.data.classes"},
      {"cudamlp.data.checksum", "12", "cudamlp.data.checksum"},
      {"cudamlp.data.checksum", "zzzzzzzzzzzzzzzz", "cudamlp.data.checksum"},
      {"cudamlp.data.samples", "99999999999999999999", "cudamlp.data.samples"},
  };
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.key + " = " + damage.value);
    SafetensorsFile file = original;
    file.metadata[damage.key] = damage.value;
    expect_refused(dir.file("damaged.safetensors"), file, damage.words);
  }
  for (const char* key : {"cudamlp.run.epochs", "cudamlp.device", "cudamlp.data.checksum", "cudamlp.optimizer"}) {
    SafetensorsFile file = original;
    file.metadata.erase(key);
    write_safetensors(dir.file("missing.safetensors"), file);
    EXPECT_THROW(load_checkpoint(dir.file("missing.safetensors")), FileError) << key;
  }
  // The optimizer's tensors: one missing, one misshapen, one NaN, one that belongs to nothing.
  for (int variant = 0; variant < 4; ++variant) {
    SafetensorsFile file = original;
    for (auto it = file.tensors.begin(); it != file.tensors.end(); ++it) {
      if (it->name != "momentum_buffer.2.bias") continue;
      if (variant == 0) file.tensors.erase(it);
      if (variant == 1) it->shape = {1, 3};
      if (variant == 2) it->data[1] = std::nanf("");
      if (variant == 3) it->name = "momentum_buffer.4.bias";
      break;
    }
    write_safetensors(dir.file("optimizer.safetensors"), file);
    EXPECT_THROW(load_checkpoint(dir.file("optimizer.safetensors")), FileError) << "variant " << variant;
  }
}

// The limits of a run's options are the command line's (trainer.h): a checkpoint holding a run that
// `train` would refuse as flags is a damaged file, named by its key, not a run to resume.
TEST_F(CheckpointFile, RejectsRunValuesTheCommandLineRefuses) {
  const std::string good = dir.file("good.safetensors");
  save_checkpoint(good, checkpoint);
  const SafetensorsFile original = read_safetensors(good);
  // A batch too large for the position of the fixture's run: start of epoch 2, one step per epoch.
  const std::map<std::string, std::string> epoch_start = {{"cudamlp.position.sample", "0"},
                                                          {"cudamlp.position.step", "1"},
                                                          {"cudamlp.position.epoch_correct", "0"},
                                                          {"cudamlp.position.epoch_loss_sum", "0"}};
  struct Damage {
    std::string key, value;
    bool at_epoch_start;
  };
  const std::vector<Damage> damages = {
      {"cudamlp.run.epochs", "2000000000", false},
      {"cudamlp.run.epochs", std::to_string(kMaxEpochs + 1), false},
      {"cudamlp.run.batch", "1099511627776", true},
      {"cudamlp.run.batch", std::to_string(kMaxBatch + 1), true},
      {"cudamlp.run.lr", "1e-45", false},  // a float32 subnormal: the updates round to nothing
      {"cudamlp.run.lr", "1e-40", false},
      {"cudamlp.run.momentum", "1e-45", false},
  };
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.key + " = " + damage.value);
    SafetensorsFile file = original;
    if (damage.at_epoch_start)
      for (const auto& [key, value] : epoch_start) file.metadata[key] = value;
    file.metadata[damage.key] = damage.value;
    expect_refused(dir.file("damaged.safetensors"), file, damage.key + " = '" + damage.value + "'");
  }
  // The largest values the command line takes still load.
  Checkpoint largest = checkpoint;
  largest.options.epochs = kMaxEpochs;
  save_checkpoint(good, largest);
  EXPECT_EQ(load_checkpoint(good).options.epochs, kMaxEpochs);
}

TEST_F(CheckpointFile, NamesTheTensorAndIndexOfANonFiniteOptimizerValue) {
  const std::string path = dir.file("c.safetensors");
  save_checkpoint(path, checkpoint);
  SafetensorsFile file = read_safetensors(path);
  for (Tensor& tensor : file.tensors)
    if (tensor.name == "momentum_buffer.0.weight") tensor.data[7] = INFINITY;
  write_safetensors(path, file);
  EXPECT_TRUE(throws_file_error([&] { load_checkpoint(path); }, path,
                                "tensor 'momentum_buffer.0.weight' holds an infinity at index 7"));
}

TEST_F(CheckpointFile, QuotesMetadataAndTensorNamesEscapedWholeAndShort) {
  using namespace std::string_literals;
  const std::string good = dir.file("good.safetensors");
  save_checkpoint(good, checkpoint);
  const SafetensorsFile original = read_safetensors(good);
  const std::string long_text(3000, '7');
  struct Case {
    std::string key, value, words;  // a metadata value to replace, or a tensor to add when key is empty
  };
  const std::vector<Case> cases = {
      {"cudamlp.run.lr", "0.1\0\x1b[2J"s, R"(cudamlp.run.lr = '0.1\x00\x1b[2J' is not a number)"},
      {"cudamlp.run.batch", long_text, "cudamlp.run.batch = '7777"},
      {"cudamlp.checkpoint", "2\0"s, R"(format version '2\x00')"},
      {"cudamlp.checkpoint", long_text, "format version '7777"},
      {"", "momentum_buffer.x\0\x1b[2J"s, R"(tensor 'momentum_buffer.x\x00\x1b[2J' that is neither)"},
      {"", "momentum_buffer." + long_text, "tensor 'momentum_buffer.7777"},
  };
  for (const Case& c : cases) {
    SafetensorsFile file = original;
    if (c.key.empty()) file.tensors.push_back({c.value, {1}, {0.0f}});
    else file.metadata[c.key] = c.value;
    const std::string path = dir.file("damaged.safetensors");
    write_safetensors(path, file);
    const std::string message = error_message([&] { load_checkpoint(path); });
    EXPECT_TRUE(is_short_printable_line(message));
    EXPECT_NE(message.find(c.words), std::string::npos) << message;
  }
}

TEST(DataIdentity, ChangesWithAnyPixelOrLabel) {
  const Dataset data = banded_dataset(20, 4, 3, 1);
  Dataset pixel = data, label = data;
  pixel.pixels[77] ^= 1;
  label.labels[19] = uint8_t((label.labels[19] + 1) % 3);
  EXPECT_EQ(identify_data(data), identify_data(data));
  EXPECT_NE(identify_data(data), identify_data(pixel));
  EXPECT_NE(identify_data(data), identify_data(label));
  EXPECT_NE(identify_data(data), identify_data(data.first(19)));
}

// ------------------------------------------------------------------------------------------------
// The trainer: snapshots, resume, stop, divergence guard

class TrainerResume : public ::testing::TestWithParam<std::string> {};

namespace {

// Snapshots every 2 steps of a 3-epoch run with momentum, a partial last batch and `dropout`; resuming
// from each one on a fresh backend of `device` must end with the uninterrupted run's weights and the
// same epoch reports.
void expect_every_resume_bitwise(const std::string& device, float dropout) {
  const Dataset data = banded_dataset(45, 4, 3, 2);  // 45 = 6 batches of 7 + 3
  TrainOptions options;
  options.epochs = 3;
  options.batch = 7;
  options.lr = 0.2f;
  options.optimizer.momentum = 0.9f;
  options.seed = 9;
  options.snapshot_every_steps = 2;
  options.regularization.dropout = dropout;
  const Model initial = make_mlp(std::vector<int>{16, 8, 3}, options.seed);

  std::vector<TrainSnapshot> snapshots;
  std::vector<EpochReport> reports;
  TrainHooks hooks;
  hooks.on_snapshot = [&](const TrainSnapshot& s) { snapshots.push_back(s); };
  hooks.on_epoch = [&](const EpochReport& r) { reports.push_back(r); };
  const auto backend = make_backend(device);
  backend->set_model(initial, options.optimizer);
  const TrainResult full = train(*backend, data, nullptr, options, hooks);
  const Model expected = backend->model();
  EXPECT_FALSE(full.stopped);
  EXPECT_EQ(full.position.epoch, 3);
  EXPECT_EQ(full.position.step, 21);
  ASSERT_EQ(snapshots.size(), 10u);  // steps 2, 4, ..., 20; the one due at step 14 waits for epoch 2's report
  EXPECT_EQ(snapshots[6].position.epoch, 2);  // step 14 is epoch 2's last: taken at the start of epoch 3
  EXPECT_EQ(snapshots[6].position.sample, 0);

  for (const TrainSnapshot& snapshot : snapshots) {
    SCOPED_TRACE("resumed at step " + std::to_string(snapshot.position.step));
    const auto resumed = make_backend(device);
    resumed->set_model(snapshot.model, options.optimizer);
    resumed->set_optimizer_state(snapshot.optimizer);
    std::vector<EpochReport> resumed_reports;
    TrainHooks resumed_hooks;
    resumed_hooks.on_epoch = [&](const EpochReport& r) { resumed_reports.push_back(r); };
    const TrainResult result = train(*resumed, data, nullptr, options, resumed_hooks, snapshot.position);
    EXPECT_EQ(result.position.step, 21);
    expect_bitwise_equal(resumed->model(), expected);
    // The epoch in progress reports over all its samples, those before the snapshot included.
    ASSERT_FALSE(resumed_reports.empty());
    const EpochReport& first = resumed_reports.front();
    const EpochReport& same = reports[size_t(first.epoch - 1)];
    EXPECT_NEAR(first.train_loss, same.train_loss, 1e-12);
    EXPECT_EQ(first.train_accuracy, same.train_accuracy);
    EXPECT_EQ(first.steps, same.steps);
  }
}

}  // namespace

TEST_P(TrainerResume, FromEverySnapshotEndsBitwiseLikeTheUninterruptedRun) {
  expect_every_resume_bitwise(GetParam(), 0.0f);
}

// Dropout's masks are functions of (seed, step, position), not of a generator's state: a resumed run
// draws the masks the uninterrupted one drew.
TEST_P(TrainerResume, WithDropoutFromEverySnapshotEndsBitwiseLikeTheUninterruptedRun) {
  expect_every_resume_bitwise(GetParam(), 0.3f);
}

INSTANTIATE_TEST_SUITE_P(Deterministic, TrainerResume, ::testing::ValuesIn(deterministic_devices()));

TEST(TrainerStop, StopsBetweenStepsWithASnapshotOfThatPlace) {
  const Dataset data = banded_dataset(30, 4, 3, 3);
  TrainOptions options;
  options.epochs = 2;
  options.batch = 4;
  options.optimizer.momentum = 0.5f;
  const auto backend = make_backend("reference");
  backend->set_model(make_mlp(std::vector<int>{16, 3}, 1), options.optimizer);
  int polls = 0;
  std::vector<TrainSnapshot> snapshots;
  TrainHooks hooks;
  hooks.stop_requested = [&] { return ++polls > 5; };  // stop before the 6th step
  hooks.on_snapshot = [&](const TrainSnapshot& s) { snapshots.push_back(s); };
  const TrainResult result = train(*backend, data, nullptr, options, hooks);
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.position.step, 5);
  EXPECT_EQ(result.position.sample, 20);
  ASSERT_EQ(snapshots.size(), 1u);
  EXPECT_EQ(snapshots[0].position.step, 5);
  expect_bitwise_equal(snapshots[0].model, backend->model());
  expect_bitwise_equal(snapshots[0].optimizer, backend->optimizer_state());
}

TEST(TrainerDivergence, AHugeLearningRateStopsAtTheStepWithoutASnapshotOfIt) {
  const Dataset data = banded_dataset(64, 4, 3, 4);
  TrainOptions options;
  options.epochs = 5;
  options.batch = 8;
  options.lr = 1e30f;
  options.snapshot_every_steps = 1;
  const auto backend = make_backend("reference");
  backend->set_model(make_mlp(std::vector<int>{16, 8, 3}, 1));
  std::vector<int64_t> snapshot_steps;
  TrainHooks hooks;
  hooks.on_snapshot = [&](const TrainSnapshot& s) {
    snapshot_steps.push_back(s.position.step);
    EXPECT_TRUE(std::isfinite(s.position.epoch_loss_sum));
  };
  try {
    train(*backend, data, nullptr, options, hooks);
    FAIL() << "lr 1e30 did not diverge";
  } catch (const TrainingDiverged& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("step " + std::to_string(e.step())), std::string::npos) << message;
    EXPECT_NE(message.find("--lr 1e+29"), std::string::npos) << message;  // a tenth, as a suggestion
    EXPECT_EQ(message.find('\n'), std::string::npos);
    // Steps before the one that diverged were snapshotted, that one never.
    for (int64_t step : snapshot_steps) EXPECT_LT(step, e.step());
  }
}

TEST(TrainerDivergence, ACheckIntervalNamesTheStepsBetweenChecks) {
  const Dataset data = banded_dataset(64, 4, 3, 4);
  TrainOptions options;
  options.epochs = 5;
  options.batch = 8;
  options.lr = 1e30f;
  options.finite_check_every = 4;
  const auto backend = make_backend("reference");
  backend->set_model(make_mlp(std::vector<int>{16, 8, 3}, 1));
  try {
    train(*backend, data, nullptr, options, TrainHooks{});
    FAIL() << "lr 1e30 did not diverge";
  } catch (const TrainingDiverged& e) {
    EXPECT_EQ(e.step() % 4, 0);
    EXPECT_NE(std::string(e.what()).find("between steps " + std::to_string(e.step() - 3) + " and " +
                                         std::to_string(e.step())),
              std::string::npos)
        << e.what();
  }
}

TEST(TrainerResume, RejectsAStartThatIsNotABatchBoundary) {
  const Dataset data = banded_dataset(20, 4, 3, 5);
  TrainOptions options;
  options.batch = 8;
  const auto backend = make_backend("reference");
  backend->set_model(make_mlp(std::vector<int>{16, 3}, 1));
  EXPECT_THROW(train(*backend, data, nullptr, options, TrainHooks{}, {0, 5, 1, 0.0, 0}), Error);
  EXPECT_THROW(train(*backend, data, nullptr, options, TrainHooks{}, {0, 21, 3, 0.0, 0}), Error);
  EXPECT_NO_THROW(train(*backend, data, nullptr, options, TrainHooks{}, {0, 20, 3, 1.0, 2}));  // epoch's end
}

TEST(BackendOptimizerState, RoundTripsAndRejectsOtherShapes) {
  for (const std::string device : {"reference", "cpu", "gpu-emulated"}) {
    if (device == "cpu" && !cpu_backend_info().built) continue;
    SCOPED_TRACE(device);
    const auto backend = make_backend(device);
    ASSERT_TRUE(backend->traits().can_checkpoint);
    const OptimizerConfig sgd{OptimizerKind::kSgd, 0.9f};
    backend->set_model(make_mlp(std::vector<int>{5, 4, 2}, 1), sgd);
    expect_bitwise_equal(backend->optimizer_state(), zero_state(sgd, make_mlp(std::vector<int>{5, 4, 2}, 1).parameter_count()));
    const OptimizerState state = momentum_state({5, 4, 2}, 2);
    backend->set_optimizer_state(state);
    expect_bitwise_equal(backend->optimizer_state(), state);
    EXPECT_THROW(backend->set_optimizer_state(momentum_state({5, 3, 2}, 2)), Error);  // another shape
    EXPECT_THROW(backend->set_optimizer_state(OptimizerState{}), Error);              // no momentum_buffer
    OptimizerState extra = state;
    extra.slots["exp_avg"] = extra.slots["momentum_buffer"];
    EXPECT_THROW(backend->set_optimizer_state(extra), Error);  // a slot SGD does not keep
  }
}

// ------------------------------------------------------------------------------------------------
// End to end: real processes, real signals

class CheckpointCli : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { write_mnist_folder(dir.path() / "data", 2400, 50); }

  // A run long enough to be caught mid-way: 6 epochs of 150 steps, momentum, test set evaluated.
  std::vector<std::string> train_args(const std::string& out) const {
    return {"train", "--data", dir.file("data"), "--hidden", "32", "--epochs", "6", "--batch", "16",
            "--lr", "0.05", "--momentum", "0.9", "--seed", "3", "--device", GetParam(), "--threads", "2",
            "--out", out};
  }
  static std::vector<std::string> plus(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  std::string uninterrupted_model() {
    const std::string out = dir.file("uninterrupted.safetensors");
    const CommandResult result = run_cli(train_args(out));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return read_file(out);
  }

  TempDir dir;
};

TEST_P(CheckpointCli, SigkillThenResumeEndsWithTheUninterruptedModelBytes) {
  const std::string expected = uninterrupted_model();
  const std::string out = dir.file("m.safetensors"), checkpoint = dir.file("run.ckpt");
  const auto args = plus(train_args(out), {"--checkpoint", checkpoint, "--checkpoint-every", "40steps"});
  {
    CliProcess run(args);
    ASSERT_TRUE(wait_until([&] { return fs::exists(checkpoint); })) << "no checkpoint appeared";
    run.send(SIGKILL);  // no handler, no cleanup: the hardest way to stop
    const CommandResult killed = run.wait();
    ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << "the run ended before it could be killed: " << killed.out;
  }
  ASSERT_FALSE(fs::exists(out));
  const int64_t step = load_checkpoint(checkpoint).state.position.step;
  EXPECT_GT(step, 0);
  EXPECT_LT(step, 900);

  // Resume with the same command line plus --resume (which may also keep writing the same checkpoint).
  const CommandResult resumed = run_cli(plus(args, {"--resume", checkpoint}));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resuming " + checkpoint), std::string::npos) << resumed.out;
  EXPECT_TRUE(read_file(out) == expected) << "resumed model differs from the uninterrupted one";
  // The resumed run kept writing the checkpoint: the last at step 880, of 900.
  EXPECT_EQ(load_checkpoint(checkpoint).state.position.step, 880);
}

// A checkpoint records --dropout and a resumed run adopts it: the first epoch with --checkpoint, then the
// second resumed without the flag, ends with the model file of both epochs run at once.
TEST_P(CheckpointCli, WithDropoutAResumedRunAdoptsItAndEndsWithTheUninterruptedModelBytes) {
  auto run = [&](const std::string& epochs, const std::vector<std::string>& more) {
    std::vector<std::string> args = {"train", "--data", dir.file("data"), "--hidden", "32", "--epochs", epochs,
                                     "--batch", "16", "--lr", "0.05", "--seed", "3", "--device", GetParam(),
                                     "--threads", "2", "--json"};
    args.insert(args.end(), more.begin(), more.end());
    const CommandResult result = run_cli(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result;
  };
  const std::string full = dir.file("full.safetensors"), part = dir.file("part.safetensors"),
                    resumed = dir.file("resumed.safetensors"), checkpoint = dir.file("run.ckpt");
  run("2", {"--dropout", "0.3", "--out", full});
  run("1", {"--dropout", "0.3", "--out", part, "--checkpoint", checkpoint});
  EXPECT_EQ(load_checkpoint(checkpoint).options.regularization.dropout, 0.3f);
  const CommandResult second = run("2", {"--resume", checkpoint, "--out", resumed});
  EXPECT_NE(second.out.find("\"dropout\":0.3,"), std::string::npos) << second.out;
  EXPECT_TRUE(read_file(resumed) == read_file(full)) << "resumed model differs from the uninterrupted one";
  EXPECT_FALSE(load_model(part).parameters == load_model(full).parameters);
}

TEST_P(CheckpointCli, CtrlCSavesNextToOutAndPrintsTheCommandThatResumes) {
  const std::string expected = uninterrupted_model();
  const std::string out = dir.file("m.safetensors");
  CliProcess run(train_args(out));
  // Once epoch 1 is reported the handler is installed and epoch 2 is under way.
  ASSERT_TRUE(wait_until([&] { return run.out_so_far().find("epoch 1/6") != std::string::npos; }));
  run.send(SIGINT);
  const CommandResult stopped = run.wait();
  ASSERT_EQ(stopped.exit_code, 128 + SIGINT) << stopped.err;
  const std::string checkpoint = dir.file("m.ckpt.safetensors");
  ASSERT_TRUE(fs::exists(checkpoint)) << stopped.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_NE(stopped.err.find("checkpoint saved to " + checkpoint), std::string::npos) << stopped.err;

  // The printed command (paths here need no quoting) resumes the run to the uninterrupted model.
  const std::string marker = "resume with: ";
  const size_t at = stopped.err.find(marker);
  ASSERT_NE(at, std::string::npos) << stopped.err;
  std::istringstream words(stopped.err.substr(at + marker.size(), stopped.err.find('\n', at) - at - marker.size()));
  std::vector<std::string> command;
  for (std::string word; words >> word;) command.push_back(word);
  ASSERT_GE(command.size(), 2u);
  EXPECT_EQ(command.front(), CUDAMLP_CLI);
  EXPECT_EQ(command[command.size() - 2], "--resume");
  command.erase(command.begin());
  const CommandResult resumed = run_cli(command);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(read_file(out) == expected) << "resumed model differs from the uninterrupted one";
}

INSTANTIATE_TEST_SUITE_P(Deterministic, CheckpointCli, ::testing::ValuesIn(deterministic_devices()));

class InterruptCli : public ::testing::Test {
 protected:
  void SetUp() override { write_mnist_folder(dir.path() / "data", 2400, 50); }
  std::vector<std::string> args(const std::vector<std::string>& more) const {
    std::vector<std::string> all = {"train", "--data", dir.file("data"), "--hidden", "32", "--epochs", "6",
                                    "--batch", "16", "--device", "reference"};
    all.insert(all.end(), more.begin(), more.end());
    return all;
  }
  TempDir dir;
};

TEST_F(InterruptCli, SigtermStopsLikeCtrlCWithJsonEvent) {
  const std::string checkpoint = dir.file("c.safetensors");
  CliProcess run(args({"--checkpoint", checkpoint, "--checkpoint-every", "1epoch", "--json"}));
  ASSERT_TRUE(wait_until([&] { return fs::exists(checkpoint); }));  // epoch 1 done
  run.send(SIGTERM);
  const CommandResult stopped = run.wait();
  ASSERT_EQ(stopped.exit_code, 128 + SIGTERM) << stopped.err;
  const std::string last = stopped.out.substr(stopped.out.rfind('{'));
  EXPECT_NE(last.find("\"event\":\"stopped\""), std::string::npos) << stopped.out;
  EXPECT_NE(last.find("\"signal\":\"SIGTERM\""), std::string::npos) << stopped.out;
  EXPECT_NE(last.find("--resume"), std::string::npos) << stopped.out;
  const Checkpoint saved = load_checkpoint(checkpoint);
  EXPECT_GE(saved.state.position.step, 150);  // epoch 1's, or a newer one from the stop
}

TEST_F(InterruptCli, WithoutOutOrCheckpointSaysNothingWasSaved) {
  CliProcess run(args({}));
  ASSERT_TRUE(wait_until([&] { return run.out_so_far().find("epoch 1/6") != std::string::npos; }));
  run.send(SIGINT);
  const CommandResult stopped = run.wait();
  EXPECT_EQ(stopped.exit_code, 128 + SIGINT);
  EXPECT_NE(stopped.err.find("no checkpoint written"), std::string::npos) << stopped.err;
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);  // data/ only
}

TEST_F(InterruptCli, DivergenceExitsOneAndLeavesTheCheckpointAndModelFile) {
  const std::string out = dir.file("m.safetensors"), checkpoint = dir.file("c.safetensors");
  write_file(out, "the previous model");
  const CommandResult result =
      run_cli(args({"--lr", "1e30", "--out", out, "--checkpoint", checkpoint, "--checkpoint-every", "1"}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(count_lines(result.err), 1) << result.err;
  EXPECT_NE(result.err.find("training diverged: the loss became nan at step "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("try a lower one, e.g. --lr 1e+29"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("the last checkpoint, " + checkpoint), std::string::npos) << result.err;
  EXPECT_EQ(read_file(out), "the previous model");
  const Checkpoint last_good = load_checkpoint(checkpoint);  // finite, loads, one step before the guard fired
  EXPECT_NE(result.err.find("(step " + std::to_string(last_good.state.position.step) + ")"), std::string::npos);
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST_F(InterruptCli, EveryWayARunEndsHasAJsonEventLast) {
  // done and stopped are shown above; a run that diverges, and one that fails, end with theirs.
  const auto last_line = [](const std::string& out) {
    const size_t end = out.find_last_not_of('\n');
    return end == std::string::npos ? "" : out.substr(out.rfind('\n', end) + 1);
  };
  const CommandResult diverged = run_cli(args({"--lr", "1e30", "--json"}));
  EXPECT_EQ(diverged.exit_code, 1);
  EXPECT_NE(last_line(diverged.out).find("{\"error\":\"training diverged:"), std::string::npos) << diverged.out;
  EXPECT_NE(last_line(diverged.out).find("\"event\":\"diverged\",\"step\":"), std::string::npos) << diverged.out;
  const CommandResult failed = run_cli({"train", "--data", dir.file("data"), "--hidden", "32", "--device", "reference",
                                        "--init", dir.file("data/t10k-labels-idx1-ubyte"), "--json"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(last_line(failed.out).find("\"event\":\"failed\",\"exit_code\":1"), std::string::npos) << failed.out;
}

TEST_F(InterruptCli, ARunStartedFromInitPrintsAResumeCommandThatWorks) {
  // --init excludes --resume: the printed command leaves it out (the checkpoint holds the weights).
  const std::string init = dir.file("init.safetensors"), out = dir.file("m.safetensors");
  ASSERT_EQ(run_cli({"train", "--data", dir.file("data"), "--hidden", "32", "--epochs", "1", "--limit", "100",
                     "--device", "reference", "--out", init})
                .exit_code,
            0);
  CliProcess run(args({"--init", init, "--out", out}));
  ASSERT_TRUE(wait_until([&] { return run.out_so_far().find("epoch 1/6") != std::string::npos; }));
  run.send(SIGINT);
  const CommandResult stopped = run.wait();
  ASSERT_EQ(stopped.exit_code, 128 + SIGINT) << stopped.err;
  const std::string marker = "resume with: ";
  const size_t at = stopped.err.find(marker);
  ASSERT_NE(at, std::string::npos) << stopped.err;
  std::istringstream words(stopped.err.substr(at + marker.size(), stopped.err.find('\n', at) - at - marker.size()));
  std::vector<std::string> command;
  for (std::string word; words >> word;) command.push_back(word);
  ASSERT_GE(command.size(), 2u);
  EXPECT_EQ(std::find(command.begin(), command.end(), "--init"), command.end());
  command.erase(command.begin());
  const CommandResult resumed = run_cli(command);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
}

TEST_F(InterruptCli, AResumedRunsLogAndReportHoldEveryEpoch) {
  // The log of a run resumed after epoch 1 holds epochs 1, 2 and 3, not only those after the interruption.
  const std::string checkpoint = dir.file("c.safetensors"), log = dir.file("run.json"), report = dir.file("run.html");
  const std::vector<std::string> quick = {"train", "--data", dir.file("data"), "--hidden", "8", "--limit", "200",
                                          "--device", "reference", "--log", log};
  std::vector<std::string> first = quick;
  first.insert(first.end(), {"--epochs", "1", "--checkpoint", checkpoint});
  ASSERT_EQ(run_cli(first).exit_code, 0);
  std::vector<std::string> again = quick;
  again.insert(again.end(), {"--resume", checkpoint, "--epochs", "3", "--report", report});
  const CommandResult resumed = run_cli(again);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const RunLog written = read_run_log(log);
  ASSERT_EQ(written.epochs.size(), 3u);
  for (int e = 0; e < 3; ++e) EXPECT_EQ(written.epochs[size_t(e)].epoch, e + 1);
  EXPECT_NE(read_file(report).find("3 epochs"), std::string::npos) << "the report does not show 3 epochs";
}

TEST_F(InterruptCli, ARunResumedFromACheckpointWithoutHistoryCanBeResumedAgain) {
  // A checkpoint of format 1 (or any without cudamlp.history) after epoch 1: the resumed run's log starts
  // at epoch 2, so its own checkpoints keep no history, and resuming one of them works.
  const std::string first = dir.file("c1.safetensors"), second = dir.file("c2.safetensors");
  const std::vector<std::string> quick = {"train", "--data", dir.file("data"), "--hidden", "8", "--limit", "200",
                                          "--device", "reference", "--log", dir.file("run.json")};
  std::vector<std::string> run = quick;
  run.insert(run.end(), {"--epochs", "1", "--checkpoint", first});
  ASSERT_EQ(run_cli(run).exit_code, 0);
  SafetensorsFile without_history = read_safetensors(first);
  ASSERT_EQ(without_history.metadata.erase("cudamlp.history"), 1u);
  write_safetensors(first, without_history);
  run = quick;
  run.insert(run.end(), {"--resume", first, "--epochs", "2", "--checkpoint", second});
  const CommandResult resumed = run_cli(run);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  run = quick;
  run.insert(run.end(), {"--resume", second, "--epochs", "3"});
  const CommandResult again = run_cli(run);
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

TEST_F(InterruptCli, ASecondCtrlCWhileTheCheckpointIsWrittenLeavesNoTemporaryFile) {
  // The first Ctrl-C stops the run to write a checkpoint (a big one: 2048-wide layers, ~46 MB); a second
  // one while it is written ends the process at once. The checkpoint is lost, not half-written, and its
  // temporary file goes with the process.
  const std::string device = cpu_backend_info().built ? "cpu" : "reference";
  // Whatever is in the folder besides the data and finished checkpoints: a temporary file, however named.
  const auto temporaries = [&] {
    int count = 0;
    for (const auto& entry : fs::directory_iterator(dir.path())) {
      const std::string name = entry.path().filename().string();
      if (name != "data" && !name.ends_with(".ckpt")) ++count;
    }
    return count;
  };
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string checkpoint = dir.file("big" + std::to_string(attempt) + ".ckpt");
    CliProcess run({"train", "--data", dir.file("data"), "--hidden", "2048,2048", "--batch", "16", "--device", device,
                    "--momentum", "0.9", "--checkpoint", checkpoint});
    ASSERT_TRUE(wait_until([&] { return run.out_so_far().find("training ") != std::string::npos; }));
    run.send(SIGINT);
    bool caught = false;  // the second signal sent while the temporary file existed
    for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
         std::chrono::steady_clock::now() < end && !fs::exists(checkpoint);) {
      if (temporaries() > 0) {
        run.send(SIGINT);
        caught = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // the file lives ~0.1 s: plenty of looks
    }
    const CommandResult result = run.wait();
    EXPECT_EQ(temporaries(), 0) << "a temporary file outlived the process";
    if (!caught) continue;  // the checkpoint was written before the second signal: try again
    RecordProperty("attempts", attempt + 1);
    EXPECT_EQ(result.exit_code, 128 + SIGINT) << result.err;
    EXPECT_FALSE(fs::exists(checkpoint)) << "the interrupted checkpoint was written anyway";
    return;
  }
  GTEST_SKIP() << "the checkpoint was written faster than a second signal could follow, three times";
}

TEST_F(InterruptCli, ResumingAFinishedRunOnlySavesTheModel) {
  const std::string checkpoint = dir.file("c.safetensors"), out = dir.file("m.safetensors");
  const auto quick = [&](std::vector<std::string> more) {
    std::vector<std::string> all = {"train", "--data", dir.file("data"), "--hidden", "none", "--limit", "100",
                                    "--device", "reference"};
    all.insert(all.end(), more.begin(), more.end());
    return all;
  };
  ASSERT_EQ(run_cli(quick({"--epochs", "1", "--checkpoint", checkpoint})).exit_code, 0);
  const CommandResult resumed = run_cli(quick({"--resume", checkpoint, "--out", out}));  // --epochs 1 from it
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  expect_bitwise_equal(load_model(out), load_checkpoint(checkpoint).state.model);
  // A longer --epochs continues the finished run.
  const CommandResult longer = run_cli(quick({"--resume", checkpoint, "--epochs", "2", "--out", out}));
  ASSERT_EQ(longer.exit_code, 0) << longer.err;
  EXPECT_NE(longer.out.find("epoch 2/2"), std::string::npos) << longer.out;
}
