// Tests of the IDX readers (load_idx_images, load_idx_labels, load_idx), load_mnist_dir,
// Dataset::first and scale_pixel. Every malformed file must end in a FileError naming the file and
// the problem, never in a crash, a bad_alloc or a silently short dataset.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cudamlp/dataset.h"
#include "cudamlp/errors.h"
#include "test_helpers.h"

using cudamlp::Dataset;
using cudamlp::FileError;
using cudamlp::load_idx;
using cudamlp::load_idx_images;
using cudamlp::load_idx_labels;
using cudamlp::load_mnist_dir;
using cudamlp::load_mnist_test;
using cudamlp::testing::be32;
using cudamlp::testing::idx_images;
using cudamlp::testing::idx_labels;
using cudamlp::testing::read_file;
using cudamlp::testing::TempDir;
using cudamlp::testing::throws_file_error;
using cudamlp::testing::write_file;
using cudamlp::testing::write_gzip_file;

namespace {

// Distinct, non-trivial pixel values so a shifted or reordered read cannot pass.
std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>((i * 7 + i / 251) % 256);
  return bytes;
}

std::vector<uint8_t> labels_0_to_9(size_t n) {
  std::vector<uint8_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = static_cast<uint8_t>((i * 3) % 10);
  return labels;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// load_idx_images / load_idx_labels: files that are right

TEST(IdxReader, ReadsPlainImagesExactly) {
  TempDir dir;
  const std::string path = dir.file("images");
  const std::vector<uint8_t> pixels = pattern(7 * 3 * 5);
  write_file(path, idx_images(7, 3, 5, pixels));
  const Dataset data = load_idx_images(path);
  EXPECT_EQ(data.count, 7);
  EXPECT_EQ(data.rows, 3);
  EXPECT_EQ(data.cols, 5);
  EXPECT_EQ(data.dim(), 15);
  EXPECT_EQ(data.pixels, pixels);
  EXPECT_FALSE(data.has_labels());
}

TEST(IdxReader, ReadsGzipImagesExactly) {
  TempDir dir;
  const std::string path = dir.file("images.gz");
  const std::vector<uint8_t> pixels = pattern(7 * 3 * 5);
  write_gzip_file(path, idx_images(7, 3, 5, pixels));
  const Dataset data = load_idx_images(path);
  EXPECT_EQ(data.count, 7);
  EXPECT_EQ(data.rows, 3);
  EXPECT_EQ(data.cols, 5);
  EXPECT_EQ(data.pixels, pixels);
}

TEST(IdxReader, DetectsGzipByContentNotByName) {
  TempDir dir;
  const std::string path = dir.file("images-without-suffix");
  const std::vector<uint8_t> pixels = pattern(2 * 4 * 4);
  write_gzip_file(path, idx_images(2, 4, 4, pixels));
  EXPECT_EQ(load_idx_images(path).pixels, pixels);
}

TEST(IdxReader, ReadsSingleImage) {
  TempDir dir;
  const std::string path = dir.file("one");
  const std::vector<uint8_t> pixels = pattern(3 * 5);
  write_file(path, idx_images(1, 3, 5, pixels));
  const Dataset data = load_idx_images(path);
  EXPECT_EQ(data.count, 1);
  EXPECT_EQ(data.pixels, pixels);
}

TEST(IdxReader, ReadsZeroImagesAsEmptyDataset) {
  TempDir dir;
  const std::string path = dir.file("none");
  write_file(path, idx_images(0, 28, 28, {}));
  const Dataset data = load_idx_images(path);
  EXPECT_EQ(data.count, 0);
  EXPECT_EQ(data.rows, 28);
  EXPECT_TRUE(data.pixels.empty());
}

// More than one 1 MiB read chunk, so the growing buffer is exercised, plain and gzip.
TEST(IdxReader, ReadsFilesLargerThanOneReadChunk) {
  TempDir dir;
  const std::vector<uint8_t> pixels = pattern(3000 * 28 * 28);  // 2.35 MB
  write_file(dir.file("plain"), idx_images(3000, 28, 28, pixels));
  write_gzip_file(dir.file("packed.gz"), idx_images(3000, 28, 28, pixels));
  for (const std::string name : {"plain", "packed.gz"}) {
    const Dataset data = load_idx_images(dir.file(name));
    EXPECT_EQ(data.count, 3000) << name;
    EXPECT_TRUE(data.pixels == pixels) << name;
  }
}

TEST(IdxReader, ReadsPlainAndGzipLabelsExactly) {
  TempDir dir;
  const std::vector<uint8_t> labels = {3, 1, 4, 1, 5, 9, 2};
  write_file(dir.file("labels"), idx_labels(labels));
  write_gzip_file(dir.file("labels.gz"), idx_labels(labels));
  EXPECT_EQ(load_idx_labels(dir.file("labels")), labels);
  EXPECT_EQ(load_idx_labels(dir.file("labels.gz")), labels);
}

TEST(IdxReader, KeepsLabelBytesAsTheyAre) {
  // The labels reader does not know num_classes; load_idx checks the range.
  TempDir dir;
  const std::vector<uint8_t> labels = {0, 255, 10, 7};
  write_file(dir.file("labels"), idx_labels(labels));
  EXPECT_EQ(load_idx_labels(dir.file("labels")), labels);
}

// ---------------------------------------------------------------------------------------------------
// load_idx_images / load_idx_labels: files that are wrong

TEST(IdxReader, RejectsEmptyFile) {
  TempDir dir;
  const std::string path = dir.file("empty");
  write_file(path, "");
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "empty"));
  EXPECT_TRUE(throws_file_error([&] { load_idx_labels(path); }, path, "empty"));
}

