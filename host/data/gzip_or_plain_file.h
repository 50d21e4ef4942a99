// A file read as its bytes or, when it starts with gzip's magic (1f 8b), as the bytes its gzip data
// decompress to: the IDX readers take MNIST's files either way, deciding by content, not by name.
//
// Like gzip(1), a file of several gzip members reads as their concatenation (RFC 1952: a gzip file is a
// series of members). Unlike zlib's gzread, which drops whatever else follows a member without a word,
// anything after the last member (junk, zero padding, a cut-off member) is a FileError: gzip itself only
// warns about it ("trailing garbage ignored"), and a file with more in it than its data is damaged.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cudamlp {

class GzipOrPlainFile {
 public:
  // Opens path; FileError naming it when it is a folder ("is a folder, not <what>") or cannot be opened.
  GzipOrPlainFile(const std::string& path, const std::string& what);
  ~GzipOrPlainFile();
  GzipOrPlainFile(const GzipOrPlainFile&) = delete;
  GzipOrPlainFile& operator=(const GzipOrPlainFile&) = delete;

  // Reads up to n bytes into dst; returns fewer only at the end of the data. FileError naming the file
  // on a read error and on damaged gzip data: corrupt, cut short, or followed by other bytes.
  size_t read(void* dst, size_t n);

  // For a plain regular file, the bytes not read yet: what a header's claim can be checked against
  // before reading. nullopt for gzip data, whose size only decompressing tells.
  std::optional<uint64_t> plain_bytes_left() const;

 private:
  bool fill();  // reads more of the file after the input not consumed yet; false at its end
  size_t read_plain(uint8_t* dst, size_t n);
  size_t read_gzip(uint8_t* dst, size_t n);
  bool start_member();  // at a member's end: false when the file ends there, true when another starts
  uint64_t offset() const { return file_read_ - z_.avail_in; }  // bytes of the file consumed

  std::string path_;
  int fd_ = -1;
  std::optional<uint64_t> file_size_;  // regular files only
  std::vector<uint8_t> input_;         // the file's bytes not consumed yet: z_.next_in, z_.avail_in
  uint64_t file_read_ = 0;             // bytes read from the file so far
  z_stream z_{};
  bool gzip_ = false;
  bool in_member_ = false;  // inside a gzip member: its end marker has not come yet
};

}  // namespace cudamlp
