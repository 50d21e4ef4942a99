// See read_file.h.
#include "read_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cudamlp/errors.h"

namespace cudamlp {

std::string read_whole_file(const std::string& path, const std::string& what, std::streamoff max_bytes,
                            const std::string& limit) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw FileError(path, "is a folder, not " + what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, std::string("cannot open: ") + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) throw FileError(path, "cannot tell the file size");
  if (max_bytes >= 0 && size > max_bytes) throw FileError(path, std::to_string(size) + " bytes, more than " + limit);
  std::string bytes(size_t(size), '\0');
  in.read(bytes.data(), size);
  if (in.gcount() != size) throw FileError(path, "read failed after " + std::to_string(in.gcount()) + " bytes");
  return bytes;
}

}  // namespace cudamlp
