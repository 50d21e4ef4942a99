// Typed errors thrown by the cudamlp library. The library never prints or exits: host/cli turns these
// into a one-line message on stderr and an exit code (UsageError -> 2, everything else -> 1).
#pragma once

#include <stdexcept>
#include <string>

namespace cudamlp {

// Base of every error the library throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The user asked for something that cannot be done as asked: a bad flag value, a device this build
// lacks, inconsistent options. The message names the flag.
class UsageError : public Error {
 public:
  using Error::Error;
};

// A file that cannot be opened, read, parsed or written. The message names the file and the problem.
class FileError : public Error {
 public:
  FileError(const std::string& path, const std::string& problem) : Error(path + ": " + problem), path_(path) {}
  const std::string& path() const { return path_; }  // the file (Python's OSError.filename)

 private:
  std::string path_;
};

}  // namespace cudamlp
