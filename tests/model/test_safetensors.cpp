// Tests for the safetensors reader and writer and for write_file_atomically (host/model/safetensors.cpp,
// host/model/atomic_file.cpp). Malformed files are built byte by byte: 8-byte little-endian header
// length, JSON header, data section.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "cudamlp/atomic_file.h"
#include "cudamlp/errors.h"
#include "cudamlp/safetensors.h"
#include "test_helpers.h"

namespace cudamlp {
namespace {

using namespace std::string_literals;
using testing::error_message;
using testing::is_short_printable_line;
using testing::read_file;
using testing::TempDir;
using testing::throws_file_error;
using testing::write_file;

std::string le64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return bytes;
}

template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());  // tests run on little-endian hosts only
  return bytes;
}

// A whole file: header length, the header exactly as given (no padding), the data.
std::string safetensors_bytes(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

// Success when reading bytes throws a FileError whose message names the file and contains problem.
::testing::AssertionResult rejects(const std::string& bytes, const std::string& problem) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_file(path, bytes);
  return throws_file_error([&] { read_safetensors(path); }, path, problem);
}

// One valid F32 tensor entry, for building headers.
std::string f32_entry(const std::string& name, const std::string& shape, uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

std::vector<std::string> names_in(const std::filesystem::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// ------------------------------------------------------------------------------------------------
// Round trips

TEST(Safetensors, RoundTripKeepsSeveralTensorsInOrderWithTheirValuesAndMetadata) {
  TempDir dir;
  SafetensorsFile file;
  file.tensors = {{"z.first", {2, 3}, {1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 1e-30f}},
                  {"a.second", {4}, {std::numeric_limits<float>::infinity(), -1.0f, 7.0f, 8.0f}},
                  {"m.third", {1, 1, 1}, {42.0f}}};
  file.metadata = {{"format", "pt"}, {"note", "héllo, \"quoted\""}};
  write_safetensors(dir.file("m.safetensors"), file);

  const SafetensorsFile back = read_safetensors(dir.file("m.safetensors"));
  ASSERT_EQ(back.tensors.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.tensors[i].name, file.tensors[i].name);
    EXPECT_EQ(back.tensors[i].shape, file.tensors[i].shape);
    ASSERT_EQ(back.tensors[i].data.size(), file.tensors[i].data.size());
    for (size_t j = 0; j < file.tensors[i].data.size(); ++j)
      EXPECT_EQ(std::bit_cast<uint32_t>(back.tensors[i].data[j]), std::bit_cast<uint32_t>(file.tensors[i].data[j]));
  }
  EXPECT_EQ(back.metadata, file.metadata);
  ASSERT_NE(back.find("a.second"), nullptr);
  EXPECT_EQ(back.find("a.second")->data[2], 7.0f);
  EXPECT_EQ(back.find("absent"), nullptr);
}

TEST(Safetensors, RoundTripKeepsScalarAndZeroSizeTensors) {
  TempDir dir;
  SafetensorsFile file;
  file.tensors = {{"scalar", {}, {3.5f}}, {"empty", {0, 3}, {}}, {"after", {2}, {1.0f, 2.0f}}};
  write_safetensors(dir.file("m.safetensors"), file);

  const SafetensorsFile back = read_safetensors(dir.file("m.safetensors"));
  ASSERT_EQ(back.tensors.size(), 3u);
  EXPECT_EQ(back.tensors[0].shape, std::vector<int64_t>{});
  EXPECT_EQ(back.tensors[0].data, std::vector<float>{3.5f});
  EXPECT_EQ(back.tensors[1].shape, (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(back.tensors[1].data.empty());
  EXPECT_EQ(back.tensors[2].data, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_TRUE(back.metadata.empty());
}

TEST(Safetensors, RoundTripOfNoTensorsKeepsAnEmptyPaddedHeader) {
  TempDir dir;
  write_safetensors(dir.file("m.safetensors"), {});
  EXPECT_EQ(read_file(dir.file("m.safetensors")), le64(8) + "{}      ");
  const SafetensorsFile back = read_safetensors(dir.file("m.safetensors"));
  EXPECT_TRUE(back.tensors.empty());
  EXPECT_TRUE(back.metadata.empty());
}

// ------------------------------------------------------------------------------------------------
// Writer

TEST(SafetensorsWriter, WritesLengthHeaderSpacePaddingAndLittleEndianData) {
  TempDir dir;
  SafetensorsFile file;
  file.tensors = {{"a", {2}, {1.0f, -2.0f}}};
  write_safetensors(dir.file("a.safetensors"), file);

  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";  // 54 bytes
  const std::string expected = "\x38\0\0\0\0\0\0\0"s  // 56 = 54 + 2 spaces of padding
                               + header + "  "       //
                               + "\x00\x00\x80\x3f"s  // 1.0f
                               + "\x00\x00\x00\xc0"s;  // -2.0f
  EXPECT_EQ(read_file(dir.file("a.safetensors")), expected);
}

TEST(SafetensorsWriter, WritesMetadataFirstAndOffsetsBackToBack) {
  TempDir dir;
  SafetensorsFile file;
  file.tensors = {{"w", {1, 2}, {1.0f, 2.0f}}, {"b", {1}, {3.0f}}};
  file.metadata = {{"k", "v"}};
  write_safetensors(dir.file("m.safetensors"), file);

  const std::string bytes = read_file(dir.file("m.safetensors"));
  const std::string header =
      R"({"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  const uint64_t padded = (header.size() + 7) / 8 * 8;
  ASSERT_EQ(bytes.size(), 8 + padded + 12);
  EXPECT_EQ(bytes.substr(0, 8), le64(padded));
  EXPECT_EQ(bytes.substr(8, padded), header + std::string(padded - header.size(), ' '));
  EXPECT_EQ(bytes.substr(8 + padded), raw_bytes(std::vector<float>{1.0f, 2.0f, 3.0f}));
}

TEST(SafetensorsWriter, RejectsDataThatDoesNotMatchTheShape) {
  TempDir dir;
  SafetensorsFile file;
  file.tensors = {{"w", {2, 2}, {1.0f, 2.0f, 3.0f}}};
  EXPECT_THROW(write_safetensors(dir.file("m.safetensors"), file), FileError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.safetensors")));
}

TEST(SafetensorsWriter, RejectsDuplicateAndReservedNames) {
  TempDir dir;
  SafetensorsFile twice;
  twice.tensors = {{"w", {1}, {1.0f}}, {"w", {1}, {2.0f}}};
  EXPECT_THROW(write_safetensors(dir.file("m.safetensors"), twice), FileError);
  SafetensorsFile reserved;
  reserved.tensors = {{"__metadata__", {1}, {1.0f}}};
  EXPECT_THROW(write_safetensors(dir.file("m.safetensors"), reserved), FileError);
}

// ------------------------------------------------------------------------------------------------
// Reader: valid files from other writers

TEST(SafetensorsReader, ConvertsF64ToFloat) {
  TempDir dir;
  const std::vector<double> values = {0.5, -1e-3, 1.0 / 3.0, 1e40};
  write_file(dir.file("f64.safetensors"),
             safetensors_bytes(R"({"x":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]}})", raw_bytes(values)));
  const SafetensorsFile file = read_safetensors(dir.file("f64.safetensors"));
  ASSERT_EQ(file.tensors.size(), 1u);
  EXPECT_EQ(file.tensors[0].shape, (std::vector<int64_t>{2, 2}));
  ASSERT_EQ(file.tensors[0].data.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(file.tensors[0].data[i], static_cast<float>(values[i]));
  EXPECT_TRUE(std::isinf(file.tensors[0].data[3]));  // beyond float's range, as a cast does
}

TEST(SafetensorsReader, AcceptsUnpaddedHeaderMixedDtypesAndDataInAnotherOrder) {
  // Header order (b, a) differs from data order (a first): tensors come back in header order.
  TempDir dir;
  const std::string header = "{" + f32_entry("b", "[1]", 8, 12) +
                             R"(,"a":{"shape":[1],"data_offsets":[0,8],"dtype":"F64"}})";
  write_file(dir.file("m.safetensors"),
             safetensors_bytes(header, raw_bytes(std::vector<double>{2.0}) + raw_bytes(std::vector<float>{5.0f})));
  const SafetensorsFile file = read_safetensors(dir.file("m.safetensors"));
  ASSERT_EQ(file.tensors.size(), 2u);
  EXPECT_EQ(file.tensors[0].name, "b");
  EXPECT_EQ(file.tensors[0].data, std::vector<float>{5.0f});
  EXPECT_EQ(file.tensors[1].name, "a");
  EXPECT_EQ(file.tensors[1].data, std::vector<float>{2.0f});
}

// ------------------------------------------------------------------------------------------------
// Reader: malformed files. Each must fail with a FileError naming the file and the problem.

TEST(SafetensorsReader, RejectsAMissingFile) {
  TempDir dir;
  try {
    read_safetensors(dir.file("absent.safetensors"));
    FAIL() << "no exception";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("absent.safetensors")), std::string::npos) << e.what();
  }
}

TEST(SafetensorsReader, RejectsAFolder) {
  TempDir dir;
  EXPECT_THROW(read_safetensors(dir.path().string()), FileError);
}

TEST(SafetensorsReader, RejectsAnEmptyFile) { EXPECT_TRUE(rejects("", "too short")); }

TEST(SafetensorsReader, RejectsAFileShorterThan8Bytes) { EXPECT_TRUE(rejects("\x02\0\0\0\0\0\0"s, "too short")); }

TEST(SafetensorsReader, RejectsHeaderLengthZero) { EXPECT_TRUE(rejects(le64(0) + "{}", "header length is 0")); }

TEST(SafetensorsReader, RejectsHeaderLengthAboveTheLimit) {
  EXPECT_TRUE(rejects(le64(kMaxSafetensorsHeader + 1) + "{}", "above the limit"));
  EXPECT_TRUE(rejects(le64(UINT64_MAX) + "{}", "above the limit"));
}

TEST(SafetensorsReader, RejectsHeaderLengthBeyondTheFile) {
  EXPECT_TRUE(rejects(le64(100) + "{}", "past the end"));
  EXPECT_TRUE(rejects(le64(3) + "{}", "past the end"));
}

TEST(SafetensorsReader, RejectsHeaderThatIsNotJson) {
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"a":)"), "not valid JSON"));
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"a":1} x)"), "not valid JSON"));
  EXPECT_TRUE(rejects(safetensors_bytes("{\"\xff\":{}}"), "not valid JSON"));  // not UTF-8
}

TEST(SafetensorsReader, RejectsHeaderThatIsNotAnObject) {
  EXPECT_TRUE(rejects(safetensors_bytes("[1,2]"), "not an object"));
  EXPECT_TRUE(rejects(safetensors_bytes("\"text\""), "not an object"));
}

TEST(SafetensorsReader, RejectsTensorEntryThatIsNotAnObject) {
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"a":[0,4]})", "abcd"), "tensor 'a' is not a JSON object"));
}

