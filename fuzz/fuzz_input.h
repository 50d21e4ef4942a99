// What every cudamlp fuzz target shares. The readers take a path, so each input is written to an
// in-memory file (memfd) and read back through /proc/self/fd/N: no disk I/O per execution.
//
// The property checked, beyond the sanitizers' (memory errors, undefined behaviour, leaks): a reader
// rejects bad input only by throwing cudamlp::Error (FileError, UsageError) with a message. Any other
// exception (std::bad_alloc from a size taken on trust, std::out_of_range, a JSON library exception)
// escapes LLVMFuzzerTestOneInput, std::terminate aborts, and libFuzzer reports it as a crash.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "cudamlp/errors.h"

namespace cudamlp::fuzz {

class InputFile {
 public:
  InputFile() : fd_(memfd_create("cudamlp-fuzz-input", MFD_CLOEXEC)) {
    if (fd_ < 0) std::abort();
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  // Replaces the file's bytes; returns its path.
  const std::string& write(const uint8_t* data, size_t size) {
    if (ftruncate(fd_, 0) != 0) std::abort();
    size_t done = 0;
    while (done < size) {
      const ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

// Runs read(path) on the input; cudamlp::Error with a non-empty message is a proper rejection.
template <typename Read>
int read_input(const uint8_t* data, size_t size, Read&& read) {
  static InputFile file;
  const std::string& path = file.write(data, size);
  try {
    read(path);
  } catch (const cudamlp::Error& e) {
    if (e.what()[0] == '\0') std::abort();  // an error must say what is wrong
  }
  return 0;
}

}  // namespace cudamlp::fuzz
