// The command line of the cpu backend and of `cudamlp bench`: --device cpu with --threads end to end,
// a quick bench run with its JSON and SVG, and bad flags: one line on stderr, exit 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "test_helpers.h"

using namespace cudamlp::testing;

namespace {

int count_lines(const std::string& text) { return int(std::count(text.begin(), text.end(), '\n')); }

// A labelled Kaggle-style CSV of n 28x28 samples whose class c has pixels (c * 25) everywhere.
std::string tiny_csv(int n) {
  std::string text = "label";
  for (int i = 0; i < 784; ++i) text += ",pixel" + std::to_string(i);
  text += "\n";
  for (int s = 0; s < n; ++s) {
    const int c = s % 10;
    text += std::to_string(c);
    for (int i = 0; i < 784; ++i) text += "," + std::to_string(c * 25);
    text += "\n";
  }
  return text;
}

}  // namespace

TEST(CpuCli, TrainsEvaluatesAndPredictsOnTheCpuDeviceWithThreads) {
  TempDir dir;
  const std::string csv = dir.file("train.csv"), model = dir.file("m.safetensors");
  write_file(csv, tiny_csv(50));
  const CommandResult trained = run_cli({"train", "--train-csv", csv, "--hidden", "16", "--epochs", "2", "--batch",
                                         "8", "--device", "cpu", "--threads", "2", "--out", model});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.out.find("device cpu"), std::string::npos) << trained.out;
  const CommandResult eval = run_cli({"eval", "--model", model, "--csv", csv, "--device", "cpu", "--threads", "1"});
  EXPECT_EQ(eval.exit_code, 0) << eval.err;
  const CommandResult predict = run_cli({"predict", "--model", model, csv, "--index", "3", "--device", "cpu"});
  EXPECT_EQ(predict.exit_code, 0) << predict.err;
  EXPECT_EQ(count_lines(predict.out), 1) << predict.out;
}

TEST(BenchCli, MeasuresEveryBackendAndWritesJsonAndSvg) {
  TempDir dir;
  const std::string json = dir.file("bench.json"), svg = dir.file("bench.svg");
  const CommandResult result =
      run_cli({"bench", "--networks", "784-10-10-10,784-4096-4096-10", "--batches", "32,8192", "--budget", "0.2",
               "--repeats", "3", "--backends", "reference,cpu", "--json", json, "--plot", svg});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("samples/s"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("skipped"), std::string::npos) << result.out;  // 4096-wide at 8192 in 0.2 s

  const auto report = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(report["tool"], "cudamlp bench");
  ASSERT_EQ(report["results"].size(), 8u);  // 2 networks x 2 batches x 2 backends
  const auto& first = report["results"][0];
  EXPECT_EQ(first["backend"], "reference");
  EXPECT_EQ(first["network"], "784-10-10-10");
  EXPECT_EQ(first["batch"], 32);
  EXPECT_EQ(first["status"], "ok");
  EXPECT_GT(first["samples_per_second"].get<double>(), 0);
  EXPECT_NEAR(first["samples_per_second"].get<double>() * first["ms_per_step"].get<double>() / 1e3, 32, 1e-6);
  EXPECT_TRUE(first["gpu_cpu_speedup"].is_null());
  EXPECT_EQ(report["results"].back()["status"], "skipped");

  const std::string chart = read_file(svg);
  EXPECT_EQ(chart.rfind("<svg", 0), 0u);
  EXPECT_NE(chart.find("<polyline"), std::string::npos);
  EXPECT_NE(chart.find("</svg>"), std::string::npos);
}

