// The command line on NumPy data: `train --train-npy/--test-npy`, `eval --test-npy` and `predict` of .npy
// features, float32 or uint8; a float model records and keeps its input scale; bad files and flags are
// one error line naming the flag and the file.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cudamlp/rng.h"
#include "cudamlp/safetensors.h"
#include "test_helpers.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

// Two classes of 3 float features, far from [0, 1]: class c's features are near (c ? +2 : -2) * (1, -1, 1).
void write_float_set(const TempDir& dir, const std::string& stem, int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x;
  std::vector<int64_t> y;
  for (int i = 0; i < n; ++i) {
    const int c = int(rng.below(2));
    y.push_back(c);
    for (const float sign : {1.0f, -1.0f, 1.0f}) x.push_back(sign * (c ? 2.0f : -2.0f) + float(rng.uniform() - 0.5));
  }
  write_file(dir.file(stem + "_X.npy"), npy_bytes("<f4", "(" + std::to_string(n) + ", 3)", raw_bytes(x)));
  write_file(dir.file(stem + "_y.npy"), npy_bytes("<i8", "(" + std::to_string(n) + ",)", raw_bytes(y)));
}

std::string pair(const TempDir& dir, const std::string& stem) {
  return dir.file(stem + "_X.npy") + "," + dir.file(stem + "_y.npy");
}

// Accuracy of the well separated float set after a few epochs; scaling it by 1/255 would leave ~50%.
constexpr double kSeparableAccuracy = 0.95;

}  // namespace

TEST(NpyCli, TrainsEvaluatesAndPredictsOnFloatFeaturesAsGiven) {
  TempDir dir;
  write_float_set(dir, "train", 400, 1);
  write_float_set(dir, "test", 100, 2);
  const std::string model = dir.file("model.safetensors");
  const CommandResult trained =
      run_cli({"train", "--train-npy", pair(dir, "train"), "--test-npy", pair(dir, "test"), "--hidden", "8",
               "--epochs", "3", "--batch", "16", "--device", "reference", "--json", "--out", model});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_EQ(read_safetensors(model).metadata.at("cudamlp.input_scale"), "none");
  EXPECT_EQ(read_safetensors(model).metadata.at("cudamlp.sizes"), "3,8,2");

  const CommandResult eval = run_cli({"eval", "--model", model, "--test-npy", pair(dir, "test"), "--json"});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  const nlohmann::json result = nlohmann::json::parse(eval.out);
  EXPECT_EQ(result["samples"], 100);
  EXPECT_GE(result["accuracy"].get<double>(), kSeparableAccuracy);

  const CommandResult predicted = run_cli({"predict", "--model", model, dir.file("test_X.npy"), "--index", "4", "--json"});
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  EXPECT_EQ(nlohmann::json::parse(predicted.out)["index"], 4);
  // stdin: a float model's features as given, here those of a clear class 1 sample.
  const CommandResult from_stdin = run_cli({"predict", "--model", model, "--json"}, "2.1 -1.9 2.0\n");
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(nlohmann::json::parse(from_stdin.out)["predicted"], 1);
  const CommandResult info = run_cli({"info", model});
  EXPECT_NE(info.out.find("3 float32 features, used as given"), std::string::npos) << info.out;
}

TEST(NpyCli, Uint8ImagesTrainAsPixelsAndAugment) {
  TempDir dir;
  Rng rng(3);
  std::vector<uint8_t> x(60 * 6 * 6);
  std::vector<uint8_t> y(60);
  for (size_t i = 0; i < x.size(); ++i) x[i] = uint8_t(rng.below(256));
  for (uint8_t& label : y) label = uint8_t(rng.below(3));
  write_file(dir.file("X.npy"), npy_bytes("|u1", "(60, 6, 6)", raw_bytes(x)));
  write_file(dir.file("y.npy"), npy_bytes("|u1", "(60,)", raw_bytes(y)));
  const std::string model = dir.file("model.safetensors");
  const CommandResult trained = run_cli({"train", "--train-npy", dir.file("X.npy") + "," + dir.file("y.npy"),
                                         "--hidden", "none", "--epochs", "1", "--rotate", "5", "--device", "reference",
                                         "--out", model});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_EQ(read_safetensors(model).metadata.at("cudamlp.input_scale"), "pixel/255");
  EXPECT_EQ(read_safetensors(model).metadata.at("cudamlp.sizes"), "36,3");
}