TEST(IdxReader, RejectsPartialHeader) {
  TempDir dir;
  const std::string two_bytes = dir.file("two-bytes"), images = dir.file("images"), labels = dir.file("labels");
  write_file(two_bytes, std::string("\0\0", 2));
  write_file(images, be32(0x803) + be32(7) + be32(3));  // cols missing
  write_file(labels, be32(0x801) + std::string("\0\0", 2));
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(two_bytes); }, two_bytes, "truncated header"));
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(images); }, images, "truncated header"));
  EXPECT_TRUE(throws_file_error([&] { load_idx_labels(labels); }, labels, "truncated header"));
}

TEST(IdxReader, RejectsWrongElementType) {
  TempDir dir;
  const std::string path = dir.file("floats");
  write_file(path, be32(0x00000D03) + be32(1) + be32(2) + be32(2) + std::string(16, '\0'));  // 0x0D: float32
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "bad magic 0x00000d03"));
}

TEST(IdxReader, RejectsWrongDimensionCount) {
  TempDir dir;
  const std::string path = dir.file("2d");
  write_file(path, be32(0x00000802) + be32(2) + be32(3) + std::string(6, '\0'));
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "bad magic"));
  EXPECT_TRUE(throws_file_error([&] { load_idx_labels(path); }, path, "bad magic"));
}

TEST(IdxReader, RejectsTextFile) {
  TempDir dir;
  const std::string path = dir.file("readme");
  write_file(path, "this is not an IDX file at all\n");
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "bad magic"));
}

TEST(IdxReader, RejectsLabelsFileGivenToImagesReader) {
  TempDir dir;
  const std::string path = dir.file("labels");
  write_file(path, idx_labels({1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "this is an IDX labels file"));
}

TEST(IdxReader, RejectsImagesFileGivenToLabelsReader) {
  TempDir dir;
  const std::string path = dir.file("images");
  write_file(path, idx_images(2, 2, 2, pattern(8)));
  EXPECT_TRUE(throws_file_error([&] { load_idx_labels(path); }, path, "this is an IDX images file"));
}

TEST(IdxReader, RejectsTruncatedImageFile) {
  TempDir dir;
  const std::string path = dir.file("images");
  std::string bytes = idx_images(7, 3, 5, pattern(105));
  bytes.resize(bytes.size() - 1);
  write_file(path, bytes);
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path,
                                "truncated: header says 105 bytes of pixel data, file has 104"));
}

TEST(IdxReader, RejectsTruncatedGzipImageFile) {
  // A complete gzip stream whose content is short: the IDX check, not zlib, catches it.
  TempDir dir;
  const std::string path = dir.file("images.gz");
  write_gzip_file(path, idx_images(7, 3, 5, pattern(100)));
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "file has 100"));
}