TEST(SafetensorsReader, RejectsTensorWithoutDtypeShapeOrDataOffsets) {
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", "abcd"), "has no dtype"));
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", "abcd"), "has no shape"));
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1]}})", "abcd"), "has no data_offsets"));
}

TEST(SafetensorsReader, RejectsTensorWithAnUnexpectedKey) {
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", "abcd"),
                      "unexpected key 'x'"));
}

TEST(SafetensorsReader, RejectsUnsupportedDtype) {
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"0.weight":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", "abcd"),
                      "tensor '0.weight' has dtype F16; cudamlp reads F32 and F64"));
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", "abcd"),
                      "dtype that is not a string"));
}

TEST(SafetensorsReader, RejectsNegativeOrNonIntegerShape) {
  for (const std::string shape : {"[-1]", "[1.5]", "[\"2\"]", "[null]", "[1e3]", "4", "{}"})
    EXPECT_TRUE(rejects(safetensors_bytes("{" + f32_entry("a", shape, 0, 4) + "}", "abcd"), "shape")) << shape;
}

TEST(SafetensorsReader, RejectsShapeWhoseElementCountOverflows) {
  // 2^32 * 2^32 * 4 wraps to 0 in uint64; the reader must not be fooled into a 0-byte tensor.
  EXPECT_TRUE(rejects(safetensors_bytes("{" + f32_entry("a", "[4294967296,4294967296,4]", 0, 0) + "}"),
                      "more elements than"));
  EXPECT_TRUE(rejects(safetensors_bytes("{" + f32_entry("a", "[18446744073709551615]", 0, 0) + "}"), "shape"));
}

