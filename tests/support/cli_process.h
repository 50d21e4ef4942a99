// The cudamlp binary as a background process, for tests that signal or kill a real training run, or
// run it under limits (file size, another user) that only a child process can have.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "test_helpers.h"

namespace cudamlp::testing {

struct ProcessLimits {
  long long max_file_bytes = -1;  // RLIMIT_FSIZE (a write beyond it raises SIGXFSZ, as in a shell); -1: none
  bool as_nobody = false;         // when root: run as user nobody, so file permissions apply
};

class CliProcess {
 public:
  // Starts the built cudamlp (or `program`, looked up in PATH) with args; stdout and stderr go to files
  // read back by wait().
  explicit CliProcess(const std::vector<std::string>& args, const ProcessLimits& limits = {},
                      const std::string& program = "");
  ~CliProcess();  // SIGKILLs and reaps a process still running
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  void send(int signal_number);
  // Waits for the process to end: exit code, or 128 + signal when a signal ended it.
  CommandResult wait();
  // What it has printed so far.
  std::string out_so_far() const;

 private:
  TempDir io_;
  pid_t pid_ = -1;
};

// Polls until done() is true or `timeout` passes; returns done()'s last answer.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(120));

// Whether this process can run children as nobody (it is root) and they can reach the binary.
bool can_run_as_nobody();

}  // namespace cudamlp::testing
