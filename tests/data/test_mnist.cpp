// Real MNIST, when data/fetch-mnist.sh has put it in data/mnist/: the reader sees the published shapes
// and a short reference-backend run reaches >= 90% test accuracy. Skipped (with the reason) otherwise.
#include <gtest/gtest.h>

#include <filesystem>

#include "cudamlp/dataset.h"
#include "cudamlp/trainer.h"
#include "reference_backend.h"

using namespace cudamlp;

namespace {

const std::string kMnistDir = std::string(CUDAMLP_SOURCE_DIR) + "/data/mnist";

bool have_mnist() {
  return std::filesystem::exists(kMnistDir + "/train-images-idx3-ubyte") ||
         std::filesystem::exists(kMnistDir + "/train-images-idx3-ubyte.gz");
}

}  // namespace

TEST(Mnist, HasThePublishedShapes) {
  if (!have_mnist()) GTEST_SKIP() << "MNIST not found in " << kMnistDir << " (run data/fetch-mnist.sh)";
  const TrainTestSplit mnist = load_mnist_dir(kMnistDir);
  EXPECT_EQ(mnist.train.count, 60000);
  EXPECT_EQ(mnist.test.count, 10000);
  EXPECT_EQ(mnist.train.rows, 28);
  EXPECT_EQ(mnist.train.cols, 28);
  EXPECT_EQ(mnist.train.labels[0], 5);  // the first training digit is a 5
  EXPECT_EQ(mnist.test.labels[0], 7);   // the first test digit is a 7
}

TEST(Mnist, ShortReferenceRunReachesNinetyPercent) {
  if (!have_mnist()) GTEST_SKIP() << "MNIST not found in " << kMnistDir << " (run data/fetch-mnist.sh)";
  const TrainTestSplit mnist = load_mnist_dir(kMnistDir);
  ReferenceBackend backend;
  backend.set_model(make_mlp(std::vector<int>{784, 32, 10}, 1), {});
  TrainOptions options;
  options.epochs = 1;
  options.batch = 32;
  options.lr = 0.1f;
  std::optional<EpochReport> last;
  const Dataset subset = mnist.train.first(20000);
  train(backend, subset, &mnist.test, options, [&](const EpochReport& r) { last = r; });
  ASSERT_TRUE(last && last->test);
  EXPECT_GE(last->test->accuracy(), 0.90);
}
