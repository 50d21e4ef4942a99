// Tests of load_kaggle_csv, the Kaggle digit-recognizer CSV reader: labelled and unlabelled files,
// line-end variants, and every malformed value or line ending in a FileError that names the file,
// the line and what is wrong.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "cudamlp/dataset.h"
#include "cudamlp/errors.h"
#include "test_helpers.h"

using cudamlp::Dataset;
using cudamlp::FileError;
using cudamlp::load_kaggle_csv;
using cudamlp::testing::error_message;
using cudamlp::testing::is_short_printable_line;
using cudamlp::testing::TempDir;
using cudamlp::testing::throws_file_error;
using cudamlp::testing::write_file;

namespace {

// Three 2x2 samples with labels 7, 0, 9.
const std::string kLabelled =
    "label,pixel0,pixel1,pixel2,pixel3\n"
    "7,0,1,2,255\n"
    "0,10,20,30,40\n"
    "9,255,254,0,3\n";
const std::vector<uint8_t> kLabelledPixels = {0, 1, 2, 255, 10, 20, 30, 40, 255, 254, 0, 3};

// Writes text to a fresh file in dir and returns its path.
std::string csv_file(const TempDir& dir, const std::string& text) {
  const std::string path = dir.file("data.csv");
  write_file(path, text);
  return path;
}

// kLabelled with one value replaced: the value at `column` (0 = label) of data row 2 (file line 3).
std::string with_value(const std::string& value, int column) {
  std::vector<std::string> cells = {"0", "10", "20", "30", "40"};
  cells[column] = value;
  std::string row;
  for (size_t i = 0; i < cells.size(); ++i) row += (i ? "," : "") + cells[i];
  return "label,pixel0,pixel1,pixel2,pixel3\n7,0,1,2,255\n" + row + "\n9,255,254,0,3\n";
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Files that are right

TEST(KaggleCsv, ReadsLabelledFile) {
  TempDir dir;
  const Dataset data = load_kaggle_csv(csv_file(dir, kLabelled));
  EXPECT_EQ(data.count, 3);
  EXPECT_EQ(data.rows, 2);
  EXPECT_EQ(data.cols, 2);
  EXPECT_EQ(data.num_classes, 10);
  EXPECT_EQ(data.pixels, kLabelledPixels);
  EXPECT_EQ(data.labels, (std::vector<uint8_t>{7, 0, 9}));
}

TEST(KaggleCsv, ReadsUnlabelledFileWithoutLabels) {
  TempDir dir;
  const Dataset data = load_kaggle_csv(csv_file(dir, "pixel0,pixel1,pixel2,pixel3\n0,1,2,255\n10,20,30,40\n"));
  EXPECT_EQ(data.count, 2);
  EXPECT_EQ(data.rows, 2);
  EXPECT_EQ(data.cols, 2);
  EXPECT_EQ(data.pixels, (std::vector<uint8_t>{0, 1, 2, 255, 10, 20, 30, 40}));
  EXPECT_FALSE(data.has_labels());
}

TEST(KaggleCsv, LabelColumnIsRecognisedOnlyByExactName) {
  // "Label" is not "label": the file is read as five pixel columns, one row high.
  TempDir dir;
  const Dataset data = load_kaggle_csv(csv_file(dir, "Label,a,b,c,d\n7,0,1,2,255\n"));
  EXPECT_FALSE(data.has_labels());
  EXPECT_EQ(data.pixels, (std::vector<uint8_t>{7, 0, 1, 2, 255}));
}

TEST(KaggleCsv, ReadsMnistShapedRowsAs28x28) {
  TempDir dir;
  std::string text = "label";
  for (int i = 0; i < 784; ++i) text += ",pixel" + std::to_string(i);
  text += "\n";
  std::vector<uint8_t> pixels;
  for (int row = 0; row < 5; ++row) {
    text += std::to_string(row);
    for (int i = 0; i < 784; ++i) {
      pixels.push_back(static_cast<uint8_t>((row * 784 + i) % 256));
      text += "," + std::to_string(pixels.back());
    }
    text += "\n";
  }
  const Dataset data = load_kaggle_csv(csv_file(dir, text));
  EXPECT_EQ(data.count, 5);
  EXPECT_EQ(data.rows, 28);
  EXPECT_EQ(data.cols, 28);
  EXPECT_EQ(data.pixels, pixels);
  EXPECT_EQ(data.labels, (std::vector<uint8_t>{0, 1, 2, 3, 4}));
}

TEST(KaggleCsv, NonSquarePixelCountIsOneRowHigh) {
  TempDir dir;
  const Dataset data = load_kaggle_csv(csv_file(dir, "label,a,b,c,d,e,f\n3,1,2,3,4,5,6\n"));
  EXPECT_EQ(data.rows, 1);
  EXPECT_EQ(data.cols, 6);
  EXPECT_EQ(data.dim(), 6);
}

TEST(KaggleCsv, AcceptsCrlfLineEnds) {
  TempDir dir;
  std::string text = kLabelled;
  for (size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 2)) text.insert(at, "\r");
  const Dataset data = load_kaggle_csv(csv_file(dir, text));
  EXPECT_EQ(data.count, 3);
  EXPECT_EQ(data.pixels, kLabelledPixels);
  EXPECT_EQ(data.labels, (std::vector<uint8_t>{7, 0, 9}));
}

TEST(KaggleCsv, AcceptsMissingFinalNewline) {
  TempDir dir;
  const Dataset data = load_kaggle_csv(csv_file(dir, kLabelled.substr(0, kLabelled.size() - 1)));
  EXPECT_EQ(data.count, 3);
  EXPECT_EQ(data.pixels, kLabelledPixels);
  const Dataset crlf = load_kaggle_csv(csv_file(dir, "label,a\r\n4,200\r"));
  EXPECT_EQ(crlf.pixels, (std::vector<uint8_t>{200}));
}

TEST(KaggleCsv, AcceptsBlankLinesAtTheEnd) {
  TempDir dir;
  const Dataset data = load_kaggle_csv(csv_file(dir, kLabelled + "\n\r\n\n"));
  EXPECT_EQ(data.count, 3);
  EXPECT_EQ(data.pixels, kLabelledPixels);
}

TEST(KaggleCsv, AcceptsByteOrderMark) {
  TempDir dir;
  const Dataset data = load_kaggle_csv(csv_file(dir, "\xEF\xBB\xBF" + kLabelled));
  EXPECT_TRUE(data.has_labels());
  EXPECT_EQ(data.count, 3);
}

TEST(KaggleCsv, AcceptsLabelsBelowALargerClassCount) {
  TempDir dir;
  const Dataset data = load_kaggle_csv(csv_file(dir, with_value("12", 0)), 13);
  EXPECT_EQ(data.num_classes, 13);
  EXPECT_EQ(data.labels, (std::vector<uint8_t>{7, 12, 9}));
}

// ---------------------------------------------------------------------------------------------------
// Values that are wrong: each names line 3 (the second data row) and the column

TEST(KaggleCsv, RejectsPixelAbove255) {
  TempDir dir;
  const std::string path = csv_file(dir, with_value("256", 2));
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path,
                                "line 3, column 3 (pixel1): pixel value '256' is outside 0..255"));
}