TEST(IdxReader, RejectsTruncatedLabelFile) {
  TempDir dir;
  const std::string path = dir.file("labels");
  write_file(path, be32(0x801) + be32(10) + std::string(9, '\1'));
  EXPECT_TRUE(throws_file_error([&] { load_idx_labels(path); }, path, "truncated: header says 10 bytes"));
}

TEST(IdxReader, RejectsTrailingBytes) {
  TempDir dir;
  const std::string images = dir.file("images"), labels = dir.file("labels");
  write_file(images, idx_images(2, 2, 2, pattern(8)) + "x");
  write_file(labels, idx_labels({1, 2}) + "x");
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(images); }, images, "trailing bytes"));
  EXPECT_TRUE(throws_file_error([&] { load_idx_labels(labels); }, labels, "trailing bytes"));
}

TEST(IdxReader, RejectsHugeImageCountWithoutAllocatingIt) {
  TempDir dir;
  const std::string path = dir.file("huge");
  write_file(path, idx_images(0xFFFFFFFF, 28, 28, pattern(100)));
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "header says 4294967295 images of 28x28: needs 3367254359280 bytes"));
}

TEST(IdxReader, RejectsHugeImageSize) {
  TempDir dir;
  const std::string path = dir.file("huge");
  write_file(path, idx_images(1, 0xFFFFFFFF, 0xFFFFFFFF, pattern(100)));
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "pixels per image"));
}

// Headers under the size limits can still lie: the reader must find out from the data, not by
// allocating what the header says first (15.7 GB here, 4 GB for the labels).
TEST(IdxReader, ReportsTruncationForHugeHeaderOverTinyFile) {
  TempDir dir;
  const std::string images = dir.file("images"), labels = dir.file("labels");
  write_file(images, idx_images(20'000'000, 28, 28, pattern(100)));
  write_file(labels, be32(0x801) + be32(0xFFFFFFFF) + "abc");
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(images); }, images,
                                "header says 15680000000 bytes of pixel data, file has 100"));
  EXPECT_TRUE(throws_file_error([&] { load_idx_labels(labels); }, labels,
                                "header says 4294967295 bytes of labels, file has 3"));
}

TEST(IdxReader, RejectsZeroRowsOrCols) {
  TempDir dir;
  const std::string no_rows = dir.file("no-rows"), no_cols = dir.file("no-cols");
  write_file(no_rows, idx_images(3, 0, 5, {}));
  write_file(no_cols, idx_images(3, 5, 0, {}));
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(no_rows); }, no_rows, "0x5"));
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(no_cols); }, no_cols, "5x0"));
}

TEST(IdxReader, RejectsNonexistentFile) {
  TempDir dir;
  const std::string path = dir.file("not-there");
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "cannot open"));
  EXPECT_TRUE(throws_file_error([&] { load_idx_labels(path); }, path, "No such file"));
}

TEST(IdxReader, RejectsFolderInsteadOfFile) {
  TempDir dir;
  const std::string path = dir.path().string();
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "folder"));
  EXPECT_TRUE(throws_file_error([&] { load_idx_labels(path); }, path, "folder"));
}

TEST(IdxReader, RejectsGzipWithBadChecksum) {
  TempDir dir;
  const std::string path = dir.file("images.gz");
  write_gzip_file(path, idx_images(7, 3, 5, pattern(105)));
  std::string bytes = read_file(path);
  bytes[bytes.size() - 8] ^= 0x5A;  // the gzip trailer is CRC32 then length, 4 bytes each
  write_file(path, bytes);
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "corrupt gzip"));
}

TEST(IdxReader, RejectsGzipWithBadHeader) {
  TempDir dir;
  const std::string path = dir.file("labels.gz");
  write_gzip_file(path, idx_labels({1, 2, 3}));
  std::string bytes = read_file(path);
  bytes[2] = 7;  // compression method: 8 (deflate) is the only one defined
  write_file(path, bytes);
  EXPECT_TRUE(throws_file_error([&] { load_idx_labels(path); }, path, "corrupt gzip"));
}

