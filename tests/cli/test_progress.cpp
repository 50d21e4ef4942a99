// Training progress: the trainer's on_step hook, the progress line's text, and `cudamlp train` on a
// real pseudo-terminal: a bar redrawn in place on a terminal stderr, plain epoch lines anywhere else,
// and nothing but JSON on stdout with --json.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "progress.h"
#include "cudamlp/model.h"
#include "cudamlp/trainer.h"
#include "reference_backend.h"
#include "test_helpers.h"
#include "test_pictures.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

// `cudamlp args...` with stderr on a pseudo-terminal of the given width; stdout to a file as usual.
struct TerminalRun {
  int exit_code = -1;
  std::string out;       // stdout
  std::string terminal;  // everything written to the terminal (stderr)
};

TerminalRun run_cli_on_terminal(const std::vector<std::string>& args, int columns = 120) {
  int master = -1, slave = -1;
  winsize size{};
  size.ws_col = static_cast<unsigned short>(columns);
  size.ws_row = 40;
  if (openpty(&master, &slave, nullptr, nullptr, &size) != 0) throw std::runtime_error("openpty failed");
  TempDir io;
  const std::string out_path = io.file("stdout");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    close(master);
    if (dup2(slave, STDERR_FILENO) < 0 || !freopen(out_path.c_str(), "wb", stdout) ||
        !freopen("/dev/null", "rb", stdin))
      _exit(127);
    setenv("TERM", "xterm", 1);
    std::vector<std::string> copies = args;
    std::string program = CUDAMLP_CLI;
    std::vector<char*> argv = {program.data()};
    for (std::string& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  close(slave);
  TerminalRun run;
  char buffer[4096];
  for (;;) {  // until the child's end closes the terminal (read fails with EIO)
    const ssize_t n = read(master, buffer, sizeof buffer);
    if (n <= 0) break;
    run.terminal.append(buffer, size_t(n));
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = read_file(out_path);
  return run;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(TrainProgress, OnStepFollowsEveryStepWhenNotThrottled) {
  Dataset data;
  data.count = 50;
  data.rows = 1;
  data.cols = 4;
  for (int i = 0; i < 50 * 4; ++i) data.pixels.push_back(uint8_t(i * 37 % 256));
  for (int i = 0; i < 50; ++i) data.labels.push_back(uint8_t(i % 3));
  data.num_classes = 3;
  ReferenceBackend backend;
  backend.set_model(make_mlp(std::vector<int>{4, 5, 3}, 1), {});
  TrainOptions options;
  options.epochs = 2;
  options.batch = 16;
  options.progress_every_seconds = 0;
  std::vector<StepProgress> seen;
  std::vector<EpochReport> epochs;
  TrainHooks hooks;
  hooks.on_step = [&](const StepProgress& p) { seen.push_back(p); };
  hooks.on_epoch = [&](const EpochReport& r) { epochs.push_back(r); };
  train(backend, data, nullptr, options, hooks);

  ASSERT_EQ(seen.size(), 8u);  // 2 epochs of 4 batches (16, 16, 16, 2)
  const int64_t expected_sample[4] = {16, 32, 48, 50};
  for (size_t i = 0; i < seen.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(seen[i].epoch, int64_t(i / 4));
    EXPECT_EQ(seen[i].sample, expected_sample[i % 4]);
    EXPECT_EQ(seen[i].samples, 50);
    EXPECT_EQ(seen[i].step, int64_t(i + 1));
    EXPECT_GT(seen[i].loss, 0.0);
  }
  // The last step's running loss is the epoch's loss.
  EXPECT_NEAR(seen[3].loss, epochs[0].train_loss, 1e-12);
  EXPECT_NEAR(seen[7].loss, epochs[1].train_loss, 1e-12);
}

TEST(TrainProgress, OnStepIsThrottled) {
  Dataset data;
  data.count = 64;
  data.rows = 1;
  data.cols = 2;
  data.pixels.assign(128, 7);
  data.labels.assign(64, 1);
  data.num_classes = 2;
  ReferenceBackend backend;
  backend.set_model(make_mlp(std::vector<int>{2, 2}, 1), {});
  TrainOptions options;
  options.epochs = 3;
  options.batch = 1;
  options.progress_every_seconds = 3600;  // an hour: no call within this test
  int calls = 0;
  TrainHooks hooks;
  hooks.on_step = [&](const StepProgress&) { ++calls; };
  train(backend, data, nullptr, options, hooks);
  EXPECT_EQ(calls, 0);
}

TEST(ProgressLine, ShowsEpochBarCountLossRateAndEta) {
  StepProgress p;
  p.epoch = 1;
  p.sample = 15000;
  p.samples = 60000;
  p.step = 1172;
  p.loss = 0.28173;
  p.samples_per_second = 30000;
  // Left: 45000 of this epoch + 60000 of the third = 105000 samples at 30000/s = 3.5 s.
  EXPECT_DOUBLE_EQ(cli::eta_seconds(p, 3), 3.5);
  const std::string line = cli::progress_line(p, 3, 100, false);
  EXPECT_EQ(line,
            "epoch 2/3 [#######.......................]  15000/60000  loss 0.2817  30000 samples/s  ETA 0:04");
  EXPECT_LE(line.size(), 99u);  // never the last column
}

TEST(ProgressLine, NarrowTerminalsLoseTheExtrasBeforeTheBar) {
  StepProgress p;
  p.sample = 100;
  p.samples = 1000;
  p.loss = 1.5;
  p.samples_per_second = 2000;
  const std::string medium = cli::progress_line(p, 1, 60, false);
  EXPECT_FALSE(contains(medium, "samples/s")) << medium;
  EXPECT_TRUE(contains(medium, "[#")) << medium;
  EXPECT_LE(medium.size(), 59u);
  const std::string narrow = cli::progress_line(p, 1, 30, false);
  EXPECT_FALSE(contains(narrow, "[")) << narrow;
  EXPECT_LE(narrow.size(), 29u);
  EXPECT_TRUE(narrow.starts_with("epoch 1/1")) << narrow;
}

TEST(ProgressLine, ClockText) {
  EXPECT_EQ(cli::clock_text(7.4), "0:07");
  EXPECT_EQ(cli::clock_text(754), "12:34");
  EXPECT_EQ(cli::clock_text(3723), "1:02:03");
  EXPECT_EQ(cli::clock_text(-1), "?");
  StepProgress no_rate;
  no_rate.samples = 10;
  EXPECT_LT(cli::eta_seconds(no_rate, 1), 0);
}

class TrainOnTerminal : public ::testing::Test {
 protected:
  void SetUp() override {
    // Enough work for the reference backend to take a few hundred milliseconds: several bar redraws.
    train_csv = dir.file("train.csv");
    write_file(train_csv, band_digits_csv(4000, true, 5));
  }
  std::vector<std::string> train_args() const {
    return {"train", "--train-csv", train_csv, "--hidden", "128",      "--epochs",
            "2",     "--batch",     "8",       "--device", "reference"};
  }
  TempDir dir;
  std::string train_csv;
};

TEST_F(TrainOnTerminal, DrawsABarOnATerminalAndKeepsStdoutPlain) {
  const TerminalRun run = run_cli_on_terminal(train_args());
  ASSERT_EQ(run.exit_code, 0) << run.terminal;
  // Redrawn in place: carriage return, the bar, erase to the end of the line.
  EXPECT_TRUE(contains(run.terminal, "\repoch 1/2 [")) << run.terminal;
  EXPECT_TRUE(contains(run.terminal, "samples/s  ETA ")) << run.terminal;
  EXPECT_TRUE(contains(run.terminal, "\033[K")) << run.terminal;
  // The epoch lines go to stdout untouched by the bar.
  EXPECT_TRUE(contains(run.out, "epoch 1/2  train loss")) << run.out;
  EXPECT_TRUE(contains(run.out, "epoch 2/2  train loss")) << run.out;
  EXPECT_FALSE(contains(run.out, "\r")) << run.out;
  EXPECT_FALSE(contains(run.out, "\033")) << run.out;
  // Erased at the end: the terminal's last bytes are the erase sequence, not a half bar.
  EXPECT_TRUE(run.terminal.ends_with("\r\033[K")) << run.terminal;
}

TEST_F(TrainOnTerminal, JsonModeStillPrintsOnlyJsonOnStdout) {
  std::vector<std::string> args = train_args();
  args.push_back("--json");
  const TerminalRun run = run_cli_on_terminal(args);
  ASSERT_EQ(run.exit_code, 0) << run.terminal;
  EXPECT_TRUE(contains(run.terminal, "\repoch 1/2 [")) << run.terminal;
  std::istringstream lines(run.out);
  std::string line;
  int objects = 0;
  while (std::getline(lines, line)) {
    EXPECT_NO_THROW(nlohmann::json::parse(line)) << line;
    ++objects;
  }
  EXPECT_EQ(objects, 3);  // two epochs and "done"
}

TEST_F(TrainOnTerminal, NoBarWhenStderrIsNotATerminal) {
  const CommandResult result = run_cli(train_args());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(contains(result.err, "\r")) << result.err;
  EXPECT_FALSE(contains(result.err, "ETA")) << result.err;
  EXPECT_TRUE(contains(result.out, "epoch 2/2  train loss")) << result.out;
}
