// Shared test utilities: temporary folders, file writing, and running the cudamlp binary.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace cudamlp::testing {

// Built with AddressSanitizer or ThreadSanitizer. Sanitizers reserve terabytes of address space for
// their shadow memory (a process under them cannot run with an address-space limit), and the SIMT
// emulator under them runs 10-30 times slower.
inline constexpr bool kUnderSanitizer =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

// Under a sanitizer the op tests skip shapes above this many multiply-adds: the sanitizer looks for
// memory and threading errors, which the small and awkward shapes (1, odd sizes, partial tiles) reach
// as well; the plain CI build runs every shape.
inline constexpr int64_t kSanitizerWorkBound = int64_t{1} << 21;
inline bool too_slow_under_sanitizer(int64_t multiply_adds) {
  return kUnderSanitizer && multiply_adds > kSanitizerWorkBound;
}

// A fresh folder under the system temp dir, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);
// gzip-compresses bytes into path (zlib's gz* API).
void write_gzip_file(const std::string& path, const std::string& bytes);

// Big-endian uint32, as IDX headers store their fields.
std::string be32(uint32_t value);
// A complete IDX images file [n, rows, cols] and labels file [n] with the given contents.
std::string idx_images(uint32_t n, uint32_t rows, uint32_t cols, const std::vector<uint8_t>& pixels);
std::string idx_labels(const std::vector<uint8_t>& labels);

// A .npy file as numpy.save writes it: magic, version major.0, header length (u16 for 1.0, u32 for 2.0
// and 3.0), the dict {'descr': descr, 'fortran_order': False or True, 'shape': shape} padded with spaces
// to a multiple of 64 bytes and a newline, then data as given. shape is Python's text: "(3, 4)", "(5,)".
std::string npy_bytes(const std::string& descr, const std::string& shape, const std::string& data,
                      bool fortran_order = false, int major = 1);
// The bytes of values as they lie in memory (little-endian here): .npy data of their type.
template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// Passes when `load` throws cudamlp::FileError whose message names `path` and contains `problem`; fails
// on any other outcome (no throw, another exception type, a message missing either).
::testing::AssertionResult throws_file_error(const std::function<void()>& load, const std::string& path,
                                             const std::string& problem);

// The longest error message the tests accept for one that quotes a file's content: two paths of a
// temporary folder, the problem, and an excerpt, with room to spare; a message that quoted a whole
// 7,000-character CSV line or a 1 KB JSON token is far beyond it.
inline constexpr size_t kMaxMessageBytes = 400;

// Passes when text is what a user should see as an error: one line of at most kMaxMessageBytes bytes,
// valid UTF-8 without control characters (a NUL, an escape sequence or a stray byte of another encoding
// would print as garbage or cut the message short).
::testing::AssertionResult is_short_printable_line(const std::string& text);

// The message of the cudamlp::Error that load throws, as the command line prints it: what() as a C
// string, so it ends at a NUL the message may hold. Fails the test (and returns "") on any other outcome.
std::string error_message(const std::function<void()>& load);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  long long max_rss_bytes = -1;  // the process's peak resident memory (wait4's ru_maxrss)
};
// Runs the built cudamlp binary with args (each passed as one argument, no shell), optional stdin text.
CommandResult run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "");
// The same for any program, looked up in PATH unless it names a path.
CommandResult run_program(const std::string& program, const std::vector<std::string>& args,
                          const std::string& stdin_text = "");

// The first of names found as an executable in PATH, as a full path; "" when none is.
std::string find_in_path(const std::vector<std::string>& names);
// Chromium for the browser tests: $CUDAMLP_CHROMIUM, else chromium-headless-shell, chromium, ... in PATH.
std::string find_chromium();

}  // namespace cudamlp::testing