TEST(IdxReader, RejectsCutShortGzip) {
  TempDir dir;
  const std::string path = dir.file("images.gz");
  write_gzip_file(path, idx_images(100, 28, 28, pattern(100 * 28 * 28)));
  std::string bytes = read_file(path);
  bytes.resize(bytes.size() / 2);
  write_file(path, bytes);
  EXPECT_TRUE(throws_file_error([&] { load_idx_images(path); }, path, "gzip data ends early"));
}

// gzip(1) reads a file of several gzip members as their concatenation (RFC 1952: a gzip file is a
// series of members), so the reader does too; anything else after a member is a damage that gzip
// itself only warns about ("trailing garbage ignored"), and refused here.
TEST(IdxReader, ReadsConcatenatedGzipMembersAsGzipDoes) {
  TempDir dir;
  const std::string whole = idx_images(7, 3, 5, pattern(105));
  write_gzip_file(dir.file("first.gz"), whole.substr(0, 40));
  write_gzip_file(dir.file("second.gz"), whole.substr(40));
  const std::string path = dir.file("images.gz");
  write_file(path, read_file(dir.file("first.gz")) + read_file(dir.file("second.gz")));
  EXPECT_EQ(load_idx_images(path).pixels, pattern(105));
}

TEST(IdxReader, RejectsBytesAfterTheGzipData) {
  TempDir dir;
  const std::string path = dir.file("labels.gz");
  write_gzip_file(path, idx_labels({1, 2, 3}));
  const std::string gzip = read_file(path);
  for (const std::string& junk : {std::string("junk"), std::string(512, '\0'), std::string("\x1f")}) {
    SCOPED_TRACE(junk.size());
    write_file(path, gzip + junk);
    EXPECT_TRUE(throws_file_error([&] { load_idx_labels(path); }, path,
                                  std::to_string(junk.size()) + " bytes after the gzip data at byte " +
                                      std::to_string(gzip.size())));
  }
  // The start of another member that stops there is a member cut short.
  write_file(path, gzip + "\x1f\x8b");
  EXPECT_TRUE(throws_file_error([&] { load_idx_labels(path); }, path, "gzip data ends early"));
}

// ---------------------------------------------------------------------------------------------------
// load_idx: images and labels together

TEST(LoadIdx, PairsImagesWithLabels) {
  TempDir dir;
  const std::vector<uint8_t> pixels = pattern(7 * 3 * 5), labels = labels_0_to_9(7);
  write_file(dir.file("images"), idx_images(7, 3, 5, pixels));
  write_gzip_file(dir.file("labels.gz"), idx_labels(labels));
  const Dataset data = load_idx(dir.file("images"), dir.file("labels.gz"));
  EXPECT_EQ(data.count, 7);
  EXPECT_EQ(data.rows, 3);
  EXPECT_EQ(data.cols, 5);
  EXPECT_EQ(data.num_classes, 10);
  EXPECT_EQ(data.pixels, pixels);
  EXPECT_EQ(data.labels, labels);
  EXPECT_TRUE(data.has_labels());
}

TEST(LoadIdx, RejectsLabelCountOtherThanImageCount) {
  TempDir dir;
  const std::string images = dir.file("images"), labels = dir.file("labels");
  write_file(images, idx_images(7, 3, 5, pattern(105)));
  write_file(labels, idx_labels(labels_0_to_9(6)));
  EXPECT_TRUE(throws_file_error([&] { load_idx(images, labels); }, labels, "has 6 labels but"));
  EXPECT_TRUE(throws_file_error([&] { load_idx(images, labels); }, images, "has 7 images"));
}

TEST(LoadIdx, RejectsLabelNotBelowNumClasses) {
  TempDir dir;
  const std::string images = dir.file("images"), labels = dir.file("labels");
  std::vector<uint8_t> label_values = labels_0_to_9(7);
  label_values[5] = 12;
  write_file(images, idx_images(7, 3, 5, pattern(105)));
  write_file(labels, idx_labels(label_values));
  EXPECT_TRUE(throws_file_error([&] { load_idx(images, labels); }, labels, "label 12 at index 5 is not < 10 classes"));
  // The same labels are fine when the dataset has more classes.
  EXPECT_EQ(load_idx(images, labels, 13).num_classes, 13);
}