TEST(SafetensorsReader, RejectsShapeLargerThanTheDataSection) {
  EXPECT_TRUE(rejects(safetensors_bytes("{" + f32_entry("a", "[1000000000]", 0, 4000000000) + "}", "abcdefgh"),
                      "more elements than the 8-byte data section"));
}

TEST(SafetensorsReader, RejectsMalformedDataOffsets) {
  for (const std::string offsets : {"[0]", "[0,4,8]", "[-4,4]", "[0,4.0]", "\"0,4\"", "[0,null]"}) {
    const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":)" + offsets + "}}";
    EXPECT_TRUE(rejects(safetensors_bytes(header, "abcd"), "data_offsets")) << offsets;
  }
}

TEST(SafetensorsReader, RejectsDataOffsetsEndBeforeBegin) {
  EXPECT_TRUE(rejects(safetensors_bytes("{" + f32_entry("a", "[0]", 4, 0) + "}", "abcd"), "end before begin"));
}

TEST(SafetensorsReader, RejectsDataOffsetsBeyondTheDataSection) {
  EXPECT_TRUE(rejects(safetensors_bytes("{" + f32_entry("a", "[1]", 4, 8) + "}", "abcd"), "beyond the 4-byte"));
}

TEST(SafetensorsReader, RejectsByteSizeThatDoesNotMatchTheShape) {
  EXPECT_TRUE(rejects(safetensors_bytes("{" + f32_entry("a", "[2]", 0, 4) + "}", "abcdefgh"),
                      "8 bytes, but data_offsets [0,4] span 4"));
  EXPECT_TRUE(rejects(safetensors_bytes("{" + f32_entry("a", "[1]", 0, 8) + "}", "abcdefgh"), "span 8"));
}

