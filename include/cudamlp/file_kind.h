// What a file holds, told by its first bytes, never by its name: how `predict` picks the reader of each
// input (a PNG named `digit`, an IDX file named `images.csv`, a picture on /dev/stdin), and how a reader
// handed the wrong kind of file says what it got ("is a PNG picture, not a safetensors file") instead of
// misreading it ("header length 727905341920923785").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cudamlp {

enum class FileKind {
  kEmpty,
  kPng,          // the 8-byte PNG signature (or the start of it, in a file that ends inside it)
  kPgm,          // "P5" (binary) or "P2" (text) and whitespace
  kGzip,         // 1f 8b 08: a gzip stream (MNIST's .gz files)
  kIdxImages,    // IDX magic 00 00 08 03: unsigned bytes, 3 dims
  kIdxLabels,    // IDX magic 00 00 08 01: unsigned bytes, 1 dim
  kIdx,          // 00 00, an IDX element type (08..0e) and 1..255 dims: another IDX file
  kSafetensors,  // an 8-byte little-endian header length below 2^32, then '{'
  kNpy,          // "\x93NUMPY": a NumPy .npy array (npy.h)
  kUtf16Text,    // a UTF-16 byte order mark (FF FE or FE FF): text a spreadsheet saved as "Unicode"
  kText,         // printable ASCII or UTF-8 (a byte order mark allowed): a CSV, a run log
  kUnknown,      // none of these
};

// How many first bytes file_kind looks at; fewer is fine in a shorter file.
inline constexpr size_t kFileKindBytes = 16;

// The kind of a file whose first bytes (its first kFileKindBytes or all of them) are first_bytes.
FileKind file_kind(std::string_view first_bytes);

// The kind in words, for messages: "a PNG picture", "an IDX images file", "a text file", ...
const char* file_kind_name(FileKind kind);

// An input file's kind, looked at without spending it. A regular file's first bytes are read and its
// reader opens it again; a pipe, a FIFO or /dev/stdin can be read only once, so it is read whole here
// (at most kMaxOnceReadBytes) and its bytes travel with the kind for a reader that parses from memory.
struct InputKind {
  FileKind kind = FileKind::kUnknown;
  std::optional<std::string> bytes;  // the whole file, for one that could not be read again
};

// Far above the largest input a pipe carries in practice (MNIST's 47 MB of training images), below what
// would exhaust a machine's memory before a message.
inline constexpr long long kMaxOnceReadBytes = 1LL << 31;

// FileError naming path when it cannot be opened or read.
InputKind input_kind(const std::string& path);

}  // namespace cudamlp
