// Tests of the NumPy .npy readers (npy.h): what numpy.save writes loads as the same values in C order,
// and every malformed file ends in a FileError naming the file and the problem, never in a crash, a
// bad_alloc or a silently short dataset.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "cudamlp/errors.h"
#include "cudamlp/npy.h"
#include "test_helpers.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

const std::string kName = "X.npy";

Dataset features(const std::string& bytes) { return parse_npy_features(bytes, kName); }
NpyLabels labels(const std::string& bytes, int num_classes = 0) { return parse_npy_labels(bytes, kName, num_classes); }

::testing::AssertionResult features_refused(const std::string& bytes, const std::string& problem) {
  return throws_file_error([&] { features(bytes); }, kName, problem);
}
::testing::AssertionResult labels_refused(const std::string& bytes, const std::string& problem, int num_classes = 0) {
  return throws_file_error([&] { labels(bytes, num_classes); }, kName, problem);
}

// A version 1.0 file with the header text `dict` as given (no padding) and `data` after it.
std::string with_header(const std::string& dict, const std::string& data) {
  const std::string header = dict + "\n";
  return std::string("\x93NUMPY\x01", 7) + '\0' + char(header.size() & 0xFF) + char(header.size() >> 8) + header + data;
}

}  // namespace

TEST(NpyFeatures, ReadsFloat32RowsAsGivenInEveryFormatVersion) {
  const std::vector<float> values = {0.5f, -2.25f, 1e-3f, 300.0f, -0.0f, 7.0f};
  for (const int major : {1, 2, 3}) {
    const Dataset data = features(npy_bytes("<f4", "(3, 2)", raw_bytes(values), false, major));
    EXPECT_EQ(data.count, 3) << "version " << major;
    EXPECT_EQ(data.rows, 1);
    EXPECT_EQ(data.cols, 2);
    EXPECT_TRUE(data.has_float_features());
    EXPECT_EQ(data.features, values);
    EXPECT_TRUE(data.pixels.empty());
    EXPECT_FALSE(data.has_labels());
  }
}

TEST(NpyFeatures, ReadsUint8ImagesAsPixelsWithTheirShape) {
  std::vector<uint8_t> pixels(2 * 3 * 4);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 11);
  const Dataset data = features(npy_bytes("|u1", "(2, 3, 4)", raw_bytes(pixels)));
  EXPECT_EQ(data.count, 2);
  EXPECT_EQ(data.rows, 3);
  EXPECT_EQ(data.cols, 4);
  EXPECT_EQ(data.input_scale, InputScale::kPixel255);
  EXPECT_EQ(data.pixels, pixels);
}