TEST(KaggleCsv, RejectsHugeNumber) {
  TempDir dir;
  const std::string path = csv_file(dir, with_value("99999999999999999999", 1));
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "outside 0..255"));
}

TEST(KaggleCsv, RejectsNegativePixel) {
  TempDir dir;
  const std::string path = csv_file(dir, with_value("-1", 4));
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "line 3, column 5 (pixel3): pixel value '-1'"));
}

TEST(KaggleCsv, RejectsNonNumbers) {
  TempDir dir;
  for (const std::string value : {"abc", "1.5", "+1", " 1", "1 ", "0x10", "12a"}) {
    const std::string path = csv_file(dir, with_value(value, 1));
    EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "'" + value + "' is not an integer"))
        << "value '" << value << "'";
  }
}

TEST(KaggleCsv, RejectsEmptyField) {
  TempDir dir;
  const std::string path = csv_file(dir, with_value("", 2));
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "line 3, column 3 (pixel1): empty value"));
}

TEST(KaggleCsv, RejectsLabelEqualToClassCount) {
  TempDir dir;
  const std::string path = csv_file(dir, with_value("10", 0));
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path,
                                "line 3, column 1 (label): label '10' is not < 10 classes"));
}

TEST(KaggleCsv, RejectsNegativeLabel) {
  TempDir dir;
  const std::string path = csv_file(dir, with_value("-1", 0));
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "label '-1' is not < 10 classes"));
}

// ---------------------------------------------------------------------------------------------------
// Lines and files that are wrong

TEST(KaggleCsv, RejectsTooFewValues) {
  TempDir dir;
  const std::string path = csv_file(dir, "label,a,b,c,d\n1,2,3,4,5\n1,2,3,4\n");
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "line 3: expected 5 values, found 4"));
}

