// `cudamlp verify` as users run it: the quick check of every backend passes; a planted bug fails it and
// is named; golden files record, rerun on every backend within tolerance, and name the tensor whose
// stored values were altered; bad golden files (truncated, another version, flags that do not fit, other
// data) are one-line errors. The checks themselves are the backends' tests' (tests/backends/), through
// host/verify/.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <functional>
#include <set>
#include <sstream>

#include "cudamlp/safetensors.h"
#include "golden_file.h"
#include "planted_bug.h"
#include "test_helpers.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

// The default golden run is meant to be committed: well under this.
constexpr uintmax_t kGoldenFileBudgetBytes = 1 << 20;

// Sets an environment variable for the child processes started while it lives.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

int lines(const std::string& text) { return int(std::count(text.begin(), text.end(), '\n')); }

// A golden file recorded with the default run, in its own folder.
class GoldenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const CommandResult recorded = run_cli({"verify", "--record", golden});
    ASSERT_EQ(recorded.exit_code, 0) << recorded.err;
  }
  // `golden` rewritten with `change` applied to its parsed contents, as `name`.
  std::string altered(const std::string& name, const std::function<void(SafetensorsFile&)>& change) const {
    SafetensorsFile file = read_safetensors(golden);
    change(file);
    const std::string path = dir.file(name);
    write_safetensors(path, file);
    return path;
  }
  TempDir dir;
  const std::string golden = dir.file("golden.safetensors");
};

}  // namespace