TEST(NpyFeatures, ReadsFortranOrderAsATransposedCopyInCOrder) {
  // [[1, 2, 3], [4, 5, 6]] stored column by column.
  const Dataset two = features(npy_bytes("<f4", "(2, 3)", raw_bytes(std::vector<float>{1, 4, 2, 5, 3, 6}), true));
  EXPECT_EQ(two.features, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  // [N=2, H=2, W=2]: element (n, h, w) = 100 n + 10 h + w, stored with n fastest, then h, then w.
  std::vector<uint8_t> stored;
  for (int w = 0; w < 2; ++w)
    for (int h = 0; h < 2; ++h)
      for (int n = 0; n < 2; ++n) stored.push_back(uint8_t(100 * n + 10 * h + w));
  const Dataset three = features(npy_bytes("|u1", "(2, 2, 2)", raw_bytes(stored), true));
  EXPECT_EQ(three.pixels, (std::vector<uint8_t>{0, 1, 10, 11, 100, 101, 110, 111}));
}

TEST(NpyFeatures, RefusesOtherDtypesNamingWhatItFound) {
  const std::string eight(8, '\0');
  EXPECT_TRUE(features_refused(npy_bytes(">f4", "(1, 2)", eight), "big-endian dtype '>f4'"));
  EXPECT_TRUE(features_refused(npy_bytes("|O", "(1, 1)", eight), "object array"));
  EXPECT_TRUE(features_refused(npy_bytes("<f8", "(1, 1)", eight), "dtype '<f8'; cudamlp reads uint8 or float32"));
  EXPECT_TRUE(features_refused(npy_bytes("<i4", "(1, 2)", eight), "dtype '<i4'"));
  EXPECT_TRUE(features_refused(
      with_header("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (1,), }", eight),
      "structured dtype"));
}

TEST(NpyFeatures, RefusesOtherShapesAndEmptyOnes) {
  EXPECT_TRUE(features_refused(npy_bytes("<f4", "(4,)", std::string(16, '\0')), "features are [N, D]"));
  EXPECT_TRUE(features_refused(npy_bytes("<f4", "()", std::string(4, '\0')), "has shape ()"));
  EXPECT_TRUE(features_refused(npy_bytes("<f4", "(1, 1, 1, 1)", std::string(4, '\0')), "features are [N, D]"));
  EXPECT_TRUE(features_refused(npy_bytes("<f4", "(0, 3)", ""), "empty shape (0, 3)"));
}

TEST(NpyFeatures, RefusesTruncatedDataAndTrailingBytes) {
  EXPECT_TRUE(features_refused(npy_bytes("<f4", "(2, 3)", std::string(23, '\0')), "truncated"));
  EXPECT_TRUE(features_refused(npy_bytes("<f4", "(2, 3)", std::string(25, '\0')), "1 bytes after"));
  const std::string whole = npy_bytes("<f4", "(2, 3)", std::string(24, '\0'));
  for (const size_t cut : {size_t(0), size_t(5), size_t(9), size_t(40)})
    EXPECT_TRUE(throws_file_error([&] { features(whole.substr(0, cut)); }, kName, "")) << "cut at " << cut;
}

TEST(NpyFeatures, AHugeDeclaredShapeIsRefusedWithoutAllocatingIt) {
  // 2^58 x 2^58 floats claimed over 8 bytes: refused from the file's length, nothing allocated.
  EXPECT_TRUE(features_refused(npy_bytes("<f4", "(288230376151711744, 288230376151711744)", std::string(8, '\0')),
                               "needs more than the 8 bytes"));
  EXPECT_TRUE(features_refused(npy_bytes("<f4", "(99999999999999999999, 2)", ""), "beyond 2^58"));
  // One sample of 2^21 values is more than any sample cudamlp takes.
  EXPECT_TRUE(features_refused(npy_bytes("|u1", "(1, 2097152)", std::string(2097152, '\0')), "values per sample"));
}

TEST(NpyFeatures, RefusesHeaderGarbage) {
  EXPECT_TRUE(features_refused("P5 28 28 255\n", "not a .npy file"));
  std::string version = npy_bytes("<f4", "(1, 1)", std::string(4, '\0'));
  version[6] = 4;
  EXPECT_TRUE(features_refused(version, "format version 4.0"));
  const std::string four(4, '\0');
  EXPECT_TRUE(features_refused(with_header("{'descr': '<f4', 'fortran_order': False}", four), "without descr"));
  EXPECT_TRUE(features_refused(with_header("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1, 1)}", four),
                               "expected True or False"));
  EXPECT_TRUE(features_refused(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'x': 1}", four),
                               "is none of descr, fortran_order, shape"));
  EXPECT_TRUE(features_refused(with_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)}", four),
                               "twice"));
  EXPECT_TRUE(features_refused(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -1)}", four),
                               "expected a dimension"));
  EXPECT_TRUE(features_refused(with_header("{'descr': '<f4, 'fortran_order': False, 'shape': (1, 1)}", four), "expected"));
  EXPECT_TRUE(features_refused(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)} x", four),
                               "text after the dict"));
  std::string huge = npy_bytes("<f4", "(1, 1)", "");
  huge[8] = char(0xFF);
  huge[9] = char(0xFF);
  EXPECT_TRUE(features_refused(huge, "more than 10000"));
  std::string no_newline = npy_bytes("<f4", "(1, 1)", std::string(4, '\0'));
  no_newline[no_newline.size() - 5] = ' ';
  EXPECT_TRUE(features_refused(no_newline, "does not end in a newline"));
}