TEST(SafetensorsReader, RejectsOverlappingTensors) {
  const std::string header = "{" + f32_entry("a", "[2]", 0, 8) + "," + f32_entry("b", "[2]", 4, 12) + "}";
  EXPECT_TRUE(rejects(safetensors_bytes(header, "abcdefghijkl"), "overlap"));
}

TEST(SafetensorsReader, RejectsTwoTensorsSharingTheSameBytes) {
  const std::string header = "{" + f32_entry("a", "[1]", 0, 4) + "," + f32_entry("b", "[1]", 0, 4) + "}";
  EXPECT_TRUE(rejects(safetensors_bytes(header, "abcd"), "overlap"));
}

TEST(SafetensorsReader, RejectsAGapBetweenTensors) {
  const std::string header = "{" + f32_entry("a", "[1]", 0, 4) + "," + f32_entry("b", "[1]", 8, 12) + "}";
  EXPECT_TRUE(rejects(safetensors_bytes(header, "abcdefghijkl"),
                      "bytes [4, 8) of the data section belong to no tensor"));
}

TEST(SafetensorsReader, RejectsAGapBeforeTheFirstTensor) {
  EXPECT_TRUE(rejects(safetensors_bytes("{" + f32_entry("a", "[1]", 4, 8) + "}", "abcdefgh"), "belong to no tensor"));
}

TEST(SafetensorsReader, RejectsTrailingBytesAfterTheLastTensor) {
  EXPECT_TRUE(rejects(safetensors_bytes("{" + f32_entry("a", "[1]", 0, 4) + "}", "abcdXYZ"), "trailing bytes"));
  EXPECT_TRUE(rejects(safetensors_bytes("{}", "x"), "trailing bytes"));
}

TEST(SafetensorsReader, RejectsMetadataThatIsNotAnObjectOfStrings) {
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"__metadata__":["a"]})"), "__metadata__ is not a JSON object"));
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"__metadata__":{"k":1}})"), "__metadata__ value for 'k' is 1"));
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"__metadata__":{"k":{"x":"y"}}})"), "not a string"));
}

TEST(SafetensorsReader, RejectsATensorNameListedTwice) {
  // JSON parsers keep one of two equal keys silently; the reader must refuse the ambiguity.
  const std::string header = "{" + f32_entry("a", "[1]", 0, 4) + "," + f32_entry("a", "[1]", 4, 8) + "}";
  EXPECT_TRUE(rejects(safetensors_bytes(header, "abcdefgh"), "key 'a' twice"));
  EXPECT_TRUE(rejects(safetensors_bytes(R"({"a":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}})",
                                        "abcd"),
                      "key 'dtype' twice"));
}

// ------------------------------------------------------------------------------------------------
// What the messages quote of a header: escaped, whole, and short