TEST(NpyCli, DataThatIsNotWhatTheModelTakesIsAUsageError) {
  TempDir dir;
  write_float_set(dir, "train", 50, 4);
  const std::string model = dir.file("model.safetensors");
  ASSERT_EQ(run_cli({"train", "--train-npy", pair(dir, "train"), "--hidden", "none", "--epochs", "1", "--device",
                     "reference", "--out", model})
                .exit_code,
            0);
  std::vector<uint8_t> pixels(2 * 3, 7);
  write_file(dir.file("pixels.npy"), npy_bytes("|u1", "(2, 3)", raw_bytes(pixels)));
  const CommandResult predicted = run_cli({"predict", "--model", model, dir.file("pixels.npy")});
  EXPECT_EQ(predicted.exit_code, 2);
  EXPECT_NE(predicted.err.find("holds uint8 pixels (scaled by 1/255), --model " + model +
                               " takes float32 features (used as given)"),
            std::string::npos)
      << predicted.err;
  EXPECT_TRUE(is_short_printable_line(predicted.err));
  const CommandResult shown = run_cli({"predict", "--model", model, dir.file("train_X.npy"), "--show"});
  EXPECT_EQ(shown.exit_code, 2);
  EXPECT_NE(shown.err.find("--show draws images of uint8 pixels"), std::string::npos) << shown.err;
  const CommandResult augmented = run_cli({"train", "--train-npy", pair(dir, "train"), "--augment", "--epochs", "1"});
  EXPECT_EQ(augmented.exit_code, 2);
  EXPECT_NE(augmented.err.find("holds float32 features"), std::string::npos) << augmented.err;
}

TEST(NpyCli, BadFilesAndFlagsAreOneLineNamingTheFlagAndTheFile) {
  TempDir dir;
  write_float_set(dir, "train", 20, 5);
  write_file(dir.file("big_endian.npy"), npy_bytes(">f4", "(20, 3)", std::string(240, '\0')));
  write_file(dir.file("short_y.npy"), npy_bytes("<i8", "(19,)", std::string(152, '\0')));
  write_file(dir.file("bad_y.npy"), npy_bytes("<i8", "(20,)", std::string(160, '\xff')));  // all -1
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string words;
  };
  const std::string X = dir.file("train_X.npy"), y = dir.file("train_y.npy");
  const std::vector<Case> cases = {
      {{"train", "--train-npy", X}, 2, "--train-npy: expected FEATURES.npy,LABELS.npy"},
      {{"train", "--train-npy", X + "," + dir.file("missing.npy")}, 2, "missing.npy"},
      {{"train", "--train-npy", dir.file("big_endian.npy") + "," + y}, 1,
       "--train-npy: " + dir.file("big_endian.npy") + ": has big-endian dtype '>f4'"},
      {{"train", "--train-npy", X + "," + dir.file("short_y.npy")}, 1, "has 19 labels, but " + X + " has 20 samples"},
      {{"train", "--train-npy", X + "," + dir.file("bad_y.npy")}, 1, "--train-npy: " + dir.file("bad_y.npy") +
                                                                         ": has label -1 at index 0"},
      {{"train", "--test-npy", X + "," + y, "--data", dir.path().string()}, 2, "--test-npy requires --train-npy"},
      {{"train", "--train-npy", X + "," + y, "--train-csv", X}, 2, "excludes"},
      {{"eval", "--model", X, "--test-npy", X + "," + y}, 1, X},
  };
  for (const Case& c : cases) {
    const CommandResult result = run_cli(c.args);
    std::string shown;
    for (const std::string& arg : c.args) shown += arg + " ";
    EXPECT_EQ(result.exit_code, c.exit_code) << shown << "\n" << result.err;
    EXPECT_NE(result.err.find(c.words), std::string::npos) << shown << "\n" << result.err;
    EXPECT_TRUE(is_short_printable_line(result.err)) << shown;
  }
  // An output that names an input is refused before any work.
  const CommandResult over = run_cli({"train", "--train-npy", X + "," + y, "--out", y});
  EXPECT_EQ(over.exit_code, 2);
  EXPECT_NE(over.err.find("--train-npy"), std::string::npos) << over.err;
}