TEST(NpyFeatures, RefusesAValueThatIsNotFiniteNamingItsSample) {
  const std::vector<float> values = {1, 2, 3, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_TRUE(features_refused(npy_bytes("<f4", "(2, 2)", raw_bytes(values)), "not finite (nan) in sample 1, value 1"));
}

TEST(NpyLabels, ReadsEveryIntegerDtypeAndFindsTheClassCount) {
  EXPECT_EQ(labels(npy_bytes("|u1", "(3,)", raw_bytes(std::vector<uint8_t>{2, 0, 1}))).labels,
            (std::vector<uint8_t>{2, 0, 1}));
  EXPECT_EQ(labels(npy_bytes("<i8", "(3,)", raw_bytes(std::vector<int64_t>{4, 0, 255}))).labels,
            (std::vector<uint8_t>{4, 0, 255}));
  EXPECT_EQ(labels(npy_bytes("<u2", "(2,)", raw_bytes(std::vector<uint16_t>{1, 3}))).num_classes, 4);
  EXPECT_EQ(labels(npy_bytes("<i4", "(2,)", raw_bytes(std::vector<int32_t>{1, 3})), 10).num_classes, 10);
  EXPECT_EQ(labels(npy_bytes("|i1", "(1,)", raw_bytes(std::vector<int8_t>{5}))).labels, (std::vector<uint8_t>{5}));
}

TEST(NpyLabels, RefusesLabelsOutOfRangeNamingTheIndex) {
  EXPECT_TRUE(labels_refused(npy_bytes("<i4", "(3,)", raw_bytes(std::vector<int32_t>{0, -1, 2})), "label -1 at index 1"));
  EXPECT_TRUE(labels_refused(npy_bytes("<i8", "(2,)", raw_bytes(std::vector<int64_t>{3, 10})),
                             "label 10 at index 1, not in [0, 10)", 10));
  EXPECT_TRUE(labels_refused(npy_bytes("<u2", "(2,)", raw_bytes(std::vector<uint16_t>{3, 256})),
                             "label 256 at index 1; labels are 0 .. 255 (cudamlp handles at most 256 classes)"));
}

TEST(NpyLabels, RefusesFloatLabelsAndOtherShapes) {
  EXPECT_TRUE(labels_refused(npy_bytes("<f4", "(1,)", std::string(4, '\0')), "integer labels"));
  EXPECT_TRUE(labels_refused(npy_bytes(">i4", "(1,)", std::string(4, '\0')), "big-endian"));
  EXPECT_TRUE(labels_refused(npy_bytes("<i4", "(1, 1)", std::string(4, '\0')), "labels are [N]"));
}

TEST(NpyFiles, FeaturesAndLabelsMustCountTheSameSamples) {
  TempDir dir;
  write_file(dir.file("X.npy"), npy_bytes("<f4", "(2, 1)", raw_bytes(std::vector<float>{1, 2})));
  write_file(dir.file("y.npy"), npy_bytes("<i8", "(3,)", raw_bytes(std::vector<int64_t>{0, 1, 1})));
  EXPECT_TRUE(throws_file_error([&] { load_npy(dir.file("X.npy"), dir.file("y.npy")); }, dir.file("y.npy"),
                                "has 3 labels, but " + dir.file("X.npy") + " has 2 samples"));
  write_file(dir.file("y.npy"), npy_bytes("<i8", "(2,)", raw_bytes(std::vector<int64_t>{0, 2})));
  const Dataset data = load_npy(dir.file("X.npy"), dir.file("y.npy"));
  EXPECT_EQ(data.num_classes, 3);
  EXPECT_EQ(data.labels, (std::vector<uint8_t>{0, 2}));
  EXPECT_TRUE(throws_file_error([&] { load_npy_features(dir.file("missing.npy")); }, dir.file("missing.npy"), ""));
}

// What numpy itself writes, in every version and order, reads back as the array it wrote; skipped
// without numpy (the byte-level tests above pin the format).
TEST(NpyFiles, ReadsWhatNumpyWrites) {
  if (std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") != 0) GTEST_SKIP() << "no numpy in python3";
  TempDir dir;
  const std::string script =
      "import numpy as np, sys\n"
      "from numpy.lib import format as f\n"
      "d = sys.argv[1]\n"
      "x = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) / 4\n"
      "np.save(d + '/c.npy', x)\n"
      "np.save(d + '/fortran.npy', np.asfortranarray(x))\n"
      "for v in (2, 3):\n"
      "    with open(d + '/v%d.npy' % v, 'wb') as out: f.write_array(out, x, version=(v, 0))\n"
      "np.save(d + '/images.npy', np.arange(24, dtype=np.uint8).reshape(2, 3, 4))\n"
      "np.save(d + '/labels.npy', np.array([2, 0], dtype=np.int64))\n";
  write_file(dir.file("write.py"), script);
  ASSERT_EQ(std::system(("/usr/bin/python3 " + dir.file("write.py") + " " + dir.path().string()).c_str()), 0);
  std::vector<float> expected(12);
  for (int i = 0; i < 12; ++i) expected[size_t(i)] = (float(i) - 5.5f) / 4;
  for (const std::string name : {"c.npy", "fortran.npy", "v2.npy", "v3.npy"}) {
    const Dataset data = load_npy_features(dir.file(name));
    EXPECT_EQ(data.count, 3) << name;
    EXPECT_EQ(data.cols, 4) << name;
    EXPECT_EQ(data.features, expected) << name;
  }
  const Dataset images = load_npy(dir.file("images.npy"), dir.file("labels.npy"));
  EXPECT_EQ(images.rows, 3);
  EXPECT_EQ(images.cols, 4);
  EXPECT_EQ(images.pixels.size(), 24u);
  EXPECT_EQ(images.pixels[23], 23);
  EXPECT_EQ(images.labels, (std::vector<uint8_t>{2, 0}));
  EXPECT_EQ(images.num_classes, 3);
}
