// Kaggle's digit-recognizer end to end: train.csv with a held-out validation split (`train --val-split`),
// then the ImageId,Label submission from an unlabelled test.csv. The split itself: sizes, disjointness, seeding.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cudamlp/dataset.h"
#include "cudamlp/errors.h"
#include "test_helpers.h"
#include "test_pictures.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

// Samples 0..n-1 whose single pixel is its own index mod 256 and whose label is index mod 10, so a
// split's parts say which samples they hold.
Dataset numbered(int n) {
  Dataset data;
  data.count = n;
  data.rows = 1;
  data.cols = 1;
  for (int i = 0; i < n; ++i) {
    data.pixels.push_back(uint8_t(i % 256));
    data.labels.push_back(uint8_t(i % 10));
  }
  return data;
}

std::vector<int> pixel_values(const Dataset& data) {
  return std::vector<int>(data.pixels.begin(), data.pixels.end());
}

// The labels of a submission file, checking its header and that ImageId counts 1, 2, 3, ...
std::vector<int> submitted_labels(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "ImageId,Label");
  std::vector<int> labels;
  while (std::getline(lines, line)) {
    const size_t comma = line.find(',');
    EXPECT_EQ(line.substr(0, comma), std::to_string(labels.size() + 1)) << line;
    labels.push_back(std::stoi(line.substr(comma + 1)));
  }
  return labels;
}

double agreement(const std::vector<int>& a, const std::vector<int>& b) {
  int same = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) same += a[i] == b[i];
  return a.empty() ? 0.0 : double(same) / double(a.size());
}

std::string kaggle_row(int label, const uint8_t* pixels) {
  std::string row = label >= 0 ? std::to_string(label) : "";
  for (int i = 0; i < 784; ++i) row += (i == 0 && label < 0 ? "" : ",") + std::to_string(pixels[i]);
  return row + "\n";
}

}  // namespace

TEST(HoldOut, SplitsIntoDisjointPartsInFileOrder) {
  const Dataset data = numbered(200);
  const TrainTestSplit split = hold_out(data, 0.1, 7);
  EXPECT_EQ(split.test.count, 20);
  EXPECT_EQ(split.train.count, 180);
  const std::vector<int> test = pixel_values(split.test), train = pixel_values(split.train);
  EXPECT_TRUE(std::is_sorted(test.begin(), test.end()));
  EXPECT_TRUE(std::is_sorted(train.begin(), train.end()));
  std::set<int> all(test.begin(), test.end());
  all.insert(train.begin(), train.end());
  EXPECT_EQ(all.size(), 200u);
  for (int64_t i = 0; i < split.test.count; ++i)  // labels travel with their pixels
    EXPECT_EQ(split.test.labels[size_t(i)], split.test.pixels[size_t(i)] % 10);
  EXPECT_EQ(split.test.rows, 1);
  EXPECT_EQ(split.test.num_classes, 10);
}

TEST(HoldOut, SameSeedSameSplitOtherSeedAnother) {
  const Dataset data = numbered(200);
  EXPECT_EQ(pixel_values(hold_out(data, 0.25, 3).test), pixel_values(hold_out(data, 0.25, 3).test));
  EXPECT_NE(pixel_values(hold_out(data, 0.25, 3).test), pixel_values(hold_out(data, 0.25, 4).test));
  // Not simply the first or last samples.
  const std::vector<int> test = pixel_values(hold_out(data, 0.25, 3).test);
  EXPECT_LT(test.front(), 50);
  EXPECT_GT(test.back(), 150);
}

TEST(HoldOut, RefusesFractionsThatLeaveAPartEmpty) {
  const Dataset data = numbered(10);
  for (const double fraction : {0.0, 1.0, -0.5, 0.01, 0.99})
    EXPECT_THROW(hold_out(data, fraction, 1), UsageError) << fraction;
  EXPECT_EQ(hold_out(data, 0.05, 1).test.count, 1);  // 0.5 rounds up to one sample
}