TEST(LoadIdx, RejectsEmptyDataset) {
  TempDir dir;
  const std::string images = dir.file("images"), labels = dir.file("labels");
  write_file(images, idx_images(0, 28, 28, {}));
  write_file(labels, idx_labels({}));
  EXPECT_TRUE(throws_file_error([&] { load_idx(images, labels); }, images, "no samples"));
}

TEST(LoadIdx, RejectsImpossibleClassCount) {
  TempDir dir;
  write_file(dir.file("images"), idx_images(1, 1, 1, {0}));
  write_file(dir.file("labels"), idx_labels({0}));
  EXPECT_THROW(load_idx(dir.file("images"), dir.file("labels"), 0), cudamlp::UsageError);
  EXPECT_THROW(load_idx(dir.file("images"), dir.file("labels"), 257), cudamlp::UsageError);
}

// ---------------------------------------------------------------------------------------------------
// load_mnist_dir

namespace {

// The four MNIST files in `dir`: train has n_train images, test n_test, all rows x cols.
void write_mnist_dir(const TempDir& dir, int n_train, int n_test, uint32_t test_side = 4) {
  write_gzip_file(dir.file("train-images-idx3-ubyte.gz"), idx_images(n_train, 4, 4, pattern(n_train * 16)));
  write_file(dir.file("train-labels-idx1-ubyte"), idx_labels(labels_0_to_9(n_train)));
  write_file(dir.file("t10k-images-idx3-ubyte"),
             idx_images(n_test, test_side, test_side, pattern(n_test * test_side * test_side)));
  write_gzip_file(dir.file("t10k-labels-idx1-ubyte.gz"), idx_labels(labels_0_to_9(n_test)));
}

}  // namespace

TEST(MnistDir, LoadsTheFourFilesPlainOrGzip) {
  TempDir dir;
  write_mnist_dir(dir, 7, 3);
  const cudamlp::TrainTestSplit split = load_mnist_dir(dir.path().string());
  EXPECT_EQ(split.train.count, 7);
  EXPECT_EQ(split.test.count, 3);
  EXPECT_EQ(split.train.rows, 4);
  EXPECT_EQ(split.test.cols, 4);
  EXPECT_EQ(split.train.pixels, pattern(7 * 16));
  EXPECT_EQ(split.train.labels, labels_0_to_9(7));
  EXPECT_EQ(split.test.pixels, pattern(3 * 16));
  EXPECT_EQ(split.test.labels, labels_0_to_9(3));
}

TEST(MnistDir, PrefersThePlainFileWhenBothExist) {
  TempDir dir;
  write_mnist_dir(dir, 7, 3);
  write_file(dir.file("train-images-idx3-ubyte"), idx_images(7, 4, 4, std::vector<uint8_t>(7 * 16, 42)));
  EXPECT_EQ(load_mnist_dir(dir.path().string()).train.pixels, std::vector<uint8_t>(7 * 16, 42));
}

TEST(MnistDir, NamesTheMissingFile) {
  TempDir dir;
  write_mnist_dir(dir, 7, 3);
  std::filesystem::remove(dir.file("t10k-labels-idx1-ubyte.gz"));
  EXPECT_TRUE(throws_file_error([&] { load_mnist_dir(dir.path().string()); }, dir.path().string(),
                                "no t10k-labels-idx1-ubyte[.gz] in this folder (run data/fetch-mnist.sh)"));
}

TEST(MnistDir, RejectsMissingFolder) {
  TempDir dir;
  const std::string path = dir.file("no-such-folder");
  EXPECT_TRUE(throws_file_error([&] { load_mnist_dir(path); }, path, "no such folder"));
}

TEST(MnistDir, RejectsFileGivenAsFolder) {
  TempDir dir;
  const std::string path = dir.file("a-file");
  write_file(path, "x");
  EXPECT_TRUE(throws_file_error([&] { load_mnist_dir(path); }, path, "not a folder"));
}

