// See read_file.h.
#include "read_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

// A stream without a size, read in pieces until its end (or past max_bytes, an error).
std::string read_to_end(std::ifstream& in, const std::string& path, std::streamoff max_bytes,
                        const std::string& limit) {
  in.clear();  // the failed seek set failbit
  constexpr size_t kPiece = size_t{1} << 16;
  std::string bytes;
  while (in) {
    const size_t old_size = bytes.size();
    bytes.resize(old_size + kPiece);
    in.read(bytes.data() + old_size, std::streamsize(kPiece));
    bytes.resize(old_size + size_t(in.gcount()));
    if (max_bytes >= 0 && std::streamoff(bytes.size()) > max_bytes)
      throw FileError(path, "more than " + std::to_string(max_bytes) + " bytes, more than " + limit);
  }
  if (in.bad()) throw FileError(path, "read failed after " + std::to_string(bytes.size()) + " bytes");
  return bytes;
}

}  // namespace

std::string read_whole_file(const std::string& path, const std::string& what, std::streamoff max_bytes,
                            const std::string& limit) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw FileError(path, "is a folder, not " + what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, std::string("cannot open: ") + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return read_to_end(in, path, max_bytes, limit);  // a pipe, a FIFO, /dev/stdin: no size to tell
  in.seekg(0, std::ios::beg);
  if (max_bytes >= 0 && size > max_bytes) throw FileError(path, std::to_string(size) + " bytes, more than " + limit);
  std::string bytes(size_t(size), '\0');
  in.read(bytes.data(), size);
  if (in.gcount() != size) throw FileError(path, "read failed after " + std::to_string(in.gcount()) + " bytes");
  return bytes;
}

}  // namespace cudamlp
