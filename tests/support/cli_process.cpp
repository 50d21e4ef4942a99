// Background cudamlp processes for tests; see cli_process.h.
#include "cli_process.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <thread>

namespace cudamlp::testing {

namespace {

constexpr uid_t kNobody = 65534;

}  // namespace

CliProcess::CliProcess(const std::vector<std::string>& args, const ProcessLimits& limits, const std::string& program_name) {
  const std::string out_path = io_.file("stdout"), err_path = io_.file("stderr");
  write_file(out_path, "");  // there before the child runs, for out_so_far()
  write_file(err_path, "");
  std::vector<std::string> copies = args;
  std::string program = program_name.empty() ? std::string(CUDAMLP_CLI) : program_name;
  std::vector<char*> argv = {program.data()};
  for (std::string& arg : copies) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ != 0) return;
  // Child: only async-signal-safe calls until exec.
  const int in = open("/dev/null", O_RDONLY);
  const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
  // A test runner may have blocked or ignored these; the child must see them as a shell would.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  // As after `ulimit -f` in a shell: a write past the limit raises SIGXFSZ, whose default action kills
  // the program; cudamlp must ignore it itself to report EFBIG.
  signal(SIGXFSZ, SIG_DFL);
  if (limits.max_file_bytes >= 0) {
    const rlimit limit{rlim_t(limits.max_file_bytes), rlim_t(limits.max_file_bytes)};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(127);
  }
  if (limits.max_address_space_bytes >= 0) {
    const rlimit limit{rlim_t(limits.max_address_space_bytes), rlim_t(limits.max_address_space_bytes)};
    if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(127);
  }
  if (limits.as_nobody && geteuid() == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(127);
  }
  execvp(program.c_str(), argv.data());
  _exit(127);
}

CliProcess::~CliProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void CliProcess::send(int signal_number) {
  if (pid_ > 0) kill(pid_, signal_number);
}

CommandResult CliProcess::wait() {
  int status = 0;
  rusage usage{};
  if (pid_ > 0 && wait4(pid_, &status, 0, &usage) != pid_) throw std::runtime_error("wait4 failed");
  pid_ = -1;
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.max_rss_bytes = static_cast<long long>(usage.ru_maxrss) * 1024;  // Linux counts it in KiB
  result.out = read_file(io_.file("stdout"));
  result.err = read_file(io_.file("stderr"));
  return result;
}

std::string CliProcess::out_so_far() const { return read_file(io_.file("stdout")); }

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool can_run_as_nobody() {
  if (geteuid() != 0) return false;
  // The binary and every folder above it must be readable and searchable by others.
  namespace fs = std::filesystem;
  for (fs::path p = fs::path(CUDAMLP_CLI); !p.empty() && p != p.root_path(); p = p.parent_path()) {
    std::error_code ec;
    const fs::perms perms = fs::status(p, ec).permissions();
    if (ec || (perms & fs::perms::others_exec) == fs::perms::none) return false;
  }
  return true;
}

}  // namespace cudamlp::testing
