// Shared test utilities; see test_helpers.h.
#include "test_helpers.h"

#include "cudamlp/errors.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace cudamlp::testing {

using cudamlp::FileError;
namespace fs = std::filesystem;

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() /
          ("cudamlp-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
  fs::remove_all(path_, ignored);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("test could not write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("test could not read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_gzip_file(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  if (!file) throw std::runtime_error("test could not open " + path);
  const int written = gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
  if (written != static_cast<int>(bytes.size())) throw std::runtime_error("test could not gzip " + path);
}

std::string be32(uint32_t value) {
  std::string bytes(4, '\0');
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>((value >> (24 - 8 * i)) & 0xFF);
  return bytes;
}

std::string idx_images(uint32_t n, uint32_t rows, uint32_t cols, const std::vector<uint8_t>& pixels) {
  std::string bytes = be32(0x00000803) + be32(n) + be32(rows) + be32(cols);
  bytes.append(pixels.begin(), pixels.end());
  return bytes;
}

std::string idx_labels(const std::vector<uint8_t>& labels) {
  std::string bytes = be32(0x00000801) + be32(static_cast<uint32_t>(labels.size()));
  bytes.append(labels.begin(), labels.end());
  return bytes;
}

std::string npy_bytes(const std::string& descr, const std::string& shape, const std::string& data, bool fortran_order,
                      int major) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran_order ? "True" : "False") +
                       ", 'shape': " + shape + ", }";
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += char(major);
  bytes += char(0);
  for (size_t i = 0; i < prefix - 8; ++i) bytes += char((header.size() >> (8 * i)) & 0xFF);
  return bytes + header + data;
}

::testing::AssertionResult throws_file_error(const std::function<void()>& load, const std::string& path,
                                             const std::string& problem) {
  try {
    load();
  } catch (const FileError& error) {
    const std::string message = error.what();
    if (message.find(path) == std::string::npos)
      return ::testing::AssertionFailure() << "message does not name " << path << ": " << message;
    if (message.find(problem) == std::string::npos)
      return ::testing::AssertionFailure() << "message does not say '" << problem << "': " << message;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& error) {
    return ::testing::AssertionFailure() << "threw something other than FileError: " << error.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

namespace {

// The length of the valid UTF-8 sequence at the start of text, or 0 (the same rules as the library's
// escape_bytes, written again here so that the test does not trust the code it checks).
size_t utf8_length(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  if (lead < 0xC2 || lead > 0xF4 || text.size() < length) return 0;
  const uint32_t min = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
  uint32_t code = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code = code << 6 | (byte(i) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

}  // namespace

::testing::AssertionResult is_short_printable_line(const std::string& text) {
  std::string line = text;
  if (!line.empty() && line.back() == '\n') line.pop_back();  // stderr's own line end
  if (line.size() > kMaxMessageBytes)
    return ::testing::AssertionFailure() << line.size() << " bytes, more than " << kMaxMessageBytes << ": "
                                         << line.substr(0, 200) << "...";
  for (size_t at = 0; at < line.size();) {
    const size_t length = utf8_length(std::string_view(line).substr(at));
    const auto lead = static_cast<unsigned char>(line[at]);
    if (length == 0)
      return ::testing::AssertionFailure() << "byte " << at << " (0x" << std::hex << int(lead)
                                           << ") is not valid UTF-8: " << line;
    if (length == 1 && (lead < 0x20 || lead == 0x7F))
      return ::testing::AssertionFailure() << "byte " << at << " is a control character: " << line;
    at += length;
  }
  return ::testing::AssertionSuccess();
}

std::string error_message(const std::function<void()>& load) {
  try {
    load();
  } catch (const cudamlp::Error& error) {
    return error.what();  // a C string: what the command line prints
  } catch (const std::exception& error) {
    ADD_FAILURE() << "threw something other than cudamlp::Error: " << error.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

CommandResult run_cli(const std::vector<std::string>& args, const std::string& stdin_text) {
  return run_program(CUDAMLP_CLI, args, stdin_text);
}

CommandResult run_program(const std::string& program, const std::vector<std::string>& args,
                          const std::string& stdin_text) {
  TempDir io;
  const std::string in_path = io.file("stdin"), out_path = io.file("stdout"), err_path = io.file("stderr");
  write_file(in_path, stdin_text);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Child: redirect the three streams to files and exec the binary.
    if (!freopen(in_path.c_str(), "rb", stdin) || !freopen(out_path.c_str(), "wb", stdout) ||
        !freopen(err_path.c_str(), "wb", stderr))
      _exit(127);
    std::vector<char*> argv;
    std::string name = program;
    argv.push_back(name.data());
    std::vector<std::string> copies = args;
    for (auto& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execvp(name.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.max_rss_bytes = static_cast<long long>(usage.ru_maxrss) * 1024;  // Linux counts it in KiB
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  return result;
}

std::string find_in_path(const std::vector<std::string>& names) {
  const char* path = std::getenv("PATH");
  const std::string folders = path ? path : "/usr/bin:/bin";
  for (const std::string& name : names) {
    size_t begin = 0;
    while (begin <= folders.size()) {
      const size_t end = std::min(folders.find(':', begin), folders.size());
      const std::string candidate = folders.substr(begin, end - begin) + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
      begin = end + 1;
    }
  }
  return {};
}

std::string find_chromium() {
  if (const char* chosen = std::getenv("CUDAMLP_CHROMIUM")) return chosen;
  return find_in_path({"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"});
}

}  // namespace cudamlp::testing