// read_safetensors's message for a file of bytes, as the command line prints it (ending at a NUL).
std::string message_for(const std::string& bytes) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_file(path, bytes);
  return error_message([&] { read_safetensors(path); });
}

TEST(SafetensorsReader, QuotesNamesKeysAndValuesEscapedAndWhole) {
  // JSON may spell a NUL, an escape character and a C1 control (CSI) inside a string: \u0000, \u001b, \u009b.
  struct Case {
    std::string bytes, words;
  };
  const std::vector<Case> cases = {
      {safetensors_bytes(R"({"a\u0000b\u001b[2J":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", "ab"),
       R"(tensor 'a\x00b\x1b[2J' has dtype F16; cudamlp reads)"},
      {safetensors_bytes(R"({"a":{"dtype":"F\u009b16","shape":[1],"data_offsets":[0,2]}})", "ab"),
       R"(has dtype F\xc2\x9b16; cudamlp reads)"},
      {safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x\u0000y":1}})", "abcd"),
       R"(unexpected key 'x\x00y')"},
      {safetensors_bytes(R"({"k\u0000":{},"k\u0000":{}})"), R"(key 'k\x00' twice)"},
      {safetensors_bytes(R"({"__metadata__":{"k\u0000":["\u0000"]}})"), R"(value for 'k\x00' is ["\u0000"], not a string)"},
      {safetensors_bytes("{\"\xff\xfe\":{}}"), R"(last read: '"\xff')"},  // not UTF-8: the JSON parser quotes it
  };
  for (const Case& c : cases) {
    const std::string message = message_for(c.bytes);
    EXPECT_TRUE(is_short_printable_line(message));
    EXPECT_NE(message.find(c.words), std::string::npos) << message;
  }
}

TEST(SafetensorsReader, QuotesOnlyAnExcerptOfLongNamesValuesAndTokens) {
  const std::string name(3000, 'n');
  std::string list = "[";
  for (int i = 0; i < 3000; ++i) list += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  list += "]";
  const std::vector<std::string> files = {
      safetensors_bytes("{\"" + name + R"(":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", "ab"),
      safetensors_bytes(R"({"a":{"dtype":")" + name + R"(","shape":[1],"data_offsets":[0,2]}})", "ab"),
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":)" + list + R"(,"data_offsets":[0,4]}})", "abcd"),
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":)" + list + "}}", "abcd"),
      safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],")" + name + "\":1}}", "abcd"),
      safetensors_bytes("{\"" + name + "\":{},\"" + name + "\":{}}"),
      safetensors_bytes(R"({"__metadata__":{")" + name + "\":" + list + "}}"),
      safetensors_bytes("{" + f32_entry(name, "[1]", 0, 4) + "," + f32_entry(name + "2", "[1]", 0, 4) + "}", "abcd"),
      safetensors_bytes("{\"" + name),  // a string that never ends: the parser quotes all it read
  };
  for (const std::string& bytes : files) {
    const std::string message = message_for(bytes);
    EXPECT_TRUE(is_short_printable_line(message));
    EXPECT_NE(message.find("..."), std::string::npos) << message;
  }
}

// ------------------------------------------------------------------------------------------------
// write_file_atomically

TEST(WriteFileAtomically, CreatesTheFileAndLeavesNoTemporaryFile) {
  TempDir dir;
  write_file_atomically(dir.file("out.bin"), "hello\0world"s);
  EXPECT_EQ(read_file(dir.file("out.bin")), "hello\0world"s);
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.bin"});
}

TEST(WriteFileAtomically, ReplacesAnExistingFile) {
  TempDir dir;
  write_file(dir.file("out.bin"), "old contents that are longer");
  write_file_atomically(dir.file("out.bin"), "new");
  EXPECT_EQ(read_file(dir.file("out.bin")), "new");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.bin"});
}

TEST(WriteFileAtomically, WritesAnEmptyFile) {
  TempDir dir;
  write_file_atomically(dir.file("empty"), "");
  EXPECT_EQ(std::filesystem::file_size(dir.file("empty")), 0u);
}