TEST(MnistDir, RejectsTestImagesOfAnotherSize) {
  TempDir dir;
  write_mnist_dir(dir, 7, 3, 5);
  EXPECT_TRUE(throws_file_error([&] { load_mnist_dir(dir.path().string()); }, "t10k-images-idx3-ubyte",
                                "test images are 5x5 but the training images are 4x4"));
}

TEST(MnistDir, PassesOnErrorsOfTheFilesInside) {
  TempDir dir;
  write_mnist_dir(dir, 7, 3);
  write_file(dir.file("train-labels-idx1-ubyte"), idx_labels(labels_0_to_9(6)));
  EXPECT_TRUE(throws_file_error([&] { load_mnist_dir(dir.path().string()); }, "train-labels-idx1-ubyte",
                                "has 6 labels"));
}

// eval reads only the test half: the training files may be missing, or broken.
TEST(MnistDir, LoadsTheTestHalfAloneWithoutTheTrainingFiles) {
  TempDir dir;
  write_mnist_dir(dir, 7, 3, 5);  // test images of another size than the training ones: no matter here
  write_file(dir.file("train-labels-idx1-ubyte"), "not an IDX file");
  std::filesystem::remove(dir.file("train-images-idx3-ubyte.gz"));
  const Dataset test = load_mnist_test(dir.path().string());
  EXPECT_EQ(test.count, 3);
  EXPECT_EQ(test.rows, 5);
  EXPECT_EQ(test.pixels, pattern(3 * 25));
  EXPECT_EQ(test.labels, labels_0_to_9(3));
  std::filesystem::remove(dir.file("t10k-labels-idx1-ubyte.gz"));
  EXPECT_TRUE(throws_file_error([&] { load_mnist_test(dir.path().string()); }, dir.path().string(),
                                "no t10k-labels-idx1-ubyte[.gz] in this folder"));
}

// ---------------------------------------------------------------------------------------------------
// Dataset::first and scale_pixel

namespace {

Dataset small_dataset(bool labelled) {
  Dataset data;
  data.count = 4;
  data.rows = 2;
  data.cols = 3;
  data.num_classes = 7;
  data.pixels = pattern(4 * 6);
  if (labelled) data.labels = {6, 0, 3, 1};
  return data;
}

}  // namespace

TEST(Dataset, FirstKeepsThePrefixAndTheShape) {
  const Dataset subset = small_dataset(true).first(2);
  EXPECT_EQ(subset.count, 2);
  EXPECT_EQ(subset.rows, 2);
  EXPECT_EQ(subset.cols, 3);
  EXPECT_EQ(subset.num_classes, 7);
  EXPECT_EQ(subset.pixels, pattern(12));  // pattern(24) starts with pattern(12)
  EXPECT_EQ(subset.labels, (std::vector<uint8_t>{6, 0}));
}

TEST(Dataset, FirstOfAtLeastCountIsEverything) {
  const Dataset data = small_dataset(true);
  for (const int64_t n : {int64_t{4}, int64_t{5}, int64_t{1} << 40}) {
    const Dataset subset = data.first(n);
    EXPECT_EQ(subset.count, 4);
    EXPECT_EQ(subset.pixels, data.pixels);
    EXPECT_EQ(subset.labels, data.labels);
  }
}

TEST(Dataset, FirstOfUnlabelledDataStaysUnlabelled) {
  const Dataset subset = small_dataset(false).first(3);
  EXPECT_EQ(subset.count, 3);
  EXPECT_EQ(subset.pixels.size(), 18u);
  EXPECT_FALSE(subset.has_labels());
}

TEST(Dataset, FirstOfZeroIsEmptyAndNegativeIsRejected) {
  EXPECT_EQ(small_dataset(true).first(0).count, 0);
  EXPECT_TRUE(small_dataset(true).first(0).pixels.empty());
  EXPECT_THROW(small_dataset(true).first(-1), cudamlp::UsageError);
}

TEST(ScalePixel, MapsZeroToZeroAndFullToOne) {
  EXPECT_EQ(cudamlp::scale_pixel(0), 0.0f);
  EXPECT_EQ(cudamlp::scale_pixel(255), 1.0f);
  EXPECT_EQ(cudamlp::scale_pixel(51), 51.0f / 255.0f);  // a division, bit for bit, as documented
}
