// The cudamlp command end to end: a tiny train / info / eval / predict round trip, and bad input of
// every kind: one line on stderr, exit 2 for usage errors and 1 for runtime errors, no output file
// created or changed.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cudamlp/gpu_info.h"
#include "test_helpers.h"
#include "test_pictures.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

int count_lines(const std::string& text) { return int(std::count(text.begin(), text.end(), '\n')); }

// A usage or runtime error: the expected exit code, exactly one line on stderr containing `words`,
// nothing on stdout.
void expect_error(const CommandResult& result, int exit_code, const std::string& words) {
  EXPECT_EQ(result.exit_code, exit_code) << result.err;
  EXPECT_EQ(count_lines(result.err), 1) << result.err;
  EXPECT_NE(result.err.find(words), std::string::npos) << "stderr: " << result.err;
  EXPECT_EQ(result.out, "");
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    train_csv = dir.file("train.csv");
    test_csv = dir.file("test.csv");
    write_file(train_csv, band_digits_csv(120, true, 1));
    write_file(test_csv, band_digits_csv(15, false, 2));
  }
  TempDir dir;
  std::string train_csv, test_csv;
};

}  // namespace

TEST_F(CliTest, TrainsSavesAndThenInfoEvalPredictUseTheModel) {
  const std::string model = dir.file("m.safetensors");
  CommandResult trained = run_cli({"train", "--train-csv", train_csv, "--hidden", "16", "--epochs", "3",
                                   "--batch", "8", "--lr", "0.1", "--device", "reference", "--out", model});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.out.find("epoch 3/3"), std::string::npos) << trained.out;
  ASSERT_TRUE(std::filesystem::exists(model));

  CommandResult info = run_cli({"info", model});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_NE(info.out.find("784-16-10"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find(std::to_string(784 * 16 + 16 + 16 * 10 + 10)), std::string::npos) << info.out;

  CommandResult eval = run_cli({"eval", "--model", model, "--csv", train_csv, "--json"});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const auto report = nlohmann::json::parse(eval.out);
  EXPECT_EQ(report["samples"], 120);
  EXPECT_GE(report["accuracy"].get<double>(), 0.9);  // the bands are easy to tell apart
  EXPECT_EQ(report["confusion"].size(), 10u);

  // Kaggle submission from an unlabelled test.csv.
  const std::string submission = dir.file("submission.csv");
  CommandResult predicted = run_cli({"predict", "--model", model, test_csv, "--out", submission});
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  const std::string text = read_file(submission);
  EXPECT_EQ(text.rfind("ImageId,Label\n1,", 0), 0u) << text;
  EXPECT_EQ(count_lines(text), 16);

  // 784 pixel values on stdin, twice: two predictions, one JSON line each.
  std::string pixels;
  for (int i = 0; i < 2 * 784; ++i) pixels += std::to_string(i % 256) + (i % 28 == 27 ? "\n" : " ");
  CommandResult from_stdin = run_cli({"predict", "--model", model, "--json"}, pixels);
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  ASSERT_EQ(count_lines(from_stdin.out), 2);
  const auto first = nlohmann::json::parse(from_stdin.out.substr(0, from_stdin.out.find('\n')));
  EXPECT_EQ(first["probabilities"].size(), 10u);
  double sum = 0;
  for (double p : first["probabilities"]) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST_F(CliTest, TheModelFileRecordsTheRecipeThatTrainedIt) {
  const std::string model = dir.file("recipe.safetensors");
  const CommandResult trained =
      run_cli({"train", "--train-csv", train_csv, "--hidden", "16", "--epochs", "2", "--batch", "8", "--device",
               "reference", "--optimizer", "adamw", "--lr", "0.003", "--weight-decay", "0.05", "--lr-schedule",
               "cosine", "--warmup", "1epoch", "--out", model});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  // 120 samples in batches of 8: 1epoch of warm-up is 15 steps.
  EXPECT_NE(trained.out.find("adamw lr 0.003, weight decay 0.05, cosine schedule, warm-up 15 steps"), std::string::npos)
      << trained.out;
  const CommandResult info = run_cli({"info", model, "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const nlohmann::json recipe = nlohmann::json::parse(
      nlohmann::json::parse(info.out).at("metadata").at("cudamlp.recipe").get<std::string>());
  EXPECT_EQ(recipe.at("optimizer"), "adamw");
  EXPECT_FLOAT_EQ(recipe.at("weight_decay").get<float>(), 0.05f);
  EXPECT_EQ(recipe.at("lr schedule"), "cosine");
  EXPECT_EQ(recipe.at("warmup steps"), 15);
  EXPECT_EQ(recipe.at("epochs"), 2);
  EXPECT_FALSE(recipe.contains("test accuracy")) << "a Kaggle train.csv has no test set";
}

TEST_F(CliTest, JsonModePrintsOnlyJsonLinesOnStdout) {
  CommandResult trained = run_cli({"train", "--train-csv", train_csv, "--hidden", "8", "--epochs", "2",
                                   "--batch", "16", "--json", "--device", "reference"});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  ASSERT_EQ(count_lines(trained.out), 3);  // two epochs and the final object
  std::istringstream lines(trained.out);
  std::string line;
  std::vector<nlohmann::json> objects;
  while (std::getline(lines, line)) objects.push_back(nlohmann::json::parse(line));
  EXPECT_EQ(objects[0]["event"], "epoch");
  EXPECT_EQ(objects[1]["epoch"], 2);
  EXPECT_EQ(objects[2]["event"], "done");
  EXPECT_EQ(objects[2]["steps"], 2 * 8);  // 120 samples in batches of 16: 7 full + 1 partial
}

TEST_F(CliTest, SameSeedTrainsTheSameModelFileBytes) {
  const std::string a = dir.file("a.safetensors"), b = dir.file("b.safetensors");
  for (const std::string& out : {a, b})
    ASSERT_EQ(run_cli({"train", "--train-csv", train_csv, "--hidden", "8", "--epochs", "1", "--seed", "7",
                       "--device", "reference", "--out", out})
                  .exit_code,
              0);
  EXPECT_EQ(read_file(a), read_file(b));
}

TEST_F(CliTest, RejectsBadFlagsWithOneLineAndExitTwo) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "ubcommand is required"},
      {{"fly"}, "fly"},
      {{"train"}, "--data, --train-csv or --train-npy is required"},
      {{"train", "--train-csv", train_csv, "--batch", "0"}, "--batch"},
      {{"train", "--train-csv", train_csv, "--batch", "many"}, "--batch"},
      {{"train", "--train-csv", train_csv, "--lr", "-1"}, "--lr"},
      {{"train", "--train-csv", train_csv, "--lr", "nan"}, "--lr"},
      {{"train", "--train-csv", train_csv, "--lr", "inf"}, "--lr"},
      {{"train", "--train-csv", train_csv, "--momentum", "1"}, "--momentum"},
      {{"train", "--train-csv", train_csv, "--epochs", "0"}, "--epochs"},
      {{"train", "--train-csv", train_csv, "--hidden", "12x"}, "--hidden"},
      {{"train", "--train-csv", train_csv, "--hidden", "0"}, "--hidden"},
      {{"train", "--train-csv", train_csv, "--hidden", "128,,64"}, "--hidden"},
      {{"train", "--train-csv", train_csv, "--hidden", "100000"}, "--hidden"},
      {{"train", "--train-csv", train_csv, "--device", "tpu"}, "--device"},
      {{"train", "--train-csv", train_csv, "--threads", "0"}, "--threads"},
      {{"train", "--train-csv", train_csv, "--limit", "0"}, "--limit"},
      {{"train", "--data", dir.file("missing")}, "--data"},
      {{"train", "--data", dir.path().string(), "--train-csv", train_csv}, "excludes"},
      {{"train", "--train-csv", dir.file("missing.csv")}, "--train-csv"},
      {{"train", "--train-csv", test_csv}, "no label column"},
      {{"train", "--train-csv", train_csv, "--out", dir.file("no/such/folder/m.safetensors")}, "--out"},
      {{"train", "--train-csv", train_csv, "--out", dir.path().string()}, "--out"},
      {{"eval", "--csv", train_csv}, "--model"},
      {{"predict", "--model", dir.file("missing.safetensors")}, "--model"},
      {{"info"}, "model"},
  };
  for (const auto& [args, words] : cases) {
    SCOPED_TRACE(::testing::PrintToString(args));
    expect_error(run_cli(args), 2, words);
  }
}