TEST(Kaggle, TrainWithValidationSplitThenWriteTheSubmission) {
  TempDir dir;
  const std::string train_csv = dir.file("train.csv"), test_csv = dir.file("test.csv");
  const std::string model = dir.file("model.safetensors"), submission = dir.file("submission.csv");
  std::vector<int> truth;
  write_file(train_csv, band_digits_csv(500, true, 11));
  write_file(test_csv, band_digits_csv(120, false, 12, &truth));

  const CommandResult trained = run_cli({"train", "--train-csv", train_csv, "--val-split", "0.1", "--hidden", "16",
                                         "--epochs", "3", "--device", "reference", "--out", model, "--json"});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.err.find("holding out 50 samples (--val-split 0.1, seed 1) as the validation set"),
            std::string::npos)
      << trained.err;
  std::istringstream lines(trained.out);
  std::string line;
  std::vector<nlohmann::json> objects;
  while (std::getline(lines, line)) objects.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(objects.size(), 4u);                                           // three epochs and "done"
  EXPECT_TRUE(objects[0].contains("val_accuracy")) << objects[0].dump();  // the held-out part, every epoch
  EXPECT_FALSE(objects[0].contains("test_accuracy")) << objects[0].dump();  // train.csv has no test set
  EXPECT_GE(objects[2]["val_accuracy"].get<double>(), 0.85);
  EXPECT_EQ(objects[3]["train_samples"], 450);
  EXPECT_EQ(objects[3]["val_accuracy"], objects[2]["val_accuracy"]);

  const CommandResult predicted = run_cli({"predict", "--model", model, test_csv, "--out", submission});
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  EXPECT_EQ(predicted.out, "");
  const std::vector<int> labels = submitted_labels(read_file(submission));
  ASSERT_EQ(labels.size(), 120u);
  // Far above chance (10%): the submission's rows are test.csv's rows, in order.
  EXPECT_GE(agreement(labels, truth), 0.85);
}

TEST(Kaggle, RealMnistInKaggleFormatGivesAGoodSubmission) {
  const std::string mnist = std::string(CUDAMLP_SOURCE_DIR) + "/data/mnist";
  if (!std::filesystem::exists(mnist + "/train-images-idx3-ubyte") &&
      !std::filesystem::exists(mnist + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "MNIST not found in " << mnist << " (run data/fetch-mnist.sh)";
  // Kaggle's train.csv and test.csv are MNIST digits in this very format: make a small pair of them.
  const TrainTestSplit data = load_mnist_dir(mnist);
  TempDir dir;
  const std::string train_csv = dir.file("train.csv"), test_csv = dir.file("test.csv");
  std::string header = "label";
  for (int i = 0; i < 784; ++i) header += ",pixel" + std::to_string(i);
  std::string train_text = header + "\n", test_text = header.substr(6) + "\n";
  constexpr int kTrain = 12000, kTest = 1000;
  for (int n = 0; n < kTrain; ++n)
    train_text += kaggle_row(data.train.labels[size_t(n)], data.train.pixels.data() + size_t(n) * 784);
  std::vector<int> truth;
  for (int n = 0; n < kTest; ++n) {
    test_text += kaggle_row(-1, data.test.pixels.data() + size_t(n) * 784);
    truth.push_back(data.test.labels[size_t(n)]);
  }
  write_file(train_csv, train_text);
  write_file(test_csv, test_text);

  const std::string model = dir.file("model.safetensors"), submission = dir.file("submission.csv");
  const CommandResult trained = run_cli({"train", "--train-csv", train_csv, "--val-split", "0.1", "--hidden", "64",
                                         "--epochs", "2", "--out", model, "--json"});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto done = nlohmann::json::parse(trained.out.substr(trained.out.rfind('{')));
  EXPECT_GE(done["val_accuracy"].get<double>(), 0.88) << done.dump();  // on the 1200 held-out digits
  ASSERT_EQ(run_cli({"predict", "--model", model, test_csv, "--out", submission}).exit_code, 0);
  const std::vector<int> labels = submitted_labels(read_file(submission));
  ASSERT_EQ(labels.size(), size_t(kTest));
  EXPECT_GE(agreement(labels, truth), 0.88);
}
