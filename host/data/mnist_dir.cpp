// load_mnist_dir: the four MNIST-named IDX files in one folder (as data/fetch-mnist.sh leaves them),
// each plain or gzip-compressed; load_mnist_test: the two test files alone.
#include <filesystem>
#include <string>

#include "cudamlp/dataset.h"
#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

namespace fs = std::filesystem;

// dir/name if it exists, else dir/name.gz; the plain file wins when both are there (it is what
// gunzip leaves behind, and reading it is faster).
std::string find_idx_file(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  for (const std::string& candidate : {name, name + ".gz"}) {
    const fs::path path = dir / candidate;
    if (fs::exists(path, ec)) return path.string();
  }
  throw FileError(dir.string(), "no " + name + "[.gz] in this folder (run data/fetch-mnist.sh)");
}

constexpr const char* kMnistNames[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                       "t10k-labels-idx1-ubyte"};

void check_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw FileError(dir, "no such folder (run data/fetch-mnist.sh to download MNIST)");
  if (!fs::is_directory(dir, ec)) throw FileError(dir, "not a folder; expected the folder holding the MNIST files");
}

}  // namespace

TrainTestSplit load_mnist_dir(const std::string& dir) {
  check_folder(dir);
  // Find all four before reading any, so a missing file is reported before seconds of loading.
  const std::string train_images = find_idx_file(dir, "train-images-idx3-ubyte");
  const std::string train_labels = find_idx_file(dir, "train-labels-idx1-ubyte");
  const std::string test_images = find_idx_file(dir, "t10k-images-idx3-ubyte");
  const std::string test_labels = find_idx_file(dir, "t10k-labels-idx1-ubyte");
  TrainTestSplit split;
  split.train = load_idx(train_images, train_labels);
  split.test = load_idx(test_images, test_labels);
  // A model takes one input size, so both halves must share it.
  if (split.test.rows != split.train.rows || split.test.cols != split.train.cols)
    throw FileError(test_images, "test images are " + std::to_string(split.test.rows) + "x" +
                                     std::to_string(split.test.cols) + " but the training images are " +
                                     std::to_string(split.train.rows) + "x" + std::to_string(split.train.cols));
  return split;
}

Dataset load_mnist_test(const std::string& dir) {
  check_folder(dir);
  const std::string images = find_idx_file(dir, "t10k-images-idx3-ubyte");
  const std::string labels = find_idx_file(dir, "t10k-labels-idx1-ubyte");
  return load_idx(images, labels);
}

std::vector<std::string> mnist_dir_paths(const std::string& dir) {
  std::vector<std::string> paths;
  for (const char* name : kMnistNames)
    for (const std::string suffix : {"", ".gz"}) paths.push_back((fs::path(dir) / (name + suffix)).string());
  return paths;
}

}  // namespace cudamlp