TEST(BenchCli, RejectsBadFlagsWithOneLineAndExitTwo) {
  TempDir dir;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"bench", "--networks", "784-x-10"}, "--networks"},
      {{"bench", "--networks", "784"}, "--networks"},
      {{"bench", "--networks", "784-10,"}, "--networks"},
      {{"bench", "--networks", "784-10-300"}, "--networks"},
      {{"bench", "--batches", "0"}, "--batches"},
      {{"bench", "--batches", "32,,64"}, "--batches"},
      {{"bench", "--budget", "-1"}, "--budget"},
      {{"bench", "--budget", "nan"}, "--budget"},
      {{"bench", "--repeats", "0"}, "--repeats"},
      {{"bench", "--backends", "tpu"}, "--backends"},
      {{"bench", "--threads", "0"}, "--threads"},
      {{"bench", "--json", dir.file("no/such/folder/b.json")}, "--json"},
      {{"bench", "--plot", dir.path().string()}, "--plot"},
      {{"bench", "--fast"}, "--fast"},
      {{"train", "--threads", "0"}, "--threads"},
      {{"eval", "--threads", "many"}, "--threads"},
      {{"predict", "--threads", "-2"}, "--threads"},
  };
  for (const auto& [args, words] : cases) {
    SCOPED_TRACE(::testing::PrintToString(args));
    const CommandResult result = run_cli(args);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_EQ(count_lines(result.err), 1) << result.err;
    EXPECT_NE(result.err.find(words), std::string::npos) << "stderr: " << result.err;
    EXPECT_EQ(result.out, "");
  }
}

TEST(AugmentationCli, AnAugmentedRunSavesItsDistortionsAndItsResumeAdoptsThem) {
  TempDir dir;
  const std::string csv = dir.file("train.csv"), checkpoint = dir.file("run.ckpt");
  write_file(csv, tiny_csv(20));
  const std::vector<std::string> run = {"train", "--train-csv", csv, "--hidden", "8", "--batch", "8", "--device", "cpu"};
  const auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = run;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  };
  const CommandResult trained = with({"--epochs", "1", "--augment", "--elastic", "34,4", "--checkpoint", checkpoint});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.out.find("augmentation (rotate 10, scale 0.1, shear 0.1, shift 2, elastic 34,4)"), std::string::npos)
      << trained.out;
  const CommandResult differs = with({"--epochs", "2", "--resume", checkpoint, "--rotate", "5"});
  EXPECT_EQ(differs.exit_code, 2);
  EXPECT_NE(differs.err.find("disagrees with --resume"), std::string::npos) << differs.err;
  const CommandResult resumed = with({"--epochs", "2", "--resume", checkpoint});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("elastic 34,4"), std::string::npos) << resumed.out;
}

TEST(AugmentationCli, RefusesDataWithoutAnImageShapeAndBadValuesNamingTheFlag) {
  TempDir dir;
  const std::string csv = dir.file("wide.csv"), images = dir.file("train.csv");
  std::string text = "label,a,b,c\n";
  for (int s = 0; s < 8; ++s) text += std::to_string(s % 2) + ",1,2,3\n";
  write_file(csv, text);
  write_file(images, tiny_csv(8));
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"train", "--train-csv", csv, "--shift", "2"}, "not a square image"},
      {{"train", "--train-csv", images, "--elastic", "34"}, "--elastic 34"},
      {{"train", "--train-csv", images, "--elastic", "34,0"}, "--elastic 34,0"},
      {{"train", "--train-csv", images, "--rotate", "181"}, "--rotate"},
      {{"train", "--train-csv", images, "--scale", "1"}, "--scale"},
      {{"bench", "--networks", "100-10", "--augment"}, "not a square image"},
  };
  for (const auto& [args, words] : cases) {
    SCOPED_TRACE(::testing::PrintToString(args));
    const CommandResult result = run_cli(args);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find(words), std::string::npos) << result.err;
    EXPECT_EQ(count_lines(result.err), 1) << result.err;
  }
}

TEST(AugmentationCli, BenchTimesStepsWithAugmentation) {
  const CommandResult result = run_cli({"bench", "--backends", "cpu", "--networks", "784-10-10-10", "--batches", "32",
                                        "--budget", "0.3", "--threads", "1", "--augment", "--elastic", "34,4"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("784-10-10-10"), std::string::npos) << result.out;
}
