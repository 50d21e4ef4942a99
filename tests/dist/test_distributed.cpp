// Data-parallel training under a real mpirun (Open MPI): `mpirun -np N cudamlp train --distributed`.
// The runs use a small synthetic data set of 203 samples in batches of 20, so the last batch (3 samples)
// leaves one of 4 ranks an empty shard. Skipped, with the reason, in a build without MPI or without
// mpirun on PATH.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cudamlp/communicator.h"
#include <nlohmann/json.hpp>

#include "cli_process.h"
#include "cudamlp/model_file.h"
#include "test_helpers.h"

namespace cudamlp {
namespace {

using testing::CommandResult;
using testing::TempDir;

// The largest difference between two models' values, over every layer.
float max_difference(const Model& a, const Model& b) {
  EXPECT_TRUE(a.network == b.network);
  if (!(a.network == b.network)) return INFINITY;
  float worst = 0.0f;
  for (size_t i = 0; i < a.parameters.size(); ++i) worst = std::max(worst, std::abs(a.parameters[i] - b.parameters[i]));
  return worst;
}

int occurrences(const std::string& text, const std::string& part) {
  int count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// The fast CPU backend when this build has it; the reference otherwise.
#if CUDAMLP_HAVE_CPU_BACKEND
const std::string kCpu = "cpu";
#else
const std::string kCpu = "reference";
#endif

bool have_mpirun() { return std::system("command -v mpirun >/dev/null 2>&1") == 0; }

class Distributed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!distributed_available()) GTEST_SKIP() << "this build has no MPI (configure with CUDAMLP_MPI=ON)";
    if (!have_mpirun()) GTEST_SKIP() << "mpirun is not on PATH (Debian: openmpi-bin; scripts/setup.sh installs it)";
    // CI runs as root, which Open MPI refuses unless told that it is meant.
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    // Under ASan (the asan preset) the ranks keep AddressSanitizer's checks, but not LeakSanitizer's:
    // Open MPI's plugins keep allocations until exit and are unloaded by then, so their frames have no
    // names to suppress. Leaks of cudamlp's own code are checked by the CLI tests without MPI.
    const char* asan = std::getenv("ASAN_OPTIONS");
    if (asan != nullptr && !std::string(asan).ends_with(":detect_leaks=0"))
      setenv("ASAN_OPTIONS", (std::string(asan) + ":detect_leaks=0").c_str(), 1);
    write_data(dir_.file("data"), 0);
  }

  // A learnable MNIST-named folder: 203 (or train_samples) training and 31 test samples of 7x7 pixels in 4 classes, the
  // class a function of the pixels. `variant` changes one pixel (for the different-data test).
  static void write_data(const std::string& folder, int variant, uint32_t train_samples = 203) {
    std::filesystem::create_directories(folder);
    for (const auto& [prefix, n] : {std::pair{"train", train_samples}, std::pair{"t10k", 31u}}) {
      std::vector<uint8_t> pixels(size_t(n) * 49), labels(n);
      uint32_t state = prefix == std::string("train") ? 12345u : 777u;
      for (uint32_t s = 0; s < n; ++s) {
        int sum = 0;
        for (int p = 0; p < 49; ++p) {
          state = state * 1664525u + 1013904223u;
          pixels[size_t(s) * 49 + size_t(p)] = uint8_t(state >> 24);
          if (p < 7) sum += pixels[size_t(s) * 49 + size_t(p)];
        }
        labels[s] = uint8_t((sum / 200) % 4);
      }
      if (variant != 0) pixels[5] = uint8_t(pixels[5] + 1);
      testing::write_file(folder + "/" + prefix + "-images-idx3-ubyte", testing::idx_images(n, 7, 7, pixels));
      testing::write_file(folder + "/" + prefix + "-labels-idx1-ubyte", testing::idx_labels(labels));
    }
  }

