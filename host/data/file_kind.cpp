// file_kind: a file's kind from its first bytes; see file_kind.h.
#include "cudamlp/file_kind.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>

#include "cudamlp/errors.h"
#include "read_file.h"

namespace cudamlp {

namespace {

constexpr std::string_view kPngSignature = "\x89PNG\r\n\x1a\n";
constexpr std::string_view kUtf8ByteOrderMark = "\xEF\xBB\xBF";

uint8_t byte_at(std::string_view bytes, size_t i) { return static_cast<uint8_t>(bytes[i]); }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// IDX: 00 00, then the element type (0x08 unsigned byte .. 0x0e double), then the number of dims.
FileKind idx_kind(std::string_view bytes) {
  if (bytes.size() < 4 || byte_at(bytes, 0) != 0 || byte_at(bytes, 1) != 0) return FileKind::kUnknown;
  const uint8_t type = byte_at(bytes, 2), dims = byte_at(bytes, 3);
  if (type == 0x08 && dims == 3) return FileKind::kIdxImages;
  if (type == 0x08 && dims == 1) return FileKind::kIdxLabels;
  const bool idx_type = type == 0x08 || type == 0x09 || (type >= 0x0B && type <= 0x0E);
  return idx_type && dims >= 1 ? FileKind::kIdx : FileKind::kUnknown;
}

// safetensors: the header length (little-endian u64; every real header is far below 2^32) and '{'.
bool is_safetensors(std::string_view bytes) {
  if (bytes.size() < 9 || bytes[8] != '{') return false;
  for (size_t i = 4; i < 8; ++i)
    if (byte_at(bytes, i) != 0) return false;
  return true;
}

// Printable text: no control characters but whitespace, and bytes >= 0x80 only in UTF-8 sequences (a
// sequence may be cut by the end of first_bytes). A NUL or a stray byte makes it binary.
bool is_text(std::string_view bytes) {
  if (bytes.starts_with(kUtf8ByteOrderMark)) bytes.remove_prefix(kUtf8ByteOrderMark.size());
  for (size_t i = 0; i < bytes.size();) {
    const uint8_t lead = byte_at(bytes, i);
    if (lead < 0x80) {
      if ((lead < 0x20 && !is_space(char(lead))) || lead == 0x7F) return false;
      ++i;
      continue;
    }
    size_t length = 0;  // of the UTF-8 sequence this lead byte starts
    if (lead >= 0xC2 && lead <= 0xDF) length = 2;
    else if (lead >= 0xE0 && lead <= 0xEF) length = 3;
    else if (lead >= 0xF0 && lead <= 0xF4) length = 4;
    else return false;  // a continuation byte alone, or a byte UTF-8 never uses
    for (size_t k = 1; k < length && i + k < bytes.size(); ++k)
      if ((byte_at(bytes, i + k) & 0xC0) != 0x80) return false;
    i += length;
  }
  return true;
}

}  // namespace

FileKind file_kind(std::string_view first_bytes) {
  const std::string_view bytes = first_bytes.substr(0, kFileKindBytes);
  if (bytes.empty()) return FileKind::kEmpty;
  if (kPngSignature.starts_with(bytes.substr(0, kPngSignature.size()))) return FileKind::kPng;
  if (bytes.size() >= 3 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '2') && is_space(bytes[2]))
    return FileKind::kPgm;
  if (bytes.size() >= 3 && byte_at(bytes, 0) == 0x1F && byte_at(bytes, 1) == 0x8B && byte_at(bytes, 2) == 0x08)
    return FileKind::kGzip;
  if (const FileKind idx = idx_kind(bytes); idx != FileKind::kUnknown) return idx;
  if (is_safetensors(bytes)) return FileKind::kSafetensors;
  if (bytes.starts_with("\x93NUMPY")) return FileKind::kNpy;
  if (bytes.starts_with("\xFF\xFE") || bytes.starts_with("\xFE\xFF")) return FileKind::kUtf16Text;
  if (is_text(bytes)) return FileKind::kText;
  return FileKind::kUnknown;
}

const char* file_kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::kEmpty:
      return "an empty file";
    case FileKind::kPng:
      return "a PNG picture";
    case FileKind::kPgm:
      return "a PGM picture";
    case FileKind::kGzip:
      return "a gzip-compressed file";
    case FileKind::kIdxImages:
      return "an IDX images file";
    case FileKind::kIdxLabels:
      return "an IDX labels file";
    case FileKind::kIdx:
      return "an IDX file of another element type or shape";
    case FileKind::kSafetensors:
      return "a safetensors file (a model or checkpoint)";
    case FileKind::kNpy:
      return "a NumPy .npy file";
    case FileKind::kUtf16Text:
      return "UTF-16 text";
    case FileKind::kText:
      return "a text file";
    case FileKind::kUnknown:
      break;
  }
  return "a file of unknown kind";
}

InputKind input_kind(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw FileError(path, std::string("cannot open: ") + std::strerror(errno));
  InputKind input;
  if (S_ISREG(info.st_mode)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FileError(path, std::string("cannot open: ") + std::strerror(errno));
    char first[kFileKindBytes];
    in.read(first, sizeof first);
    if (in.bad()) throw FileError(path, "read failed");
    input.kind = file_kind(std::string_view(first, size_t(in.gcount())));
    return input;
  }
  input.bytes = read_whole_file(path, "an input file", kMaxOnceReadBytes,
                                "cudamlp reads from a pipe (" + std::to_string(kMaxOnceReadBytes) + " bytes)");
  input.kind = file_kind(*input.bytes);
  return input;
}

}  // namespace cudamlp