TEST(Verify, QuickCheckOfEveryBackendPasses) {
  if (kUnderSanitizer) GTEST_SKIP() << "the emulated GPU under ASan: minutes (asan runs the cpu check below)";
  const CommandResult result = run_cli({"verify", "--device", "all", "--quick"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("gpu-emulated custom"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("gpu-emulated cublas"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(" 0 failed"), std::string::npos) << result.out;
}

TEST(Verify, QuickCheckOfTheCpuBackendCoversEveryOpAndStatesItsTolerances) {
  const CommandResult result = run_cli({"verify", "--device", "cpu", "--quick", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream rows(result.out);
  std::set<std::string> ops;
  std::string line, last;
  while (std::getline(rows, line)) {
    const nlohmann::json row = nlohmann::json::parse(line);
    last = line;
    if (!row.contains("op")) continue;
    ops.insert(row["op"].get<std::string>().substr(0, row["op"].get<std::string>().find(' ')));
    EXPECT_FALSE(row["tolerance"].get<std::string>().empty()) << line;
    EXPECT_TRUE(row["passed"].get<bool>()) << line;
  }
  for (const char* op : {"gather_batch", "augment_batch", "dense_forward", "dense_backward_weights",
                         "dense_backward_input", "dropout_forward", "softmax_xent", "optimizer_update", "training"})
    EXPECT_TRUE(ops.count(op)) << op;
  EXPECT_EQ(nlohmann::json::parse(last)["failed"], 0) << last;
}

TEST(Verify, EveryOptimizerCaseIsCheckedQuickly) {
  const CommandResult result = run_cli({"verify", "--device", "cpu", "--quick"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char* name : {"optimizer_update sgd ", "optimizer_update sgd-momentum ", "optimizer_update sgd-nesterov-decay",
                           "optimizer_update adam ", "optimizer_update adam-decay", "optimizer_update adamw"})
    EXPECT_NE(result.out.find(name), std::string::npos) << name;
}

TEST(Verify, APlantedBugFailsTheCheckAndNamesTheOp) {
  if (!verify::planted_bug_built()) GTEST_SKIP() << "configured without CUDAMLP_PLANTED_BUG";
  for (const char* op : {"dense_forward", "dense_backward_weights", "softmax_xent", "optimizer_update", "dropout_forward"}) {
    SCOPED_TRACE(op);
    ScopedEnv bug("CUDAMLP_PLANTED_BUG", op);
    const CommandResult result = run_cli({"verify", "--device", "cpu", "--quick"});
    EXPECT_EQ(result.exit_code, 1) << result.out;
    EXPECT_NE(result.out.find(std::string("FAILED cpu ") + op), std::string::npos) << result.out;
    // and only that op fails
    std::istringstream out(result.out);
    std::string line;
    while (std::getline(out, line))
      if (line.rfind("FAILED ", 0) == 0) {
        EXPECT_NE(line.find(op), std::string::npos) << line;
      }
  }
}

TEST(Verify, ThePlantedBugIsRefusedWhenItNamesNoOp) {
  if (!verify::planted_bug_built()) GTEST_SKIP() << "configured without CUDAMLP_PLANTED_BUG";
  ScopedEnv bug("CUDAMLP_PLANTED_BUG", "dense_fwd");
  const CommandResult result = run_cli({"verify", "--device", "cpu", "--quick"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("dense_fwd"), std::string::npos) << result.err;
  EXPECT_EQ(lines(result.err), 1) << result.err;
}

TEST(Verify, TheReferenceAloneIsSaidToBeTheOracle) {
  const CommandResult result = run_cli({"verify", "--device", "reference"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("oracle"), std::string::npos) << result.out;
}

TEST_F(GoldenFileTest, TheDefaultRunIsSmallAndSelfContained) {
  EXPECT_LT(std::filesystem::file_size(golden), kGoldenFileBudgetBytes);
  const verify::GoldenFile file = verify::read_golden(golden);
  EXPECT_EQ(file.run.data.kind, "synthetic");
  EXPECT_EQ(int64_t(file.losses.size()), file.run.steps());
}

TEST_F(GoldenFileTest, RerunsOnEveryBackendWithinTolerance) {
  for (const char* device : {"reference", "cpu", "gpu-emulated"}) {
    const CommandResult result = run_cli({"verify", "--against", golden, "--device", device});
    EXPECT_EQ(result.exit_code, 0) << device << "\n" << result.out << result.err;
  }
}

TEST_F(GoldenFileTest, AlteredStoredWeightsFailAndNameTheTensor) {
  const std::string path = altered("altered.safetensors", [](SafetensorsFile& file) {
    for (Tensor& tensor : file.tensors)
      if (tensor.name == "2.weight") tensor.data[3] *= 1.01f;
  });
  const CommandResult result = run_cli({"verify", "--against", path, "--device", "cpu"});
  EXPECT_EQ(result.exit_code, 1) << result.out;
  EXPECT_NE(result.out.find("FAILED cpu golden [10, 32]: 2.weight[3]"), std::string::npos) << result.out;
}

TEST_F(GoldenFileTest, BadGoldenFilesAreOneLineErrors) {
  struct Case {
    std::string name;
    std::string path;
    std::vector<std::string> extra;  // flags after --against FILE
    int exit_code;
    std::string says;
  };
  // truncated: the first half of the file
  const std::string truncated = dir.file("truncated.safetensors");
  {
    std::ifstream in(golden, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  const auto with_run = [&](const std::string& name, const std::function<void(nlohmann::json&)>& change) {
    return altered(name, [&](SafetensorsFile& file) {
      nlohmann::json run = nlohmann::json::parse(file.metadata["cudamlp.golden.run"]);
      change(run);
      file.metadata["cudamlp.golden.run"] = run.dump();
    });
  };
  const std::vector<Case> cases = {
      {"truncated", truncated, {}, 1, "truncated.safetensors"},
      {"another version", altered("v2.safetensors", [](SafetensorsFile& f) { f.metadata["cudamlp.golden.version"] = "2"; }),
       {}, 1, "format version '2'"},
      {"a model, not a golden file", altered("model.safetensors", [](SafetensorsFile& f) {
         f.metadata.erase("cudamlp.golden.version");
       }), {}, 1, "not a golden file"},
      {"flags that do not fit the tensors", with_run("epochs.safetensors", [](nlohmann::json& run) { run["epochs"] = 3; }),
       {}, 1, "golden.losses does not fit the run's flags"},
      {"hidden sizes that do not fit the model", with_run("hidden.safetensors", [](nlohmann::json& run) {
         run["hidden"] = {31};
       }), {}, 1, "sizes do not fit the run's flags"},
      {"a flag out of range", with_run("lr.safetensors", [](nlohmann::json& run) { run["lr"] = -1; }), {}, 1, "--lr"},
      {"a mistyped flag", with_run("batch.safetensors", [](nlohmann::json& run) { run["batch"] = "32"; }), {}, 1, "batch"},
      {"a fraction where an integer belongs", with_run("batch-fraction.safetensors", [](nlohmann::json& run) {
         run["batch"] = 32.9;
       }), {}, 1, "batch is not an integer in range: 32.9"},
      {"an integer beyond its type", with_run("epochs-huge.safetensors", [](nlohmann::json& run) { run["epochs"] = 1e300; }),
       {}, 1, "epochs is not an integer in range"},
      {"a hidden size beyond int", with_run("hidden-huge.safetensors", [](nlohmann::json& run) {
         run["hidden"] = {int64_t{1} << 40};
       }), {}, 1, "hidden is not an integer in range"},
      {"a float beyond float", with_run("lr-huge.safetensors", [](nlohmann::json& run) { run["lr"] = 1e300; }),
       {}, 1, "lr is not a finite float"},
      {"other data", with_run("data.safetensors", [](nlohmann::json& run) { run["data"]["checksum"] = "0123456789abcdef"; }),
       {}, 1, "recorded on other data"},
      {"other synthetic data", with_run("seed.safetensors", [](nlohmann::json& run) { run["data"]["seed"] = "2"; }),
       {}, 1, "recorded on other data"},
      {"a run flag given with --against", golden, {"--epochs", "3"}, 2, "--epochs"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> args = {"verify", "--against", c.path, "--device", "cpu"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    const CommandResult result = run_cli(args);
    EXPECT_EQ(result.exit_code, c.exit_code) << result.out << result.err;
    EXPECT_NE(result.err.find(c.says), std::string::npos) << result.err;
    EXPECT_EQ(lines(result.err), 1) << result.err;
    EXPECT_EQ(result.out, "");
  }
}

TEST_F(GoldenFileTest, RecordingDoesNotOverwriteItsOwnInputAndRefusesBadFlags) {
  EXPECT_EQ(run_cli({"verify", "--record", dir.file("x.safetensors"), "--epochs", "0"}).exit_code, 2);
  EXPECT_EQ(run_cli({"verify", "--record", dir.file("x.safetensors"), "--image", "8by8"}).exit_code, 2);
  EXPECT_EQ(run_cli({"verify", "--record", dir.file("x.safetensors"), "--device", "cpu"}).exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.safetensors")));
}