TEST_F(CliTest, RejectsBadFilesWithOneLineAndExitOne) {
  const std::string garbage = dir.file("garbage.safetensors");
  write_file(garbage, "this is not a model");
  expect_error(run_cli({"info", garbage}), 1, garbage);
  expect_error(run_cli({"predict", "--model", garbage}, "1 2 3"), 1, garbage);
  const std::string bad_csv = dir.file("bad.csv");
  write_file(bad_csv, "label,pixel0\n3,999\n");
  expect_error(run_cli({"train", "--train-csv", bad_csv}), 1, bad_csv);
}

TEST_F(CliTest, GpuDeviceSaysWhyItCannotRun) {
  const GpuInfo gpu = query_gpu();
  if (gpu.usable) GTEST_SKIP() << "there is a GPU here (" << gpu.description << "): --device gpu runs";
  const CommandResult result = run_cli({"train", "--train-csv", train_csv, "--device", "gpu"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(count_lines(result.err), 1) << result.err;
  EXPECT_NE(result.err.find("--device gpu"), std::string::npos) << result.err;
}

TEST_F(CliTest, PredictRejectsBadStdinAndBadIndex) {
  const std::string model = dir.file("m.safetensors");
  ASSERT_EQ(run_cli({"train", "--train-csv", train_csv, "--hidden", "none", "--epochs", "1", "--out", model,
                     "--device", "reference"})
                .exit_code,
            0);
  expect_error(run_cli({"predict", "--model", model}, "1 2 3"), 2, "multiple of 784");
  expect_error(run_cli({"predict", "--model", model}, ""), 2, "stdin");
  std::string pixels;
  for (int i = 0; i < 784; ++i) pixels += i == 5 ? "300 " : "0 ";
  expect_error(run_cli({"predict", "--model", model}, pixels), 2, "'300'");
  expect_error(run_cli({"predict", "--model", model, test_csv, "--index", "15"}), 2, "--index");
  expect_error(run_cli({"predict", "--model", model, "--index", "1"}), 2, "--index");
}

TEST_F(CliTest, FailedRunLeavesAnExistingOutputFileUntouched) {
  const std::string out = dir.file("keep.safetensors");
  write_file(out, "previous model");
  const std::string bad_init = dir.file("bad-init.safetensors");
  write_file(bad_init, std::string(8, '\xff'));
  EXPECT_EQ(run_cli({"train", "--train-csv", train_csv, "--init", bad_init, "--out", out}).exit_code, 1);
  EXPECT_EQ(run_cli({"train", "--train-csv", train_csv, "--lr", "0", "--out", out}).exit_code, 2);
  EXPECT_EQ(read_file(out), "previous model");
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST_F(CliTest, InitContinuesFromASavedModelAndChecksItsShape) {
  const std::string first = dir.file("first.safetensors"), second = dir.file("second.safetensors");
  ASSERT_EQ(run_cli({"train", "--train-csv", train_csv, "--hidden", "8", "--epochs", "1", "--out", first,
                     "--device", "reference"})
                .exit_code,
            0);
  const CommandResult resumed = run_cli({"train", "--train-csv", train_csv, "--init", first, "--epochs", "1",
                                         "--out", second, "--device", "reference"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("784-8-10"), std::string::npos) << resumed.out;
  EXPECT_NE(read_file(first), read_file(second));
  expect_error(run_cli({"train", "--train-csv", train_csv, "--init", first, "--hidden", "16"}), 2, "--hidden");
}

TEST_F(CliTest, GpuEmulatedDeviceTrainsOnTheSimtEmulatorLikeTheReference) {
  // The GPU backend's code path on any machine: same seed and settings as the reference, so the same
  // predictions on the training set up to float rounding.
  std::vector<std::string> common = {"train", "--train-csv", train_csv, "--hidden", "12", "--epochs", "2",
                                     "--batch", "32", "--json"};
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = common;
    args.insert(args.end(), extra.begin(), extra.end());
    const CommandResult result = run_cli(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return nlohmann::json::parse(result.out.substr(result.out.rfind('{')));
  };
  const auto reference = run({"--device", "reference"});
  for (const std::vector<std::string>& gpu : {std::vector<std::string>{"--device", "gpu-emulated", "--gemm", "custom"},
                                              std::vector<std::string>{"--device", "gpu-emulated", "--gemm", "cublas"}}) {
    const auto emulated = run(gpu);
    EXPECT_NE(emulated["device"].get<std::string>().find("gpu-emulated"), std::string::npos) << emulated.dump();
    EXPECT_NEAR(emulated["train_loss"].get<double>(), reference["train_loss"].get<double>(), 1e-4);
    EXPECT_EQ(emulated["train_accuracy"], reference["train_accuracy"]);
  }
  expect_error(run_cli({"train", "--train-csv", train_csv, "--device", "gpu-emulated", "--gemm", "custom", "--tf32"}),
               2, "--tf32");
  expect_error(run_cli({"train", "--train-csv", train_csv, "--gemm", "magma"}), 2, "--gemm");
}
