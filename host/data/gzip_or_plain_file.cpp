// See gzip_or_plain_file.h.
#include "gzip_or_plain_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

constexpr size_t kInputChunk = size_t{1} << 17;  // bytes read from the file at a time
constexpr uint8_t kGzipMagic[2] = {0x1f, 0x8b};
constexpr int kGzipOnly = 15 + 16;  // inflateInit2's windowBits: 32 KiB window, gzip wrapper only

}  // namespace

GzipOrPlainFile::GzipOrPlainFile(const std::string& path, const std::string& what) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw FileError(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat info {};
  if (fstat(fd_, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd_);
    throw FileError(path, "is a folder, not " + what);
  }
  if (fstat(fd_, &info) == 0 && S_ISREG(info.st_mode)) file_size_ = uint64_t(info.st_size);
  input_.resize(kInputChunk);
  z_.next_in = input_.data();
  z_.avail_in = 0;
  while (z_.avail_in < 2 && fill()) {
  }
  gzip_ = z_.avail_in >= 2 && z_.next_in[0] == kGzipMagic[0] && z_.next_in[1] == kGzipMagic[1];
  if (gzip_ && inflateInit2(&z_, kGzipOnly) != Z_OK) {
    ::close(fd_);
    throw FileError(path, "cannot start decompressing: out of memory");
  }
}

GzipOrPlainFile::~GzipOrPlainFile() {
  if (gzip_) inflateEnd(&z_);
  ::close(fd_);
}

size_t GzipOrPlainFile::read(void* dst, size_t n) {
  return gzip_ ? read_gzip(static_cast<uint8_t*>(dst), n) : read_plain(static_cast<uint8_t*>(dst), n);
}

std::optional<uint64_t> GzipOrPlainFile::plain_bytes_left() const {
  if (gzip_ || !file_size_ || *file_size_ < offset()) return std::nullopt;
  return *file_size_ - offset();
}

bool GzipOrPlainFile::fill() {
  // What inflate has not consumed moves to the front; the file's next bytes go after it.
  std::memmove(input_.data(), z_.next_in, z_.avail_in);
  z_.next_in = input_.data();
  while (true) {
    const ssize_t got = ::read(fd_, input_.data() + z_.avail_in, input_.size() - z_.avail_in);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw FileError(path_, std::string("read failed: ") + std::strerror(errno));
    z_.avail_in += uInt(got);
    file_read_ += uint64_t(got);
    return got > 0;
  }
}

size_t GzipOrPlainFile::read_plain(uint8_t* dst, size_t n) {
  size_t got = 0;
  while (got < n) {
    if (z_.avail_in == 0 && !fill()) break;
    const size_t take = std::min<size_t>(n - got, z_.avail_in);
    std::memcpy(dst + got, z_.next_in, take);
    z_.next_in += take;
    z_.avail_in -= uInt(take);
    got += take;
  }
  return got;
}

bool GzipOrPlainFile::start_member() {
  while (z_.avail_in < 2 && fill()) {
  }
  if (z_.avail_in == 0) return false;  // the file ends where a member did: all of it was gzip data
  if (z_.avail_in < 2 || z_.next_in[0] != kGzipMagic[0] || z_.next_in[1] != kGzipMagic[1]) {
    const std::string count = file_size_ ? std::to_string(*file_size_ - offset()) + " " : "";
    throw FileError(path_, count + "bytes after the gzip data at byte " + std::to_string(offset()) +
                               ": neither the end of the file nor another gzip member (a damaged or padded file?)");
  }
  if (inflateReset(&z_) != Z_OK) throw FileError(path_, "cannot restart decompressing");
  in_member_ = true;
  return true;
}

size_t GzipOrPlainFile::read_gzip(uint8_t* dst, size_t n) {
  size_t got = 0;
  while (got < n) {
    if (!in_member_ && !start_member()) break;
    if (z_.avail_in == 0 && !fill()) throw FileError(path_, "gzip data ends early (file cut short?)");
    // avail_out is a uInt: at most 1 GiB per call.
    z_.next_out = dst + got;
    z_.avail_out = uInt(std::min<size_t>(n - got, size_t{1} << 30));
    const uInt room = z_.avail_out;
    const int result = inflate(&z_, Z_NO_FLUSH);
    got += room - z_.avail_out;
    if (result == Z_STREAM_END) {
      in_member_ = false;
    } else if (result == Z_MEM_ERROR) {
      throw FileError(path_, "out of memory while decompressing");
    } else if (result != Z_OK) {
      throw FileError(path_, std::string("corrupt gzip data: ") + (z_.msg ? z_.msg : "unknown zlib error"));
    }
  }
  return got;
}

}  // namespace cudamlp
