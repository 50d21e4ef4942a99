// Datasets of samples with integer class labels: small grayscale images (MNIST, Fashion-MNIST, Kaggle
// CSV) or any float32 features (a .npy file, numpy arrays). Pixels stay uint8 as they are on disk; a
// backend scales them to float32 in [0,1] with scale_pixel() while it gathers a batch, so the training
// set costs one byte per pixel. Float features are gathered as they are.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cudamlp/input_scale.h"

namespace cudamlp {

// Labels are uint8, so a dataset has at most this many classes; the readers refuse more.
inline constexpr int kMaxClasses = 256;

struct Dataset {
  int64_t count = 0;             // N samples
  int rows = 0;                  // image height (1 for data without an image shape)
  int cols = 0;                  // image width (D for data without an image shape)
  int num_classes = 10;          // labels are in [0, num_classes), num_classes <= kMaxClasses
  // Which of the two sample buffers holds the samples; the other stays empty.
  InputScale input_scale = InputScale::kPixel255;
  std::vector<uint8_t> pixels;   // kPixel255: [N, rows * cols] row-major, raw values 0..255
  std::vector<float> features;   // kNone: [N, rows * cols] row-major float32, used as given
  std::vector<uint8_t> labels;   // [N]; empty when the source has no labels (Kaggle test.csv)

  int64_t dim() const { return int64_t{rows} * cols; }
  bool has_labels() const { return !labels.empty(); }
  bool has_float_features() const { return input_scale == InputScale::kNone; }
  // The first n samples (all of them when n >= count): what `--limit N` trains on.
  Dataset first(int64_t n) const;
  // x [n, D] = the network inputs of samples [first, first + n): scale_pixel of the pixels, or the
  // features as they are. Throws UsageError when the range is outside the data.
  void inputs(int64_t first, int64_t n, float* x) const;
};

// A dataset of float32 features [N, D] (rows = 1, cols = D) and labels [N] (or none), taking the vectors.
// Throws UsageError unless features.size() == N * D and all are finite, labels are empty or N long and each
// is < num_classes, and 1 <= num_classes <= kMaxClasses.
Dataset float_dataset(std::vector<float> features, int64_t N, int D, std::vector<uint8_t> labels, int num_classes);

// The one definition of pixel scaling (InputScale::kPixel255), shared by every backend and recorded in
// model files: x = pixel / 255 in float32 (a division, not a multiplication by 1/255, so every backend rounds alike).
inline float scale_pixel(uint8_t pixel) { return static_cast<float>(pixel) / 255.0f; }

// IDX files (http://yann.lecun.com/exdb/mnist/ format), plain or gzip-compressed (detected by content).
// Images: magic 0x00000803, dims [N, rows, cols], unsigned bytes. Labels: magic 0x00000801, dims [N].
// Every check failure throws FileError naming the file: bad magic, zero or huge dimensions, a length
// that does not match the header (truncated or trailing bytes).
Dataset load_idx_images(const std::string& path);
std::vector<uint8_t> load_idx_labels(const std::string& path);
// Images and labels together: also checks that the counts agree and every label is < num_classes.
Dataset load_idx(const std::string& images_path, const std::string& labels_path, int num_classes = 10);

// The four MNIST-named files in a folder (train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), each plain or with a .gz suffix.
struct TrainTestSplit {
  Dataset train;
  Dataset test;
};
TrainTestSplit load_mnist_dir(const std::string& dir);
// The test half alone (t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, plain or .gz), for a command that
// uses nothing else (eval): the training files need not be there, nor be readable.
Dataset load_mnist_test(const std::string& dir);
// Every path load_mnist_dir may read in dir, present or not: each of the four names, plain and .gz (so a
// command can keep its outputs off them, including a plain name that would then be read first).
std::vector<std::string> mnist_dir_paths(const std::string& dir);

// Kaggle digit-recognizer CSV: a header line, then one sample per line. train.csv has the columns
// `label,pixel0,...,pixel783`; test.csv has only the pixel columns (labels stay empty). Pixel values
// are integers 0..255. A square pixel count becomes rows = cols = sqrt; otherwise rows = 1.
Dataset load_kaggle_csv(const std::string& path, int num_classes = 10);
// The same from the CSV's text in memory (read from a pipe); `name` is the file the errors name.
Dataset parse_kaggle_csv(std::string_view text, const std::string& name, int num_classes = 10);

// A held-out split (`train --val-split`, whose validation set is `test` here): round(fraction * N) samples
// drawn at random (seeded by `seed`, through its own stream of derive_seed, so neither the weights nor the
// epoch shuffles change) become `test`, the rest `train`; both keep the file order. Throws UsageError naming --val-split unless
// 0 < fraction < 1 and both parts get at least one sample.
TrainTestSplit hold_out(const Dataset& data, double fraction, uint64_t seed);

}  // namespace cudamlp
