// Tests of file_kind (host/data/file_kind.cpp): each kind of file cudamlp meets, told by its first bytes.
#include <gtest/gtest.h>

#include <string>

#include "cudamlp/file_kind.h"
#include "test_helpers.h"

namespace cudamlp {
namespace {

using namespace std::string_literals;

TEST(FileKind, TellsEveryKindByItsFirstBytes) {
  const std::vector<std::pair<std::string, FileKind>> cases = {
      {"", FileKind::kEmpty},
      {"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"s, FileKind::kPng},
      {"\x89PNG", FileKind::kPng},  // cut inside the signature: still meant to be one
      {"P5\n28 28\n255\n\x01\x02"s, FileKind::kPgm},
      {"P2 3 1 255\n1 2 3\n", FileKind::kPgm},
      {"\x1f\x8b\x08\0\0\0\0\0\0\x03"s, FileKind::kGzip},
      {testing::be32(0x803) + testing::be32(10000), FileKind::kIdxImages},
      {testing::be32(0x801) + testing::be32(10000), FileKind::kIdxLabels},
      {testing::be32(0xD02) + testing::be32(3), FileKind::kIdx},  // floats, 2 dims
      {"\x48\0\0\0\0\0\0\0{\"__metadata__\":"s, FileKind::kSafetensors},
      {"\xff\xfel\0a\0b\0"s, FileKind::kUtf16Text},
      {"label,pixel0,pixel1\n1,2,3\n", FileKind::kText},
      {"\xef\xbb\xbflabel,pix\xc3\xa9l", FileKind::kText},
      {"{\"format\": \"cudamlp-run-log\"", FileKind::kText},
      {"abcdefghijklmno\xc3", FileKind::kText},  // a UTF-8 sequence cut by the 16th byte
      {"\0\0\0\0\0\0\0\0"s, FileKind::kUnknown},     // /dev/zero
      {"\xff\xd8\xff\xe0\0\x10JFIF"s, FileKind::kUnknown},  // a JPEG
      {"caf\xe9 au lait", FileKind::kUnknown},      // Latin-1: not text cudamlp reads
      {"line\0with a NUL"s, FileKind::kUnknown},
  };
  for (const auto& [bytes, kind] : cases)
    EXPECT_EQ(file_kind(bytes), kind) << file_kind_name(file_kind(bytes)) << " for " << ::testing::PrintToString(bytes);
}

TEST(FileKind, LooksAtTheFirstBytesOnly) {
  EXPECT_EQ(file_kind("label,pixel0,pix" + "\0\xff"s), FileKind::kText);
  EXPECT_EQ(file_kind(std::string(kFileKindBytes, 'a') + "\x01"), FileKind::kText);
}

}  // namespace
}  // namespace cudamlp
