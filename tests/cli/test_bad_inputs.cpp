// Bad inputs, as one table: every malformed file and flag combination we could think of, each row a
// real cudamlp command line over a folder of prepared files, with the exact exit code (2: usage error,
// 1: bad file or failed write), a word that the one-line error must contain, and a check that no file
// in the folder was created, changed or removed. Then the same for what only a limited process shows:
// unreadable inputs and unwritable folders (run as nobody when root), a full disk, a file size limit.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>

#include "cli_process.h"
#include "cudamlp/rng.h"
#include "cudamlp/run_log.h"
#include "cudamlp/safetensors.h"
#include "test_helpers.h"
#include "test_pictures.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

namespace fs = std::filesystem;

// Every file under root with its bytes (folders as ""), to tell whether a command touched anything.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied)) {
    std::error_code ec;
    const bool readable_file = entry.is_regular_file(ec) && access(entry.path().c_str(), R_OK) == 0;
    files[entry.path().string()] = readable_file ? read_file(entry.path().string()) : "";
  }
  return files;
}

int count_lines(const std::string& text) { return int(std::count(text.begin(), text.end(), '\n')); }

// A Kaggle-style CSV: n samples of 16 pixels (4x4), labels 0..9.
std::string small_csv(int n, uint64_t seed, bool labelled = true) {
  std::string text = labelled ? "label" : "";
  for (int i = 0; i < 16; ++i) text += (i == 0 && !labelled ? "pixel" : ",pixel") + std::to_string(i);
  text += "\n";
  Rng rng(seed);
  for (int s = 0; s < n; ++s) {
    if (labelled) text += std::to_string(rng.below(10));
    for (int i = 0; i < 16; ++i) text += (i == 0 && !labelled ? "" : ",") + std::to_string(rng.below(256));
    text += "\n";
  }
  return text;
}

std::vector<uint8_t> bytes_of(int n, uint64_t seed, int modulo) {
  Rng rng(seed);
  std::vector<uint8_t> bytes(static_cast<size_t>(n));
  for (uint8_t& b : bytes) b = uint8_t(rng.below(uint64_t(modulo)));
  return bytes;
}

// The four MNIST files of 4x4 images in dir; `damage` names one way to break them.
void write_mnist(const fs::path& dir, const std::string& damage = "") {
  fs::create_directories(dir);
  std::string train_images = idx_images(20, 4, 4, bytes_of(320, 1, 256));
  std::string train_labels = idx_labels(bytes_of(20, 2, 10));
  std::string test_images = idx_images(5, 4, 4, bytes_of(80, 3, 256));
  const std::string test_labels = idx_labels(bytes_of(5, 4, 10));
  if (damage == "bad-magic") train_images[3] = 0x01;
  if (damage == "truncated") train_images.resize(train_images.size() - 7);
  if (damage == "trailing") train_images += "xyz";
  if (damage == "count-mismatch") train_labels = idx_labels(bytes_of(19, 2, 10));
  if (damage == "label-range") train_labels.back() = 10;
  if (damage == "test-size") test_images = idx_images(5, 5, 5, bytes_of(125, 3, 256));
  if (damage == "zero-images") train_images = idx_images(0, 4, 4, {});
  if (damage == "huge-header") train_images = be32(0x803) + be32(0xFFFFFFFF) + be32(28) + be32(28) + "abc";
  if (damage == "corrupt-gzip") {
    write_gzip_file((dir / "train-images-idx3-ubyte.gz").string(), train_images);
    std::string gz = read_file((dir / "train-images-idx3-ubyte.gz").string());
    gz[gz.size() / 2] = char(gz[gz.size() / 2] ^ 0x5a);
    write_file((dir / "train-images-idx3-ubyte.gz").string(), gz);
  } else {
    write_file((dir / "train-images-idx3-ubyte").string(), train_images);
  }
  if (damage != "missing-file") write_file((dir / "train-labels-idx1-ubyte").string(), train_labels);
  write_file((dir / "t10k-images-idx3-ubyte").string(), test_images);
  write_file((dir / "t10k-labels-idx1-ubyte").string(), test_labels);
}

struct Row {
  std::vector<std::string> args;  // "{}" in an argument stands for the folder of prepared files
  int exit_code;
  std::string words;  // must appear in the one-line error ("{}" as in args)
};

std::string expand(std::string text, const std::string& dir) {
  for (size_t at; (at = text.find("{}")) != std::string::npos;) text.replace(at, 2, dir);
  return text;
}

class BadInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir.path().string();
    write_file(d + "/train.csv", small_csv(30, 1));
    write_file(d + "/other.csv", small_csv(30, 2));
    write_file(d + "/test.csv", small_csv(5, 3, false));
    for (const std::string damage : {"", "bad-magic", "truncated", "trailing", "count-mismatch", "label-range",
                                     "test-size", "zero-images", "huge-header", "corrupt-gzip", "missing-file"})
      write_mnist(d + "/mnist" + (damage.empty() ? "" : "-" + damage), damage);
    const std::map<std::string, std::string> csvs = {
        {"empty.csv", ""},
        {"header-only.csv", "label,pixel0,pixel1\n"},
        {"no-pixels.csv", "label\n1\n"},
        {"bad-value.csv", "label,pixel0,pixel1\n1,2,x\n"},
        {"pixel-256.csv", "label,pixel0,pixel1\n1,2,256\n"},
        {"negative.csv", "label,pixel0,pixel1\n1,-2,3\n"},
        {"float.csv", "label,pixel0,pixel1\n1,2.5,3\n"},
        {"label-10.csv", "label,pixel0,pixel1\n10,2,3\n"},
        {"ragged.csv", "label,pixel0,pixel1\n1,2,3\n1,2\n"},
        {"empty-field.csv", "label,pixel0,pixel1\n1,,3\n"},
        {"blank-middle.csv", "label,pixel0,pixel1\n1,2,3\n\n1,2,3\n"},
        {"numeric-header.csv", "1,2,3\n1,2,3\n"},
        {"binary.csv", std::string("label,pixel0\n\0\x01\x02\n", 17)},
    };
    for (const auto& [name, text] : csvs) write_file(d + "/" + name, text);

    // A model and a finished checkpoint of a run on train.csv, and damaged copies of both.
    const std::vector<std::string> run = {"train", "--train-csv", d + "/train.csv", "--hidden", "4", "--epochs", "2",
                                          "--batch", "8", "--lr", "0.1", "--momentum", "0.5", "--seed", "2",
                                          "--device", "reference"};
    auto with = [&](std::vector<std::string> more) {
      std::vector<std::string> all = run;
      all.insert(all.end(), more.begin(), more.end());
      return all;
    };
    ASSERT_EQ(run_cli(with({"--out", d + "/model.safetensors", "--checkpoint", d + "/ckpt.safetensors"})).exit_code, 0);
    fs::copy_file(d + "/ckpt.safetensors", d + "/stale.ckpt");
    write_file(d + "/old.safetensors", "the previous model");
    write_file(d + "/interrupted.ckpt.safetensors", "an interrupted run's checkpoint");
    write_file(d + "/garbage.safetensors", "this is not a model");
    const std::string model = read_file(d + "/model.safetensors");
    write_file(d + "/truncated.safetensors", model.substr(0, model.size() / 2));
    write_file(d + "/huge-header.safetensors", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));
    SafetensorsFile checkpoint = read_safetensors(d + "/ckpt.safetensors");
    checkpoint.metadata["cudamlp.position.step"] = "3";
    write_safetensors(d + "/damaged.ckpt", checkpoint);
    SafetensorsFile narrow;  // a model of 8 inputs; the data have 16
    narrow.tensors = {{"0.weight", {2, 8}, std::vector<float>(16, 0.5f)},
                      {"0.bias", {2}, {0.0f, 0.0f}},
                      {"2.weight", {10, 2}, std::vector<float>(20, 0.25f)},
                      {"2.bias", {10}, std::vector<float>(10, 0.0f)}};
    write_safetensors(d + "/wrong-input.safetensors", narrow);
    fs::create_directory(d + "/folder");
    // Found by fuzz/: a number beyond double's range in the header once escaped as a JSON library
    // exception without the file's name; a newline in a tensor name once made a two-line error.
    write_file(d + "/number-overflow.safetensors", std::string("\x10\0\0\0\0\0\0\0{\"x\":61e308}    ", 24));
    SafetensorsFile newline;
    newline.tensors = {{"a\nb", {1}, {0.0f}}};
    write_safetensors(d + "/newline-name.safetensors", newline);
  }

  // Runs each row and checks its exit code, its one-line error, and that nothing in the folder changed;
  // under limits (a memory limit) when given.
  void check(const std::vector<Row>& rows, const std::optional<ProcessLimits>& limits = std::nullopt) {
    const std::string d = dir.path().string();
    for (const Row& row : rows) {
      std::vector<std::string> args;
      for (const std::string& arg : row.args) args.push_back(expand(arg, d));
      SCOPED_TRACE(::testing::PrintToString(args));
      const auto before = snapshot(dir.path());
      const CommandResult result = limits ? CliProcess(args, *limits).wait() : run_cli(args);
      EXPECT_EQ(result.exit_code, row.exit_code) << result.err;
      EXPECT_EQ(count_lines(result.err), 1) << result.err;
      EXPECT_TRUE(is_short_printable_line(result.err));
      EXPECT_NE(result.err.find(expand(row.words, d)), std::string::npos) << "stderr: " << result.err;
      EXPECT_EQ(result.out, "");
      EXPECT_TRUE(snapshot(dir.path()) == before) << "files were created, changed or removed";
    }
  }

  TempDir dir;
};