  // `cudamlp train` on the synthetic data with the shared settings, then `extra`.
  std::vector<std::string> train_args(const std::vector<std::string>& extra, const std::string& epochs = "2") const {
    std::vector<std::string> args = {"train", "--data", dir_.file("data"), "--hidden", "16,8", "--epochs", epochs,
                                     "--batch", "20", "--lr", "0.05", "--momentum", "0.9", "--threads", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // mpirun -np ranks [--oversubscribe] cudamlp ARGS.
  static CommandResult mpirun(int ranks, const std::vector<std::string>& args) {
    std::vector<std::string> line = {"-np", std::to_string(ranks), "--oversubscribe", CUDAMLP_CLI};
    line.insert(line.end(), args.begin(), args.end());
    return testing::run_program("mpirun", line);
  }

  TempDir dir_;
};

TEST_F(Distributed, RanksEndWithTheWeightsOfOneProcessOnTheCpuBackends) {
  for (const std::string& device : {std::string("reference"), kCpu}) {
    const std::string alone = dir_.file(device + "-1.safetensors");
    const CommandResult one = testing::run_cli(train_args({"--device", device, "--out", alone}));
    ASSERT_EQ(one.exit_code, 0) << one.err;
    for (const int ranks : {2, 4}) {
      const std::string out = dir_.file(device + "-" + std::to_string(ranks) + ".safetensors");
      const CommandResult run = mpirun(ranks, train_args({"--device", device, "--out", out, "--distributed"}));
      ASSERT_EQ(run.exit_code, 0) << run.err;
      EXPECT_NE(run.out.find("data-parallel over " + std::to_string(ranks) + " ranks"), std::string::npos) << run.out;
      // The same steps on the same global batches: only the order of the float sums differs. 22 steps
      // with momentum 0.9 on weights of magnitude ~1 stay within 1e-5 (seen: <= 4e-7).
      EXPECT_LT(max_difference(load_model(alone), load_model(out)), 1e-5f) << device << ", " << ranks << " ranks";
    }
  }
}

// The gpu backend's data-parallel step (device-side shard gather, cursor, metrics, the sum through its
// DeviceAllReduce) on the emulator; with 4 ranks the last batch of 3 leaves one rank an empty shard.
TEST_F(Distributed, RanksOfTheEmulatedGpuBackendEndLikeOneReferenceProcess) {
  const std::string alone = dir_.file("reference.safetensors");
  ASSERT_EQ(testing::run_cli(train_args({"--device", "reference", "--out", alone}, "1")).exit_code, 0);
  for (const int ranks : {2, 4}) {
    const std::string out = dir_.file("gpu-emulated-" + std::to_string(ranks) + ".safetensors");
    const CommandResult run = mpirun(ranks, train_args({"--device", "gpu-emulated", "--out", out, "--distributed"}, "1"));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_LT(max_difference(load_model(alone), load_model(out)), 1e-5f) << ranks << " ranks";
  }
}

// Dropout's masks are drawn by each sample's position in the epoch's order (the shard's begin included),
// so any rank count draws what one process draws: 3 ranks split each batch of 20 as 7 + 7 + 6, 4 ranks
// leave the last batch's fourth shard empty; the emulated GPU reads the position from its device cursor.
TEST_F(Distributed, WithDropoutRanksEndWithTheWeightsOfOneProcess) {
  const std::string alone = dir_.file("dropout-1.safetensors");
  const CommandResult one = testing::run_cli(train_args({"--device", kCpu, "--dropout", "0.3", "--out", alone}, "1"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  struct Run {
    std::string device;
    int ranks;
  };
  for (const Run& r : {Run{kCpu, 3}, Run{kCpu, 4}, Run{"gpu-emulated", 2}}) {
    const std::string out = dir_.file("dropout-" + r.device + "-" + std::to_string(r.ranks) + ".safetensors");
    const CommandResult run =
        mpirun(r.ranks, train_args({"--device", r.device, "--dropout", "0.3", "--out", out, "--distributed"}, "1"));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    // As without dropout: only the order of the float sums differs (a different mask moves the weights
    // by the learning rate's order, 1e-2).
    EXPECT_LT(max_difference(load_model(alone), load_model(out)), 1e-5f) << r.device << ", " << r.ranks << " ranks";
  }
  // The comparison is not vacuous: without dropout the same run ends elsewhere.
  const std::string plain = dir_.file("plain.safetensors");
  ASSERT_EQ(testing::run_cli(train_args({"--device", kCpu, "--out", plain}, "1")).exit_code, 0);
  EXPECT_GT(max_difference(load_model(alone), load_model(plain)), 1e-3f);
}

TEST_F(Distributed, OnlyRankZeroPrintsAndWritesFiles) {
  const CommandResult run = mpirun(3, train_args({"--device", kCpu, "--distributed", "--out", dir_.file("m.safetensors"),
                                                  "--log", dir_.file("run.json"), "--checkpoint",
                                                  dir_.file("c.safetensors"), "--json"}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // One JSON line per epoch and one at the end: not one per rank.
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 3) << run.out;
  EXPECT_EQ(occurrences(run.out, "\"event\":\"epoch\""), 2) << run.out;
  EXPECT_EQ(occurrences(run.out, "\"event\":\"done\""), 1) << run.out;
  EXPECT_EQ(occurrences(run.err, "data-parallel over 3 ranks"), 1) << run.err;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
    if (entry.is_regular_file()) files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"c.safetensors", "m.safetensors", "run.json"}));
}

TEST_F(Distributed, ResumingACheckpointOnTheSameRanksEndsBitwiseLikeTheUninterruptedRun) {
  const std::string straight = dir_.file("straight.safetensors");
  ASSERT_EQ(mpirun(2, train_args({"--device", kCpu, "--distributed", "--out", straight})).exit_code, 0);
  const std::string checkpoint = dir_.file("c.safetensors"), resumed = dir_.file("resumed.safetensors");
  const CommandResult first = mpirun(2, train_args({"--device", kCpu, "--distributed", "--checkpoint", checkpoint,
                                                    "--checkpoint-every", "3steps"}, "1"));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const CommandResult second = mpirun(2, train_args({"--device", kCpu, "--distributed", "--resume", checkpoint,
                                                     "--out", resumed}));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(testing::read_file(straight), testing::read_file(resumed));
}

TEST_F(Distributed, CtrlCOnMpirunStopsEveryRankAtOneStepAndRankZeroSavesACheckpoint) {
  // Epochs of 40 steps of a few ms each, so that few epoch lines are on their way when mpirun passes the
  // signal on: it stops reading the ranks' output then, and a rank blocked writing to a full pipe would
  // not stop in time. (Tiny steps would also make each epoch hundreds of collectives, slow when the
  // ranks share their cores with other tests.)
  write_data(dir_.file("data"), 0, 8000);
  const std::string out = dir_.file("m.safetensors"), checkpoint = dir_.file("m.ckpt.safetensors");
  const auto args = [&](const std::string& epochs) {
    return std::vector<std::string>{"train", "--data", dir_.file("data"), "--hidden", "256,256", "--batch", "200",
                                    "--epochs", epochs, "--threads", "1", "--device", kCpu, "--distributed", "--out",
                                    out};
  };
  std::vector<std::string> line = {"-np", "2", "--oversubscribe", CUDAMLP_CLI};
  for (const std::string& arg : args("100000")) line.push_back(arg);
  testing::CliProcess run(line, {}, "mpirun");
  ASSERT_TRUE(testing::wait_until([&] { return run.out_so_far().find("epoch 1/") != std::string::npos; }));
  run.send(SIGINT);  // mpirun passes it on to the ranks as SIGTERM
  const CommandResult result = run.wait();
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(occurrences(result.err, "stopping after the current step"), 1) << result.err;
  EXPECT_NE(result.err.find("checkpoint saved to " + checkpoint), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("(under mpirun -np 2, as before)"), std::string::npos) << result.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  // The checkpoint holds a consistent state: it resumes on two ranks, to the end of the next epoch.
  const size_t at = result.err.find("(epoch ");
  ASSERT_NE(at, std::string::npos) << result.err;
  const int epoch = std::stoi(result.err.substr(at + 7));  // the epoch in progress, 1-based
  std::vector<std::string> resume = args(std::to_string(epoch + 1));
  resume.insert(resume.end(), {"--resume", checkpoint});
  const CommandResult resumed = mpirun(2, resume);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(std::filesystem::exists(out));
}

TEST_F(Distributed, RanksOnDifferentDataAreRefused) {
  write_data(dir_.file("other"), 1);
  std::vector<std::string> line = {"-np", "1", CUDAMLP_CLI};
  for (const std::string& arg : train_args({"--distributed"})) line.push_back(arg);
  line.push_back(":");
  line.insert(line.end(), {"-np", "1", CUDAMLP_CLI});
  std::vector<std::string> other = train_args({"--distributed"});
  other[2] = dir_.file("other");  // --data
  line.insert(line.end(), other.begin(), other.end());
  const CommandResult run = testing::run_program("mpirun", line);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("the training data differs between ranks: rank 1's is not rank 0's"), std::string::npos)
      << run.err;
}

// Rank 1 runs under `timeout -s SIGNAL 2`, so that after 2 s of a long run it is killed or stopped.
CommandResult run_with_a_failing_rank(const std::vector<std::string>& train, const std::string& signal,
                                      double& seconds) {
  std::string command = CUDAMLP_CLI;
  for (const std::string& arg : train) command += " '" + arg + "'";
  const std::string script = "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then exec timeout -s " + signal + " 2 " +
                             command + "; fi; exec " + command;
  const auto start = std::chrono::steady_clock::now();
  CommandResult run = testing::run_program("mpirun", {"-np", "2", "--oversubscribe", "sh", "-c", script});
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

TEST_F(Distributed, ARankThatDiesEndsTheRun) {
  double seconds = 0;
  const CommandResult run = run_with_a_failing_rank(
      train_args({"--device", kCpu, "--distributed", "--out", dir_.file("never.safetensors")}, "100000"),
      "KILL", seconds);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_LT(seconds, 60.0) << run.err;
  // mpirun names the rank and how it died, and stops the other.
  EXPECT_NE(run.err.find("process rank 1"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("signal 9"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("never.safetensors")));
}

TEST_F(Distributed, ARankThatHangsMakesTheOthersGiveUpAfterTheTimeout) {
  double seconds = 0;
  const CommandResult run = run_with_a_failing_rank(
      train_args({"--device", kCpu, "--distributed", "--dist-timeout", "3", "--out", dir_.file("never.safetensors")},
                 "100000"),
      "STOP", seconds);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_LT(seconds, 60.0) << run.err;
  EXPECT_NE(run.err.find("rank 0 of 2: waited 3 s for the other ranks"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("never.safetensors")));
}

TEST_F(Distributed, BenchReportsScalingEfficiencyPerRankCount) {
  for (const std::string scaling : {"weak", "strong"}) {
    const std::string json = dir_.file(scaling + ".json");
    const CommandResult run = mpirun(3, {"bench", "--distributed", "--backends", kCpu, "--threads", "1", "--budget",
                                         "0.2", "--repeats", "3", "--networks", "49-16-4", "--batches", "30",
                                         "--scaling", scaling, "--json", json});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("efficiency"), std::string::npos) << run.out;
    const nlohmann::json report = nlohmann::json::parse(testing::read_file(json));
    EXPECT_EQ(report["ranks"], 3);
    EXPECT_EQ(report["scaling"], scaling);
    const nlohmann::json& rows = report["results"];
    ASSERT_EQ(rows.size(), 3u) << rows.dump();  // 1, 2 and 3 ranks
    for (size_t i = 0; i < rows.size(); ++i) {
      const int ranks = rows[i]["ranks"];
      EXPECT_EQ(ranks, std::vector<int>({1, 2, 3})[i]);
      EXPECT_EQ(rows[i]["global_batch"], scaling == "weak" ? 30 * ranks : 30);
      const double speedup = rows[i]["speedup"], efficiency = rows[i]["efficiency"];
      EXPECT_GT(double(rows[i]["samples_per_second"]), 0.0);
      EXPECT_NEAR(efficiency, speedup / ranks, 1e-12);
      if (ranks == 1) {
        EXPECT_EQ(speedup, 1.0);
      }
    }
  }
}

TEST_F(Distributed, FlagErrorsAreUsageErrors) {
  const CommandResult run = testing::run_cli(train_args({"--distributed", "--dist-timeout", "0"}));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("--dist-timeout"), std::string::npos) << run.err;
  const CommandResult bench = testing::run_cli({"bench", "--scaling", "strong"});
  EXPECT_EQ(bench.exit_code, 2);
  EXPECT_NE(bench.err.find("--scaling needs --distributed"), std::string::npos) << bench.err;
}

}  // namespace
}  // namespace cudamlp