TEST(KaggleCsv, RejectsTooManyValues) {
  TempDir dir;
  const std::string path = csv_file(dir, "label,a,b,c,d\n1,2,3,4,5,6\n");
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "line 2: expected 5 values, found 6"));
}

TEST(KaggleCsv, RejectsTrailingComma) {
  TempDir dir;
  const std::string path = csv_file(dir, "a,b\n1,2,\n");
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "line 2: expected 2 values, found 3"));
}

TEST(KaggleCsv, RejectsBlankLineBetweenRows) {
  TempDir dir;
  const std::string path = csv_file(dir, "label,a\n1,2\n\n3,4\n");
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "line 3 is blank"));
}

TEST(KaggleCsv, RejectsMissingHeader) {
  TempDir dir;
  const std::string path = csv_file(dir, "1,0,1,2,255\n0,10,20,30,40\n");
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "expected a header line"));
}

TEST(KaggleCsv, RejectsHeaderWithoutRows) {
  TempDir dir;
  const std::string path = csv_file(dir, "label,pixel0,pixel1\n\n");
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "no samples"));
}

TEST(KaggleCsv, RejectsLabelColumnAlone) {
  TempDir dir;
  const std::string path = csv_file(dir, "label\n3\n");
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "no pixel columns"));
}

TEST(KaggleCsv, RejectsEmptyFile) {
  TempDir dir;
  const std::string path = csv_file(dir, "");
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "empty file"));
}

TEST(KaggleCsv, RejectsNonexistentFile) {
  TempDir dir;
  const std::string path = dir.file("train.csv");
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "cannot open"));
}

TEST(KaggleCsv, RejectsFolderInsteadOfFile) {
  TempDir dir;
  const std::string path = dir.path().string();
  EXPECT_TRUE(throws_file_error([&] { load_kaggle_csv(path); }, path, "folder"));
}

TEST(KaggleCsv, RejectsImpossibleClassCount) {
  TempDir dir;
  const std::string path = csv_file(dir, kLabelled);
  EXPECT_THROW(load_kaggle_csv(path, 0), cudamlp::UsageError);
  EXPECT_THROW(load_kaggle_csv(path, 257), cudamlp::UsageError);
}

// ---------------------------------------------------------------------------------------------------
// What the messages quote of the file: escaped, whole, and short

namespace {

using namespace std::string_literals;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(KaggleCsv, QuotesNulControlAndForeignBytesEscapedAndWhole) {
  TempDir dir;
  // A NUL, an escape sequence and a byte that is not UTF-8 in a value, an escape sequence in a column name.
  const std::string path = csv_file(dir, "label,pi\x1b[31mxel\n1,2\0x\xff\x1b[0m\n"s);
  const std::string message = error_message([&] { load_kaggle_csv(path); });
  EXPECT_TRUE(is_short_printable_line(message));
  EXPECT_TRUE(contains(message, "column 2 (pi\\x1b[31mxel): '2\\x00x\\xff\\x1b[0m' is not an integer")) << message;
}

TEST(KaggleCsv, QuotesOnlyAnExcerptOfALongLine) {
  // Separated by ';': the header is one 5,000-character column name and each row one long field.
  std::string header = "label", row = "5";
  for (int i = 0; i < 784; ++i) header += ";pixel" + std::to_string(i), row += ";0";
  TempDir dir;
  const std::string path = csv_file(dir, header + "\n" + row + "\n");
  const std::string message = error_message([&] { load_kaggle_csv(path); });
  EXPECT_TRUE(is_short_printable_line(message));
  EXPECT_TRUE(contains(message, "label;pixel0;pixel1;")) << message;
  EXPECT_TRUE(contains(message, "...")) << message;
  EXPECT_TRUE(contains(message, "comma")) << message;  // says why the file is one column
}

TEST(KaggleCsv, NamesAUtf16FileInsteadOfQuotingIt) {
  // A spreadsheet's "Unicode text": a UTF-16 byte order mark, then every character followed by a NUL.
  std::string utf16 = "\xff\xfe";
  for (const char c : std::string("label,pixel0\n1,2\n")) utf16 += std::string{c, '\0'};
  TempDir dir;
  const std::string path = csv_file(dir, utf16);
  const std::string message = error_message([&] { load_kaggle_csv(path); });
  EXPECT_TRUE(is_short_printable_line(message));
  EXPECT_TRUE(contains(message, "UTF-16")) << message;
}