// `train --train-csv {}/train.csv` plus flags.
std::vector<std::string> train(std::vector<std::string> more) {
  std::vector<std::string> args = {"train", "--train-csv", "{}/train.csv", "--device", "reference",
                                   "--out", "{}/old.safetensors"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// `train` resuming {}/ckpt.safetensors (whose run: --hidden 4 --epochs 2 --batch 8 --lr 0.1
// --momentum 0.5 --seed 2, shuffled, no --limit).
std::vector<std::string> resume(std::vector<std::string> more) {
  std::vector<std::string> args = {"train", "--train-csv", "{}/train.csv", "--device", "reference",
                                   "--resume", "{}/ckpt.safetensors", "--epochs", "3"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace

TEST_F(BadInputs, TrainFlagsAreUsageErrorsWithExitTwo) {
  check({
      {train({"--lr", "0"}), 2, "--lr"},
      {train({"--lr", "-1"}), 2, "--lr"},
      {train({"--lr", "nan"}), 2, "--lr"},
      {train({"--lr", "inf"}), 2, "--lr"},
      {train({"--lr", "-inf"}), 2, "--lr"},
      {train({"--lr", "1e999"}), 2, "--lr"},
      // The rate is a float32: finite in double is not enough, nor positive in double.
      {train({"--lr", "1e39"}), 2, "--lr: 1e39 is beyond float32's range"},
      {train({"--lr", "1e-320"}), 2, "--lr: 1e-320 rounds to 0 in float32"},
      {train({"--lr", "1e-45"}), 2, "--lr: 1e-45 rounds to a float32 subnormal"},
      {train({"--lr", "0.1x"}), 2, "--lr"},
      {train({"--lr", ""}), 2, "--lr"},
      {train({"--momentum", "-0.1"}), 2, "--momentum"},
      {train({"--momentum", "1"}), 2, "--momentum"},
      {train({"--momentum", "nan"}), 2, "--momentum"},
      {train({"--momentum", "0.99999999"}), 2, "--momentum: 0.99999999 rounds to 1 in float32"},
      {train({"--momentum", "1e-50"}), 2, "--momentum: 1e-50 rounds to 0 in float32"},
      {train({"--dropout", "-0.1"}), 2, "--dropout"},
      {train({"--dropout", "1"}), 2, "--dropout"},
      {train({"--dropout", "nan"}), 2, "--dropout"},
      {train({"--dropout", "0.5x"}), 2, "--dropout"},
      {train({"--dropout", "0.99999999"}), 2, "--dropout: 0.99999999 rounds to 1 in float32"},
      {train({"--dropout", "1e-50"}), 2, "--dropout: 1e-50 rounds to 0 in float32"},
      {{"bench", "--dropout", "1"}, 2, "--dropout"},
      // The optimizer and schedule flags (optimizer.h, lr_schedule.h).
      {train({"--optimizer", "lamb"}), 2, "--optimizer"},
      {train({"--optimizer", "adam", "--beta1", "1"}), 2, "--beta1"},
      {train({"--optimizer", "adam", "--beta2", "-0.5"}), 2, "--beta2"},
      {train({"--optimizer", "adamw", "--eps", "0"}), 2, "--eps"},
      {train({"--weight-decay", "-1"}), 2, "--weight-decay"},
      {train({"--optimizer", "adam", "--momentum", "0.9"}), 2, "--momentum is not a hyper-parameter of --optimizer adam"},
      {train({"--beta1", "0.8"}), 2, "--beta1 is not a hyper-parameter of --optimizer sgd"},
      {train({"--nesterov"}), 2, "Nesterov momentum needs --optimizer sgd and a --momentum above 0"},
      {train({"--optimizer", "adamw", "--nesterov"}), 2, "--nesterov is SGD's"},
      {train({"--lr-schedule", "exponential"}), 2, "--lr-schedule"},
      {train({"--lr-schedule", "step"}), 2, "--lr-schedule step needs --lr-step E,G"},
      {train({"--lr-step", "2,0.5"}), 2, "--lr-step applies to --lr-schedule step only"},
      {train({"--lr-schedule", "step", "--lr-step", "2"}), 2, "--lr-step 2: expected E,G"},
      {train({"--lr-schedule", "step", "--lr-step", "0,0.5"}), 2, "E must be at least 1 epoch"},
      {train({"--lr-schedule", "step", "--lr-step", "1,1.5"}), 2, "G 1.5 is not in (0, 1]"},
      {train({"--lr-min", "0.01"}), 2, "--lr-min is the end value of --lr-schedule cosine or linear"},
      {train({"--lr-schedule", "cosine", "--lr-min", "0.5"}), 2, "--lr-min 0.5 is not in [0, --lr 0.1]"},
      {train({"--warmup", "5epochs"}), 2, "is not shorter than the run"},
      {train({"--warmup", "-3"}), 2, "--warmup -3"},
      {train({"--warmup", "2fortnights"}), 2, "--warmup 2fortnights"},
      {train({"--dist-timeout", "1e300"}), 2, "--dist-timeout"},
      {train({"--batch", "0"}), 2, "--batch"},
      {train({"--batch", "-5"}), 2, "--batch"},
      {train({"--batch", "1048577"}), 2, "--batch"},
      {train({"--batch", "1.5"}), 2, "--batch"},
      {train({"--batch", "x"}), 2, "--batch"},
      {train({"--epochs", "0"}), 2, "--epochs"},
      {train({"--epochs", "-1"}), 2, "--epochs"},
      {train({"--epochs", "1000001"}), 2, "--epochs"},
      {train({"--hidden", "0"}), 2, "--hidden"},
      {train({"--hidden", "-3"}), 2, "--hidden"},
      {train({"--hidden", "65537"}), 2, "--hidden"},
      {train({"--hidden", "12,"}), 2, "--hidden"},
      {train({"--hidden", ",12"}), 2, "--hidden"},
      {train({"--hidden", "12,,3"}), 2, "--hidden"},
      {train({"--hidden", "4,0"}), 2, "--hidden"},
      {train({"--hidden", "1 2"}), 2, "--hidden"},
      {train({"--hidden", "99999999999"}), 2, "--hidden"},
      {train({"--seed", "-1"}), 2, "--seed"},
      {train({"--seed", "18446744073709551616"}), 2, "--seed"},
      {train({"--seed", "one"}), 2, "--seed"},
      {train({"--limit", "0"}), 2, "--limit"},
      {train({"--limit", "-1"}), 2, "--limit"},
      {train({"--threads", "0"}), 2, "--threads"},
      {train({"--threads", "5000"}), 2, "--threads"},
      {train({"--device", "tpu"}), 2, "--device"},
      {train({"--gemm", "fast"}), 2, "--gemm"},
      {train({"--frobnicate"}), 2, "--frobnicate"},
      {train({"stray"}), 2, "stray"},
      {{"train", "--out", "{}/old.safetensors"}, 2, "--data, --train-csv or --train-npy is required"},
      {{"train", "--data", "{}/mnist", "--train-csv", "{}/train.csv"}, 2, "excludes"},
      {{"train", "--data", "{}/missing"}, 2, "--data"},
      {{"train", "--data", "{}/train.csv"}, 2, "--data"},
      {{"train", "--train-csv", "{}/missing.csv"}, 2, "--train-csv"},
      {{"train", "--train-csv", "{}/folder"}, 2, "--train-csv"},
      {{"train", "--train-csv", "{}/test.csv"}, 2, "no label column"},
      {train({"--out", "{}/missing/m.safetensors"}), 2, "--out"},
      {train({"--out", "{}/folder"}), 2, "--out"},
      {train({"--out", ""}), 2, "--out"},
      {train({"--init", "{}/missing.safetensors"}), 2, "--init"},
      {train({"--init", "{}/folder"}), 2, "--init"},
      {train({"--init", "{}/wrong-input.safetensors"}), 2, "--init"},
      {train({"--init", "{}/model.safetensors", "--hidden", "8"}), 2, "--hidden"},
  });
}

TEST_F(BadInputs, CheckpointFlagsAreUsageErrorsWithExitTwo) {
  check({
      {train({"--checkpoint-every", "10"}), 2, "--checkpoint-every needs --checkpoint"},
      {train({"--checkpoint", "{}/c", "--checkpoint-every", "0"}), 2, "--checkpoint-every"},
      {train({"--checkpoint", "{}/c", "--checkpoint-every", "-3"}), 2, "--checkpoint-every"},
      {train({"--checkpoint", "{}/c", "--checkpoint-every", "5weeks"}), 2, "--checkpoint-every"},
      {train({"--checkpoint", "{}/c", "--checkpoint-every", "epochs"}), 2, "--checkpoint-every"},
      {train({"--checkpoint", "{}/c", "--checkpoint-every", "1.5epochs"}), 2, "--checkpoint-every"},
      {train({"--checkpoint", "{}/c", "--checkpoint-every", ""}), 2, "--checkpoint-every"},
      {train({"--checkpoint", "{}/folder"}), 2, "--checkpoint"},
      {train({"--checkpoint", "{}/missing/c"}), 2, "--checkpoint"},
      {train({"--checkpoint", "{}/old.safetensors"}), 2, "name the same file"},
      {train({"--checkpoint", "{}/folder/../old.safetensors"}), 2, "name the same file"},
      {train({"--checkpoint", "{}/model.safetensors", "--init", "{}/model.safetensors"}), 2, "would overwrite --init"},
      // A checkpoint already on disk belongs to an earlier run: only resuming it may overwrite it.
      {train({"--checkpoint", "{}/stale.ckpt"}), 2, "--resume {}/stale.ckpt"},
      {{"train", "--train-csv", "{}/train.csv", "--out", "{}/interrupted.safetensors"}, 2,
       "--resume {}/interrupted.ckpt.safetensors"},
      {train({"--resume", "{}/missing.ckpt"}), 2, "--resume"},
      {train({"--resume", "{}/folder"}), 2, "--resume"},
      {train({"--resume", "{}/ckpt.safetensors", "--init", "{}/model.safetensors"}), 2, "excludes"},
  });
}

TEST_F(BadInputs, ResumeMustMatchTheCheckpointsRunAndData) {
  check({
      {resume({"--hidden", "8"}), 2, "--hidden 8 disagrees with --resume {}/ckpt.safetensors"},
      {resume({"--hidden", "none"}), 2, "--hidden none disagrees"},
      {resume({"--batch", "4"}), 2, "--batch 4 disagrees"},
      {resume({"--lr", "0.2"}), 2, "--lr 0.2 disagrees"},
      {resume({"--momentum", "0"}), 2, "--momentum 0 disagrees"},
      {resume({"--dropout", "0.5"}), 2, "--dropout 0.5 disagrees with --resume {}/ckpt.safetensors, a run with no --dropout"},
      {resume({"--optimizer", "adamw"}), 2, "--optimizer adamw disagrees"},
      {resume({"--nesterov"}), 2, "--nesterov disagrees"},
      {resume({"--weight-decay", "0.1"}), 2, "--weight-decay 0.1 disagrees"},
      {resume({"--lr-schedule", "cosine"}), 2, "--lr-schedule, --warmup, --lr-min or --lr-step disagrees"},
      {resume({"--seed", "3"}), 2, "--seed 3 disagrees"},
      {resume({"--no-shuffle"}), 2, "--no-shuffle disagrees"},
      {resume({"--limit", "10"}), 2, "--limit 10 disagrees"},
      {{"train", "--train-csv", "{}/train.csv", "--resume", "{}/ckpt.safetensors", "--epochs", "1"}, 2,
       "ask for at least 2"},
      {{"train", "--train-csv", "{}/other.csv", "--resume", "{}/ckpt.safetensors", "--epochs", "3"}, 2,
       "resume with the same --data, --train-csv or --train-npy"},
      {{"train", "--data", "{}/mnist", "--resume", "{}/ckpt.safetensors", "--epochs", "3"}, 2, "same --data"},
      // Not a checkpoint, or a damaged one: a bad file, exit 1.
      {{"train", "--train-csv", "{}/train.csv", "--resume", "{}/model.safetensors"}, 1, "not a cudamlp checkpoint"},
      {{"train", "--train-csv", "{}/train.csv", "--resume", "{}/damaged.ckpt"}, 1, "cudamlp.position.step"},
      {{"train", "--train-csv", "{}/train.csv", "--resume", "{}/garbage.safetensors"}, 1, "{}/garbage.safetensors"},
  });
}

TEST_F(BadInputs, MalformedDataFilesAreRuntimeErrorsWithExitOne) {
  std::vector<Row> rows;
  for (const std::string name : {"empty.csv", "header-only.csv", "no-pixels.csv", "bad-value.csv", "pixel-256.csv",
                                 "negative.csv", "float.csv", "label-10.csv", "ragged.csv", "empty-field.csv",
                                 "blank-middle.csv", "numeric-header.csv", "binary.csv"})
    rows.push_back({{"train", "--train-csv", "{}/" + name, "--device", "reference", "--out", "{}/old.safetensors"},
                    1,
                    "{}/" + name});
  for (const std::string damage : {"bad-magic", "truncated", "trailing", "count-mismatch", "label-range",
                                   "test-size", "zero-images", "huge-header", "corrupt-gzip", "missing-file"})
    rows.push_back({{"train", "--data", "{}/mnist-" + damage, "--device", "reference", "--out", "{}/old.safetensors"},
                    1,
                    "{}/mnist-" + damage});
  rows.push_back({train({"--init", "{}/garbage.safetensors"}), 1, "{}/garbage.safetensors"});
  rows.push_back({train({"--init", "{}/truncated.safetensors"}), 1, "{}/truncated.safetensors"});
  rows.push_back({train({"--init", "{}/huge-header.safetensors"}), 1, "header length"});
  check(rows);
}

TEST_F(BadInputs, OtherCommandsRejectBadInputsTheSameWay) {
  check({
      {{"info", "{}/garbage.safetensors"}, 1, "{}/garbage.safetensors"},
      {{"info", "{}/truncated.safetensors"}, 1, "{}/truncated.safetensors"},
      {{"info", "{}/missing.safetensors"}, 2, "missing.safetensors"},
      {{"info", "{}/number-overflow.safetensors"}, 1, "{}/number-overflow.safetensors: header is not valid JSON"},
      {{"info", "{}/newline-name.safetensors"}, 1, "unexpected tensor 'a\\x0ab'"},
      {{"eval", "--model", "{}/garbage.safetensors", "--csv", "{}/train.csv"}, 1, "{}/garbage.safetensors"},
      {{"eval", "--model", "{}/model.safetensors", "--csv", "{}/bad-value.csv"}, 1, "{}/bad-value.csv"},
      {{"eval", "--model", "{}/model.safetensors", "--csv", "{}/test.csv"}, 2, "label"},
      {{"eval", "--model", "{}/model.safetensors"}, 2, "--data, --csv or --test-npy is required"},
      {{"eval", "--model", "{}/model.safetensors", "--data", "{}/mnist-test-size"}, 2, "takes 16 inputs"},
      {{"predict", "--model", "{}/garbage.safetensors", "{}/test.csv"}, 1, "{}/garbage.safetensors"},
      {{"predict", "--model", "{}/model.safetensors", "{}/empty.csv"}, 1, "{}/empty.csv"},
      {{"predict", "--model", "{}/model.safetensors", "{}/test.csv", "--index", "5"}, 2, "--index"},
      {{"predict", "--model", "{}/model.safetensors", "{}/test.csv", "--out", "{}/missing/s.csv"}, 2, "--out"},
      {{"fly"}, 2, "fly"},
  });
}

// ------------------------------------------------------------------------------------------------
// What would mislead: non-finite models, runs the flags refuse, files a command does not use, limits
// that a header or a flag would take the process past

namespace {

// A copy of the model (or checkpoint) file `from` with one value of one tensor replaced.
void write_model_with(const std::string& from, const std::string& to, const std::string& tensor, size_t index,
                      float value) {
  SafetensorsFile file = read_safetensors(from);
  for (Tensor& t : file.tensors)
    if (t.name == tensor) t.data.at(index) = value;
  write_safetensors(to, file);
}

// A copy of the checkpoint `from` with metadata values replaced.
void write_checkpoint_with(const std::string& from, const std::string& to,
                           const std::map<std::string, std::string>& values) {
  SafetensorsFile file = read_safetensors(from);
  for (const auto& [key, value] : values) file.metadata[key] = value;
  write_safetensors(to, file);
}

// An address-space limit (ulimit -v) for rows whose unguarded code allocates tens of GB: there, the
// allocation fails at once (std::bad_alloc) instead of taking the machine's memory. None under a
// sanitizer (see above); the guards under test refuse before allocating, so the rows pass without.
std::optional<ProcessLimits> address_space_limit(long long bytes) {
  if (kUnderSanitizer) return std::nullopt;
  return ProcessLimits{-1, false, bytes};
}

constexpr long long kGiB = 1ll << 30;

// A model file of 16 inputs and 65536 outputs (4 MB): what `eval` would need a 65536 x 65536 confusion
// matrix for.
void write_wide_model(const std::string& path) {
  SafetensorsFile wide;
  wide.tensors = {{"0.weight", {65536, 16}, std::vector<float>(65536 * 16, 0.01f)},
                  {"0.bias", {65536}, std::vector<float>(65536, 0.0f)}};
  write_safetensors(path, wide);
}

}  // namespace

TEST_F(BadInputs, ModelsWithNanOrInfiniteValuesAreRefusedByEveryReader) {
  const std::string d = dir.path().string();
  write_model_with(d + "/model.safetensors", d + "/nan.safetensors", "0.weight", 5, std::nanf(""));
  write_model_with(d + "/model.safetensors", d + "/inf.safetensors", "2.bias", 3, INFINITY);
  write_model_with(d + "/ckpt.safetensors", d + "/nan.ckpt", "2.weight", 0, std::nanf(""));
  const std::string nan_at = "{}/nan.safetensors: tensor '0.weight' holds NaN at index 5";
  check({
      {{"eval", "--model", "{}/nan.safetensors", "--csv", "{}/train.csv"}, 1, nan_at},
      {{"eval", "--model", "{}/inf.safetensors", "--csv", "{}/train.csv", "--json"}, 1,
       "{}/inf.safetensors: tensor '2.bias' holds an infinity at index 3"},
      {{"predict", "--model", "{}/nan.safetensors", "--json", "{}/test.csv"}, 1, nan_at},
      {{"predict", "--model", "{}/inf.safetensors", "{}/test.csv", "--index", "0"}, 1, "'2.bias' holds an infinity"},
      {train({"--init", "{}/nan.safetensors"}), 1, nan_at},
      {{"info", "{}/nan.safetensors"}, 1, nan_at},
      {{"train", "--train-csv", "{}/train.csv", "--resume", "{}/nan.ckpt", "--epochs", "3"}, 1,
       "{}/nan.ckpt: tensor '2.weight' holds NaN at index 0"},
  });
}

TEST_F(BadInputs, CheckpointsHoldingRunsTheFlagsRefuseAreDamagedFiles) {
  const std::string d = dir.path().string();
  // ckpt.safetensors ended its run of 30 samples in batches of 8: epoch 2, sample 0, step 8. With a
  // batch of 2^40 an epoch is one step, so step 2 keeps the position consistent.
  write_checkpoint_with(d + "/ckpt.safetensors", d + "/epochs.ckpt", {{"cudamlp.run.epochs", "2000000000"}});
  write_checkpoint_with(d + "/ckpt.safetensors", d + "/batch.ckpt",
                        {{"cudamlp.run.batch", "1099511627776"}, {"cudamlp.position.step", "2"}});
  write_checkpoint_with(d + "/ckpt.safetensors", d + "/lr.ckpt", {{"cudamlp.run.lr", "1e-45"}});
  write_checkpoint_with(d + "/ckpt.safetensors", d + "/momentum.ckpt", {{"cudamlp.run.momentum", "1e-45"}});
  auto resume_from = [](const std::string& name) {
    return std::vector<std::string>{"train", "--train-csv", "{}/train.csv", "--device", "reference",
                                    "--resume", "{}/" + name, "--epochs", "3"};
  };
  check({
      {resume_from("epochs.ckpt"), 1, "{}/epochs.ckpt: checkpoint metadata cudamlp.run.epochs = '2000000000'"},
      {resume_from("batch.ckpt"), 1, "cudamlp.run.batch = '1099511627776'"},
      {resume_from("lr.ckpt"), 1, "cudamlp.run.lr = '1e-45'"},
      {resume_from("momentum.ckpt"), 1, "cudamlp.run.momentum = '1e-45'"},
  });
}

TEST_F(BadInputs, EvalReadsOnlyTheTestFilesOfAFolder) {
  const std::string d = dir.path().string();
  write_mnist(d + "/t10k-only");
  fs::remove(d + "/t10k-only/train-images-idx3-ubyte");
  fs::remove(d + "/t10k-only/train-labels-idx1-ubyte");
  // Neither missing nor broken training files matter to eval.
  for (const std::string folder : {"t10k-only", "mnist-bad-magic", "mnist-missing-file"}) {
    SCOPED_TRACE(folder);
    const CommandResult result = run_cli({"eval", "--model", d + "/model.safetensors", "--data", d + "/" + folder});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find(d + "/" + folder + " (test set): 5 samples"), std::string::npos) << result.out;
  }
  // Broken test files do.
  write_mnist(d + "/bad-t10k");
  write_file(d + "/bad-t10k/t10k-labels-idx1-ubyte", idx_labels(bytes_of(4, 4, 10)));
  check({
      {{"eval", "--model", "{}/model.safetensors", "--data", "{}/bad-t10k"}, 1,
       "{}/bad-t10k/t10k-labels-idx1-ubyte: has 4 labels"},
  });
}

TEST_F(BadInputs, GzipDataWithTrailingBytesIsRefused) {
  const std::string d = dir.path().string();
  // Both image files gzip-compressed, each followed by bytes that are not another gzip member.
  write_mnist(d + "/gzip-junk");
  for (const std::string name : {"train-images-idx3-ubyte", "t10k-images-idx3-ubyte"}) {
    const std::string plain = d + "/gzip-junk/" + name;
    write_gzip_file(plain + ".gz", read_file(plain));
    write_file(plain + ".gz", read_file(plain + ".gz") + "junk");
    fs::remove(plain);
  }
  check({
      {{"train", "--data", "{}/gzip-junk", "--device", "reference", "--out", "{}/old.safetensors"}, 1,
       "{}/gzip-junk/train-images-idx3-ubyte.gz: 4 bytes after the gzip data"},
      {{"eval", "--model", "{}/model.safetensors", "--data", "{}/gzip-junk"}, 1,
       "{}/gzip-junk/t10k-images-idx3-ubyte.gz: 4 bytes after the gzip data"},
      {{"predict", "--model", "{}/model.safetensors", "{}/gzip-junk/t10k-images-idx3-ubyte.gz"}, 1,
       "{}/gzip-junk/t10k-images-idx3-ubyte.gz: 4 bytes after the gzip data"},
  });
}

TEST_F(BadInputs, OversizedNetworksAndModelsNameTheFlagOrFileAndTheBytes) {
  const std::string d = dir.path().string();
  write_wide_model(d + "/wide.safetensors");
  write_file(d + "/big.csv", small_csv(40000, 7));
  check(
      {
          // 4.3 billion parameters: 69 GB with their gradients and momentum.
          {train({"--hidden", "65536,65536"}), 2,
           "--hidden 65536,65536 with --batch 64: training the 16-65536-65536-10 network needs "},
          // 1.2 million parameters, but a batch of 40000 rows of 65536 activations: 21 GB.
          {{"train", "--train-csv", "{}/big.csv", "--device", "reference", "--hidden", "65536", "--batch", "40000"},
           2,
           "--hidden 65536 with --batch 40000: training the 16-65536-10 network needs "},
          // A 65536 x 65536 int64 confusion matrix: 34 GB.
          {{"eval", "--model", "{}/wide.safetensors", "--csv", "{}/train.csv", "--device", "reference"}, 1,
           "{}/wide.safetensors: evaluating its 65536 outputs needs "},
      },
      address_space_limit(8 * kGiB));
}

// A gzip member of 1 MiB of zeros is 1 KB: 4096 of them after an IDX header make a 4 MB file that
// decompresses to 4 GiB, and says so in its header. The header alone must be enough to refuse it.
TEST_F(BadInputs, AGzipBombIsRefusedByItsHeaderNamingTheFileAndTheBytes) {
  if (kUnderSanitizer) GTEST_SKIP() << "needs an address-space limit, which a sanitizer's shadow memory rules out";
  const std::string d = dir.path().string();
  write_mnist(d + "/bomb");
  const std::string zeros(1 << 20, '\0');
  write_gzip_file(d + "/header.gz", be32(0x803) + be32(1u << 28) + be32(4) + be32(4) + zeros);
  write_gzip_file(d + "/zeros.gz", zeros);
  std::string bomb = read_file(d + "/header.gz");
  const std::string member = read_file(d + "/zeros.gz");
  for (int i = 1; i < 4096; ++i) bomb += member;
  write_file(d + "/bomb/train-images-idx3-ubyte.gz", bomb);
  fs::remove(d + "/bomb/train-images-idx3-ubyte");
  fs::remove(d + "/header.gz");
  fs::remove(d + "/zeros.gz");
  check({{{"train", "--data", "{}/bomb", "--device", "reference", "--out", "{}/old.safetensors"}, 1,
          "{}/bomb/train-images-idx3-ubyte.gz: header says 268435456 images of 4x4: needs 4294967296 bytes"}},
        address_space_limit(2 * kGiB));
}

// The address space cudamlp needs to start, to the next 128 MiB: a build with CUDA maps the CUDA runtime
// and cuBLAS (about 1 GiB) before main, one without far less. Each try runs under timeout(1): just
// below its need, the CUDA build's start hangs instead of failing (a try that is only slow moves the
// limit up a step, which the test allows for).
long long startup_address_space() {
  constexpr long long kStep = 128ll << 20;
  for (long long bytes = kStep; bytes <= 8 * kGiB; bytes += kStep) {
    CliProcess probe({"3", CUDAMLP_CLI, "--version"}, ProcessLimits{-1, false, bytes}, "timeout");
    if (probe.wait().exit_code == 0) return bytes;
  }
  throw std::runtime_error("cudamlp --version does not start within 8 GiB of address space");
}

// predict holds the probabilities of one chunk of samples at a time, not of all of them: 4096 samples
// of a 65536-class model are 1 GiB of probabilities at once, 256 MiB a chunk. The limit leaves 768 MiB
// beyond what the program needs to start.
TEST_F(BadInputs, PredictHoldsTheProbabilitiesOfOneChunkAtATime) {
  if (kUnderSanitizer) GTEST_SKIP() << "needs an address-space limit, which a sanitizer's shadow memory rules out";
  const std::string d = dir.path().string();
  write_wide_model(d + "/wide.safetensors");
  write_file(d + "/many.csv", small_csv(4096, 8, false));
  CliProcess run({"predict", "--model", d + "/wide.safetensors", "--device", "reference", d + "/many.csv", "--out",
                  d + "/submission.csv"},
                 *address_space_limit(startup_address_space() + 3 * kGiB / 4));
  const CommandResult result = run.wait();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(count_lines(read_file(d + "/submission.csv")), 4097);
}

TEST_F(BadInputs, BenchSkipsACellThatWouldNotFitInMemory) {
  const CommandResult result = run_cli({"bench", "--backends", "reference", "--networks", "16-65536-65536-10",
                                        "--batches", "32", "--budget", "1000", "--repeats", "3"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("needs 6"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(" bytes ("), std::string::npos) << result.out;
}

TEST_F(BadInputs, FloatFlagsOfOtherCommandsAreCheckedInThePrecisionTheyAreUsedIn) {
  // A tiny grid, so that a check that lets the value through still ends at once.
  const std::vector<std::string> bench = {"bench", "--backends", "reference", "--networks", "4-2", "--batches", "1"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = bench;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  check({
      {with({"--budget", "1e300"}), 2, "--budget"},
      {with({"--budget", "0"}), 2, "--budget"},
      {with({"--dist-timeout", "1e300"}), 2, "--dist-timeout"},
  });
}

// ------------------------------------------------------------------------------------------------
// Outputs that would destroy a user's file: an input however spelled, a device or a FIFO, a name that
// cannot be written. Refused with exit 2 before any work, every command that writes.

TEST_F(BadInputs, AnOutputThatIsAnInputOrASpecialFileIsRefusedBeforeAnyWork) {
  const std::string d = dir.path().string();
  fs::create_symlink(d + "/mnist/train-labels-idx1-ubyte", d + "/link-to-labels");
  fs::create_hard_link(d + "/mnist/t10k-images-idx3-ubyte", d + "/hard-link-to-test-images");
  ASSERT_EQ(run_cli({"train", "--train-csv", d + "/train.csv", "--hidden", "4", "--epochs", "1", "--device",
                     "reference", "--log", d + "/run.json"})
                .exit_code,
            0);
  ASSERT_EQ(::mkfifo((d + "/fifo").c_str(), 0644), 0);
  const bool root = ::mknod((d + "/device").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;  // like /dev/null
  fs::create_symlink("/dev/null", d + "/link-to-dev-null");  // a device anyone can reach, as root or not
  fs::create_directory(d + "/gzipped");  // MNIST as .gz alone: a plain name written there would be read first
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"})
    write_gzip_file(d + "/gzipped/" + name + ".gz", read_file(d + "/mnist/" + name));
  const std::string long_name = "{}/" + std::string(300, 'n');
  const std::vector<std::string> data = {"train", "--data", "{}/mnist", "--device", "reference"};
  const auto plus = [](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  const std::vector<std::string> predict = {"predict", "--model", "{}/model.safetensors", "{}/test.csv"};
  const std::vector<std::string> bench = {"bench", "--backends", "reference", "--networks", "16-10", "--batches",
                                          "8", "--budget", "0.05"};
  std::vector<Row> rows = {
      // The training data, by name, through a symlink, through a hard link, spelled with ./
      {plus(data, {"--out", "{}/mnist/train-images-idx3-ubyte"}), 2, "would destroy an input"},
      {{"train", "--data", "{}/gzipped", "--device", "reference", "--out", "{}/gzipped/train-images-idx3-ubyte"}, 2,
       "would destroy an input"},
      {plus(data, {"--out", "{}/link-to-labels"}), 2, "--data's"},
      {plus(data, {"--log", "{}/hard-link-to-test-images"}), 2, "--data's"},
      {train({"--report", "{}/./train.csv"}), 2, "--train-csv's"},
      // The checkpoint a run resumes, the model it starts from
      {resume({"--log", "{}/ckpt.safetensors"}), 2, "--resume's"},
      {resume({"--out", "{}/ckpt.safetensors"}), 2, "--resume's"},
      {train({"--init", "{}/model.safetensors", "--report", "{}/model.safetensors"}), 2, "--init's"},
      // predict's submission over its model or its input, report over its log, bench's two outputs
      {plus(predict, {"--out", "{}/model.safetensors"}), 2, "--model's"},
      {plus(predict, {"--out", "{}/test.csv"}), 2, "would destroy an input"},
      {{"report", "{}/run.json", "-o", "{}/./run.json"}, 2, "would destroy an input"},
      {plus(bench, {"--json", "{}/b.json", "--plot", "{}/./b.json"}), 2, "name the same file"},
      // A FIFO (or a device) would be replaced by a regular file
      {train({"--hidden", "4", "--log", "{}/fifo"}), 2, "not a regular file"},
      {plus(data, {"--out", "{}/fifo"}), 2, "not a regular file"},
      {plus(predict, {"--out", "{}/fifo"}), 2, "not a regular file"},
      {{"report", "{}/run.json", "-o", "{}/fifo"}, 2, "not a regular file"},
      {plus(bench, {"--json", "{}/fifo"}), 2, "not a regular file"},
      {plus(data, {"--out", "{}/link-to-dev-null"}), 2, "not a regular file"},
      {plus(predict, {"--out", "{}/link-to-dev-null"}), 2, "not a regular file"},
      // A name its folder cannot hold, found before training rather than at the save
      {plus(data, {"--out", long_name}), 2, "300 bytes"},
      {train({"--hidden", "4", "--report", long_name}), 2, "300 bytes"},
  };
  if (root) rows.push_back({train({"--hidden", "4", "--checkpoint", "{}/device"}), 2, "not a regular file"});
  check(rows);
}

TEST_F(BadInputs, TheModelMayReplaceItsOwnInitAndALongNameIsWritten) {
  // --out over --init is a deliberate update. A 250-character name (with a temporary file beside it) fits.
  const std::string d = dir.path().string();
  const std::string before = read_file(d + "/model.safetensors");
  const CommandResult update = run_cli({"train", "--train-csv", d + "/train.csv", "--init", d + "/model.safetensors",
                                        "--epochs", "1", "--device", "reference", "--out", d + "/model.safetensors"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  EXPECT_NE(read_file(d + "/model.safetensors"), before);
  const std::string long_out = d + "/" + std::string(240, 'm') + ".safetensors";  // 252 bytes
  const CommandResult result = run_cli({"train", "--train-csv", d + "/train.csv", "--hidden", "4", "--epochs", "1",
                                        "--device", "reference", "--out", long_out});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(fs::exists(long_out));
}

// ------------------------------------------------------------------------------------------------
// What a message quotes of a file, and files told by what they hold

TEST_F(BadInputs, MessagesQuoteFilesEscapedWholeAndShort) {
  using namespace std::string_literals;
  const std::string d = dir.path().string();
  std::string utf16 = "\xff\xfe";  // a spreadsheet's "Unicode text": UTF-16 with a byte order mark
  for (const char c : small_csv(3, 1)) utf16 += std::string{c, '\0'};
  write_file(d + "/utf16.csv", utf16);
  std::string header = "label", row = "5";  // separated by ';': one 5,000-character column
  for (int i = 0; i < 784; ++i) header += ";pixel" + std::to_string(i), row += ";0";
  write_file(d + "/semicolons.csv", header + "\n" + row + "\n");
  std::string nul = small_csv(2, 1);  // a NUL, a stray byte and a terminal escape in the first pixel
  nul.insert(nul.find('\n') + 3, "\0x\xff\x1b[2J"s);
  write_file(d + "/nul.csv", nul);
  SafetensorsFile model = read_safetensors(d + "/model.safetensors");
  SafetensorsFile control_name = model, long_metadata = model;
  control_name.tensors.push_back({"0.x\0\x1b[2J"s, {1}, {0.0f}});
  write_safetensors(d + "/control-name.safetensors", control_name);
  long_metadata.metadata["cudamlp.activation"] = std::string(3000, 'x');
  write_safetensors(d + "/long-metadata.safetensors", long_metadata);
  write_file(d + "/junk.json", run_log_json(RunLog{}).dump() + " " + std::string(1200, 'x'));
  nlohmann::ordered_json counts = run_log_json(RunLog{});  // counts whose sum overflows int64
  counts["test"] = {{"samples", 1},  {"loss", 0.5}, {"accuracy", 0.5}, {"classes", 2},
                    {"confusion", {{INT64_MAX, INT64_MAX}, {INT64_MAX, 1}}}, {"rows", 1}, {"cols", 1},
                    {"misclassified_total", 0}, {"misclassified", nlohmann::ordered_json::array()}};
  write_file(d + "/counts.json", counts.dump());
  check({
      {{"train", "--train-csv", "{}/utf16.csv", "--device", "reference"}, 1, "UTF-16"},
      {{"train", "--train-csv", "{}/semicolons.csv", "--device", "reference"}, 1, "label;pixel0;pixel1;"},
      {{"eval", "--model", "{}/model.safetensors", "--csv", "{}/nul.csv"}, 1, R"('\x00x\xff\x1b[2J)"},
      {{"info", "{}/control-name.safetensors"}, 1, R"(unexpected tensor '0.x\x00\x1b[2J')"},
      {{"info", "{}/long-metadata.safetensors"}, 1, "cudamlp.activation is 'xxxx"},
      {{"report", "{}/junk.json", "-o", "{}/r.html"}, 1, "not JSON"},
      {{"report", "{}/counts.json", "-o", "{}/r.html"}, 1, "test.confusion"},
  });
  // Pixel values on stdin are quoted the same way.
  const CommandResult stdin_values = run_cli({"predict", "--model", d + "/model.safetensors"}, std::string(3000, '7') + "\x01\n");
  EXPECT_EQ(stdin_values.exit_code, 2) << stdin_values.err;
  EXPECT_TRUE(is_short_printable_line(stdin_values.err));
  EXPECT_NE(stdin_values.err.find("stdin: value 1 '7777"), std::string::npos) << stdin_values.err;
}

TEST_F(BadInputs, FilesAreToldByWhatTheyHoldNotByTheirNames) {
  const std::string d = dir.path().string();
  write_file(d + "/digit.png", gray_png(drawn_digit('7', 40, 60)));
  write_file(d + "/random.bin", std::string("\x42\x93\xe1\x07\x11\x00\xff\x80\x7f\x01\x02\x03\x04\x05\x06\x07", 16));
  fs::create_directory(d + "/mnist-png");
  for (const char* name : {"train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    fs::copy_file(d + "/mnist/" + name, d + "/mnist-png/" + name);
  fs::copy_file(d + "/digit.png", d + "/mnist-png/train-images-idx3-ubyte");
  check({
      {{"info", "{}/digit.png"}, 1, "{}/digit.png: is a PNG picture, not a safetensors file"},
      {{"info", "{}/train.csv"}, 1, "{}/train.csv: is a text file, not a safetensors file"},
      {{"info", "{}/mnist/t10k-images-idx3-ubyte"}, 1, "is an IDX images file, not a safetensors file"},
      {{"eval", "--model", "{}/digit.png", "--csv", "{}/train.csv"}, 1, "is a PNG picture"},
      {train({"--init", "{}/digit.png"}), 1, "is a PNG picture"},
      {{"train", "--train-csv", "{}/mnist/train-images-idx3-ubyte"}, 1, "is an IDX images file, not a CSV file"},
      {{"train", "--train-csv", "{}/digit.png"}, 1, "is a PNG picture, not a CSV file"},
      {{"train", "--data", "{}/mnist-png"}, 1, "bad magic 0x89504e47, expected 0x00000803 (IDX images: unsigned "
                                              "bytes, 3 dims); this is a PNG picture"},
      {{"predict", "--model", "{}/model.safetensors", "{}/model.safetensors"}, 1, "is a safetensors file"},
      {{"predict", "--model", "{}/model.safetensors", "{}/mnist/t10k-labels-idx1-ubyte"}, 1, "IDX labels"},
      {{"predict", "--model", "{}/model.safetensors", "{}/random.bin"}, 1, "not a picture (PNG, PGM), IDX images"},
      {{"report", "{}/digit.png"}, 1, "is a PNG picture, not a run log"},
  });
}

TEST_F(BadInputs, PredictWritesASubmissionForACsvWhateverItsName) {
  const std::string d = dir.path().string();
  fs::copy_file(d + "/test.csv", d + "/kaggle-test");
  const CommandResult result = run_cli({"predict", "--model", d + "/model.safetensors", "--device", "reference",
                                        d + "/kaggle-test", "--out", d + "/submission.csv"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_file(d + "/submission.csv").substr(0, 14), "ImageId,Label\n");
}

TEST_F(BadInputs, HeadersAreCheckedBeforeTheDataAreRead) {
  // Sparse files of 3 GiB whose first bytes are already wrong: refused without reading (or holding)
  // the gigabytes behind them. The peak memory bound is far below the file and far above the program.
  constexpr long long kFileBytes = 3LL << 30;
  constexpr long long kMaxResidentBytes = 256LL << 20;
  TempDir big;  // apart from the fixture's folder, whose snapshots read every file whole
  const std::string f32_entry = R"("0.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  const std::vector<std::tuple<std::string, std::string, std::string>> files = {
      {"bad-json.safetensors", std::string("\x10\0\0\0\0\0\0\0{not json}      ", 24), "not valid JSON"},
      {"trailing.safetensors", std::string("\x40\0\0\0\0\0\0\0", 8) + "{" + f32_entry + "}", "trailing bytes"},
      {"zero-rows-images", be32(0x803) + be32(5) + be32(0) + be32(28), "rows and cols must be at least 1"},
  };
  for (const auto& [name, head, words] : files) {
    SCOPED_TRACE(name);
    std::string bytes = head;
    if (name.ends_with(".safetensors")) bytes.resize(8 + 0x40, ' ');  // the header padded to its length
    write_file(big.file(name), bytes);
    fs::resize_file(big.file(name), kFileBytes);
    const std::string model = dir.file("model.safetensors");
    const CommandResult result = name.ends_with(".safetensors")
                                     ? run_cli({"info", big.file(name)})
                                     : run_cli({"predict", "--model", model, big.file(name)});
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_NE(result.err.find(words), std::string::npos) << result.err;
    EXPECT_LT(result.max_rss_bytes, kMaxResidentBytes) << "read the data before the header";
  }
}

TEST_F(BadInputs, EmulatorSettingsFromTheEnvironmentAreChecked) {
  const std::string d = dir.path().string();
  const std::vector<std::string> predict = {CUDAMLP_CLI, "predict", "--device", "gpu-emulated", "--model",
                                            d + "/model.safetensors", d + "/test.csv"};
  for (const std::string setting : {"CUDAMLP_SIMT_SEED=notanumber", "CUDAMLP_SIMT_SEED=", "CUDAMLP_SIMT_SEED=-1",
                                    "CUDAMLP_SIMT_SEED=12abc", "CUDAMLP_SIMT_SEED=18446744073709551616",
                                    "CUDAMLP_SIMT_WORKERS=many", "CUDAMLP_SIMT_WORKERS=0",
                                    "CUDAMLP_SIMT_WORKERS=100000"}) {
    SCOPED_TRACE(setting);
    std::vector<std::string> args = {setting};
    args.insert(args.end(), predict.begin(), predict.end());
    const auto before = snapshot(dir.path());
    const CommandResult result = run_program("env", args);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_EQ(count_lines(result.err), 1) << result.err;
    EXPECT_NE(result.err.find(setting.substr(0, setting.find('='))), std::string::npos) << result.err;
    EXPECT_EQ(result.out, "");
    EXPECT_TRUE(snapshot(dir.path()) == before);
  }
  std::vector<std::string> args = {"CUDAMLP_SIMT_SEED=18446744073709551615", "CUDAMLP_SIMT_WORKERS=2"};
  args.insert(args.end(), predict.begin(), predict.end());
  const CommandResult good = run_program("env", args);
  EXPECT_EQ(good.exit_code, 0) << good.err;
}

// ------------------------------------------------------------------------------------------------
// What needs a limited process: permissions, a full disk, a file size limit

TEST_F(BadInputs, UnreadableInputsAndUnwritableFoldersAreUsageErrors) {
  if (geteuid() == 0 && !can_run_as_nobody()) GTEST_SKIP() << "root, and nobody cannot reach " << CUDAMLP_CLI;
  const ProcessLimits nobody{-1, true};
  const std::string d = dir.path().string();
  fs::create_directory(d + "/locked");
  write_file(d + "/locked.csv", small_csv(10, 5));
  fs::permissions(d + "/locked.csv", fs::perms::none);  // unreadable to anyone but root
  fs::permissions(d + "/locked", fs::perms::none);
  if (geteuid() == 0) {
    // nobody may write only where we let it: a folder of its own.
    fs::create_directory(d + "/mine");
    if (chown((d + "/mine").c_str(), 65534, 65534) != 0) GTEST_SKIP() << "cannot chown to nobody";
  } else {
    fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);  // read-only for us
  }
  const std::string out_folder = geteuid() == 0 ? d + "/mine" : d;
  const std::vector<Row> rows = {
      {{"train", "--train-csv", "{}/locked.csv"}, 2, "cannot be read"},
      {{"train", "--data", "{}/locked"}, 2, "cannot be read"},
      {{"train", "--train-csv", "{}/train.csv", "--init", "{}/locked.csv"}, 2, "--init"},
      {{"train", "--train-csv", "{}/train.csv", "--resume", "{}/locked.csv"}, 2, "--resume"},
      {{"train", "--train-csv", "{}/train.csv", "--out", "{}/new.safetensors"}, 2, "not writable"},
      {{"train", "--train-csv", "{}/train.csv", "--out", out_folder + "/m.safetensors", "--checkpoint",
        "{}/c.safetensors"},
       2,
       "not writable"},
  };
  for (const Row& row : rows) {
    std::vector<std::string> args;
    for (const std::string& arg : row.args) args.push_back(expand(arg, d));
    SCOPED_TRACE(::testing::PrintToString(args));
    const auto before = snapshot(dir.path());
    CliProcess run(args, nobody);
    const CommandResult result = run.wait();
    EXPECT_EQ(result.exit_code, row.exit_code) << result.err;
    EXPECT_EQ(count_lines(result.err), 1) << result.err;
    EXPECT_NE(result.err.find(row.words), std::string::npos) << result.err;
    EXPECT_TRUE(snapshot(dir.path()) == before);
  }
  fs::permissions(dir.path(), fs::perms::owner_all, fs::perm_options::add);
  fs::permissions(d + "/locked", fs::perms::owner_all);
}

TEST_F(BadInputs, AFailedSaveReportsItAndLeavesTheOldFileIntact) {
  // Writes beyond 8 KB fail (EFBIG): the 16-256-10 model (~27 KB) cannot be saved, nor its checkpoint.
  const std::string d = dir.path().string();
  for (const auto& more : {std::vector<std::string>{}, std::vector<std::string>{"--checkpoint", d + "/c.safetensors",
                                                                                  "--checkpoint-every", "2"}}) {
    std::vector<std::string> args = {"train", "--train-csv", d + "/train.csv", "--hidden", "256", "--epochs", "1",
                                     "--device", "reference", "--out", d + "/old.safetensors"};
    args.insert(args.end(), more.begin(), more.end());
    SCOPED_TRACE(::testing::PrintToString(args));
    const auto before = snapshot(dir.path());
    CliProcess run(args, {8 * 1024, false});
    const CommandResult result = run.wait();
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_EQ(count_lines(result.err), 1) << result.err;
    EXPECT_NE(result.err.find("could not write: File too large"), std::string::npos) << result.err;
    EXPECT_TRUE(snapshot(dir.path()) == before) << "a temporary file was left, or the old file changed";
  }
}

TEST_F(BadInputs, AFullDiskReportsItAndLeavesTheOldFileIntact) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  const std::string disk = dir.file("disk");
  fs::create_directory(disk);
  if (mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=64k") != 0) GTEST_SKIP() << "cannot mount a tmpfs here";
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{disk};
  write_file(disk + "/old.safetensors", "the previous model");
  write_file(disk + "/filler", std::string(40 * 1024, 'x'));  // leaves < 24 KB: too little for ~27 KB
  const auto before = snapshot(disk);
  const CommandResult result = run_cli({"train", "--train-csv", dir.file("train.csv"), "--hidden", "256", "--epochs",
                                        "1", "--device", "reference", "--out", disk + "/old.safetensors"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_EQ(count_lines(result.err), 1) << result.err;
  EXPECT_NE(result.err.find("No space left on device"), std::string::npos) << result.err;
  EXPECT_TRUE(snapshot(disk) == before) << "a temporary file was left, or the old file changed";
}