TEST(WriteFileAtomically, CreatesTheFileWithMode0644UnderTheUmask) {
  TempDir dir;
  const mode_t old_mask = ::umask(022);
  write_file_atomically(dir.file("a"), "x");
  ::umask(077);
  write_file_atomically(dir.file("b"), "x");
  ::umask(old_mask);
  struct stat a {}, b {};
  ASSERT_EQ(::stat(dir.file("a").c_str(), &a), 0);
  ASSERT_EQ(::stat(dir.file("b").c_str(), &b), 0);
  EXPECT_EQ(a.st_mode & 0777, 0644u);
  EXPECT_EQ(b.st_mode & 0777, 0600u);
}

TEST(WriteFileAtomically, ThrowsForAMissingFolder) {
  TempDir dir;
  const std::string path = dir.file("no/such/folder/out.bin");
  try {
    write_file_atomically(path, "x");
    FAIL() << "no exception";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("could not write"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(names_in(dir.path()).empty());
}

TEST(WriteFileAtomically, KeepsTheOldFileWhenTheFolderIsReadOnly) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into read-only folders";
  TempDir dir;
  write_file(dir.file("out.bin"), "old");
  std::filesystem::permissions(dir.path(), std::filesystem::perms(0555));
  EXPECT_THROW(write_file_atomically(dir.file("out.bin"), "new"), FileError);
  std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
  EXPECT_EQ(read_file(dir.file("out.bin")), "old");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.bin"});
}

TEST(WriteFileAtomically, RemovesItsTemporaryFileWhenAWriteFails) {
  // A file size limit makes the write fail half-way (EFBIG, with SIGXFSZ ignored as cudamlp does).
  TempDir dir;
  write_file(dir.file("out.bin"), "old");
  const auto previous = std::signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit small = saved;
  small.rlim_cur = 100;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  EXPECT_THROW(write_file_atomically(dir.file("out.bin"), std::string(4096, 'x')), FileError);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous);
  EXPECT_EQ(read_file(dir.file("out.bin")), "old");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.bin"});
}

TEST(WriteFileAtomically, RefusesToReplaceWhatIsNotARegularFile) {
  // Renaming over a FIFO or a device would replace it with a regular file (as root, /dev/full itself).
  // The device is made here, a copy of /dev/null's (1, 3), so that a regression replaces nothing real.
  TempDir dir;
  std::filesystem::create_directory(dir.file("folder"));
  ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0644), 0);
  std::vector<std::string> names = {"fifo", "folder"};
  if (::mknod(dir.file("device").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) names.insert(names.begin(), "device");
  for (const std::string& name : names) {
    const std::string path = dir.file(name);
    SCOPED_TRACE(path);
    EXPECT_TRUE(throws_file_error([&] { write_file_atomically(path, "new"); }, path, "not a regular file"));
  }
  EXPECT_TRUE(std::filesystem::is_fifo(dir.file("fifo")));
  EXPECT_EQ(names_in(dir.path()), names);
}

TEST(WriteFileAtomically, ItsTemporaryFitsWhereverTheFileNameFits) {
  // A 250-character name plus a suffix would pass the folder's 255-byte limit: the temporary's name is
  // short and fixed-length instead.
  TempDir dir;
  const std::string path = dir.file(std::string(250, 'n'));
  write_file_atomically(path, "new");
  EXPECT_EQ(read_file(path), "new");
  EXPECT_EQ(names_in(dir.path()).size(), 1u);
}

TEST(WriteFileAtomically, RemovesTemporariesThatGoneProcessesLeftAndKeepsALiveWritersOne) {
  // What a kill -9 mid-write leaves: the next write of the same file removes it. A temporary of a process
  // that still runs (pid 1) is another writer's, and stays.
  TempDir dir;
  const std::string path = dir.file("out.bin");
  write_file_atomically(path, "first");
  const pid_t gone = ::fork();  // a pid that surely no longer runs once reaped
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  // The temporaries of out.bin are named like ours, with another pid.
  const std::string ours = std::filesystem::path(temporary_path(path)).filename().string();
  const std::string prefix = ours.substr(0, ours.size() - (std::to_string(::getpid()) + ".tmp").size());
  write_file(dir.file(prefix + std::to_string(gone) + ".tmp"), "left by a kill -9");
  write_file(dir.file(prefix + std::to_string(::getpid()) + ".tmp"), "left by an earlier process with our pid");
  write_file(dir.file(prefix + "1.tmp"), "a live writer's");
  write_file_atomically(path, "second");
  EXPECT_EQ(read_file(path), "second");
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{prefix + "1.tmp", "out.bin"}));
}

}  // namespace
}  // namespace cudamlp
