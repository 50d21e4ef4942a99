// The bitwise guard: SHA-256 hashes of the tensor data that a set of fixed short `cudamlp train` runs
// write (model files and checkpoints), recorded before the backend-contract redesign and checked after
// it, so that a refactor which changes a single bit of a result shows here.
//
// What is hashed: the tensors' raw float32 bytes, model tensors first (0.weight, 0.bias, 2.weight, ...
// in layer order), then the optimizer's tensors in the same layer order, whatever their prefix
// ("velocity.", "momentum_buffer."). Names and metadata are not hashed: a file may gain metadata (the
// layer list) or rename a slot and still hold bitwise the same numbers.
//
// The runs: reference and cpu (1 and 2 threads) with and without momentum, the emulated GPU backend
// with both GEMM engines, each with a partial last batch; and a run stopped mid-epoch at a checkpoint
// and resumed, which must end with the uninterrupted run's hashes. The cpu hashes depend on the BLAS
// kernels OpenBLAS picks for this CPU: they are recorded per kernel set, and on a machine whose kernels
// have none recorded the cpu runs are skipped with the hashes to record, never passed silently. They
// also depend on how the compiler vectorises the cpu backend's update (a fused multiply-add in a loop's
// body, not in its epilogue): they are recorded for Release builds, and other builds (the sanitizers'
// RelWithDebInfo) skip the cpu runs, saying so.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "cudamlp/rng.h"
#include "cudamlp/safetensors.h"
#include "test_helpers.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

namespace fs = std::filesystem;

// SHA-256 of bytes, as 64 lowercase hex digits (OpenSSL's EVP interface).
std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EXPECT_EQ(EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr), 1);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

// "2.weight" -> (1, 0), "2.bias" -> (1, 1): the sort key of a model tensor's name.
std::pair<int, int> layer_order(const std::string& name) {
  const size_t dot = name.find('.');
  return {std::stoi(name.substr(0, dot)) / 2, name.substr(dot + 1) == "bias" ? 1 : 0};
}

// The tensor data of a model file or checkpoint in the order described at the top.
std::string tensor_bytes(const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  std::vector<std::pair<std::pair<int, int>, const Tensor*>> model, optimizer;
  for (const Tensor& tensor : file.tensors) {
    const bool is_model = std::isdigit(static_cast<unsigned char>(tensor.name[0]));
    // An optimizer tensor is "<slot>.<model tensor name>": order it by the model tensor it belongs to.
    const std::string own = is_model ? tensor.name : tensor.name.substr(tensor.name.find('.') + 1);
    (is_model ? model : optimizer).push_back({layer_order(own), &tensor});
  }
  std::sort(model.begin(), model.end());
  std::sort(optimizer.begin(), optimizer.end());
  std::string bytes;
  for (const auto* group : {&model, &optimizer})
    for (const auto& [order, tensor] : *group)
      bytes.append(reinterpret_cast<const char*>(tensor->data.data()), tensor->data.size() * sizeof(float));
  return bytes;
}

std::string file_hash(const std::string& path) { return sha256_hex(tensor_bytes(path)); }

// An MNIST-named folder of 12x12 images: 203 training samples (batch 32: 6 full batches and one of 11)
// and 20 test samples, class c brightening row band c, plus noise; the same on every machine.
void write_guard_data(const fs::path& dir) {
  fs::create_directories(dir);
  constexpr int kSide = 12, kClasses = 10;
  for (const auto& [prefix, n, seed] : {std::tuple{"train", 203, 21}, std::tuple{"t10k", 20, 22}}) {
    Rng rng(static_cast<uint64_t>(seed));
    std::vector<uint8_t> pixels, labels;
    for (int s = 0; s < n; ++s) {
      const int c = int(rng.below(kClasses));
      labels.push_back(uint8_t(c));
      for (int i = 0; i < kSide * kSide; ++i) {
        const bool lit = (i / kSide) * kClasses / kSide == c;
        pixels.push_back(uint8_t(lit ? 120 + rng.below(136) : rng.below(90)));
      }
    }
    write_file((dir / (std::string(prefix) + "-images-idx3-ubyte")).string(),
               idx_images(uint32_t(n), kSide, kSide, pixels));
    write_file((dir / (std::string(prefix) + "-labels-idx1-ubyte")).string(), idx_labels(labels));
  }
}

struct GuardRun {
  std::string name;                // key of the recorded hashes
  std::vector<std::string> flags;  // besides the data, network, epochs, batch, lr, seed and outputs
  bool cpu = false;                // hashes depend on the BLAS kernels
  std::string hidden = "24,12";
};

const std::vector<GuardRun>& guard_runs() {
  static const std::vector<GuardRun> runs = {
      {"reference-sgd", {"--device", "reference", "--momentum", "0"}},
      {"reference-momentum", {"--device", "reference", "--momentum", "0.9"}},
      {"cpu1-sgd", {"--device", "cpu", "--threads", "1", "--momentum", "0"}, true},
      {"cpu1-momentum", {"--device", "cpu", "--threads", "1", "--momentum", "0.9"}, true},
      {"cpu2-sgd", {"--device", "cpu", "--threads", "2", "--momentum", "0"}, true},
      {"cpu2-momentum", {"--device", "cpu", "--threads", "2", "--momentum", "0.9"}, true},
      // Wide enough that the products (32 x 144 x 600) are split over the threads.
      {"cpu1-wide-momentum", {"--device", "cpu", "--threads", "1", "--momentum", "0.9"}, true, "600,12"},
      {"cpu2-wide-momentum", {"--device", "cpu", "--threads", "2", "--momentum", "0.9"}, true, "600,12"},
      {"gpu-emulated-custom-sgd", {"--device", "gpu-emulated", "--gemm", "custom", "--momentum", "0"}},
      {"gpu-emulated-custom-momentum", {"--device", "gpu-emulated", "--gemm", "custom", "--momentum", "0.9"}},
      {"gpu-emulated-cublas-momentum", {"--device", "gpu-emulated", "--gemm", "cublas", "--momentum", "0.9"}},
  };
  return runs;
}

// Recorded on 2026-12-01 before the backend-contract redesign (issue 13). Per run: the model file, the
// last checkpoint (end of epoch 2: final weights and momentum buffers) and, for the resumed runs, the
// mid-epoch checkpoint they resumed from (step 4 of epoch 1).
using Hashes = std::map<std::string, std::string>;  // "<run>/<file>" -> SHA-256

const Hashes kRecorded = {
    {"gpu-emulated-cublas-momentum/checkpoint", "727124135a1d1ba10375398cd2a0e110d647e9594414dbe993d2d11c73d3e594"},
    {"gpu-emulated-cublas-momentum/model", "b75dfa3d2661ce81479dbe3ab20bec1a26beadfd81351fe98b21aabb348913bc"},
    {"gpu-emulated-custom-momentum/checkpoint", "a529c8e58ebea52e4771b603fd47f197d7a2e49441102f9bf138d5f5f90899dc"},
    {"gpu-emulated-custom-momentum/model", "5ee942c70dcab18aba9d05c212b71c329c6a34a299cc87bb8af2c58b8b4c52fe"},
    {"gpu-emulated-custom-sgd/checkpoint", "9d88cd968d9371d7a101c56531e45f5e4c31e878ae7327d3bc654fe7ecf192bc"},
    {"gpu-emulated-custom-sgd/model", "1fb10f0f3813ee46491423f38d4fb7657e4e263b58cec51a265013bef5ee3213"},
    {"reference-momentum/checkpoint", "6d4f8b45424b4b4fea2a92016ed76edc9d7b706c1a09bed020c994e9fb87d640"},
    {"reference-momentum/model", "c77036133d35eaf9aee2b9112d7ebb1479d38eb494a9410c5855b66f1894117d"},
    {"reference-momentum/resumed-from", "174005bc4b37a429c0db6eb30e21851d0e86ba27951efb90fb639add94edee84"},
    {"reference-momentum/resumed-model", "c77036133d35eaf9aee2b9112d7ebb1479d38eb494a9410c5855b66f1894117d"},
    {"reference-sgd/checkpoint", "acf37c0daf1941a19e14d36e0298fca70747ab4246a11efdb6675f0167cbdf4c"},
    {"reference-sgd/model", "1a3d7e4c4a42df986d8a614ffa24ae4b3ce0912f353acb16a43583e6289b358f"},
};

// The cpu runs' hashes per OpenBLAS kernel set (openblas_get_corename(), as blas_description() says).
const Hashes kCpuPrescott = {
    {"cpu1-momentum/checkpoint", "3e7ce72b63a7fc6381f26519195382edb1272b1738628da3071c30b8e803a8f8"},
    {"cpu1-momentum/model", "d9435bb710fe36069b4bdd32f92b345f198c080cc7d6430b44e020575dbbafe9"},
    {"cpu1-sgd/checkpoint", "0f4d45dcafa4a8b6393775c6b1e3d55effd2de56f50b62062ebb6f2e080b9b79"},
    {"cpu1-sgd/model", "4b0de5588ffa40977bba311bd22ef9608aec17e181834fba4c652333ff04a440"},
    {"cpu1-wide-momentum/checkpoint", "d929745f3a01840624a44f386aae848d28bb126d6210d56f4a2f600ce4638f7a"},
    {"cpu1-wide-momentum/model", "88e046b41bf772592849e907d0715ff6f410e44c7890fb2fb4c6da0eff97efe7"},
    {"cpu2-momentum/checkpoint", "3e7ce72b63a7fc6381f26519195382edb1272b1738628da3071c30b8e803a8f8"},
    {"cpu2-momentum/model", "d9435bb710fe36069b4bdd32f92b345f198c080cc7d6430b44e020575dbbafe9"},
    {"cpu2-sgd/checkpoint", "0f4d45dcafa4a8b6393775c6b1e3d55effd2de56f50b62062ebb6f2e080b9b79"},
    {"cpu2-sgd/model", "4b0de5588ffa40977bba311bd22ef9608aec17e181834fba4c652333ff04a440"},
    {"cpu2-wide-momentum/checkpoint", "d929745f3a01840624a44f386aae848d28bb126d6210d56f4a2f600ce4638f7a"},
    {"cpu2-wide-momentum/model", "88e046b41bf772592849e907d0715ff6f410e44c7890fb2fb4c6da0eff97efe7"},
    {"cpu2-wide-momentum/resumed-from", "3d5506ac3dee3f6b2027950e7cd697749beafe8be95610b50c5f413b87d444c1"},
    {"cpu2-wide-momentum/resumed-model", "88e046b41bf772592849e907d0715ff6f410e44c7890fb2fb4c6da0eff97efe7"},
};
const Hashes kCpuHaswell = {
    {"cpu1-momentum/checkpoint", "5da1419b4688c35f22e56d5c04b77f964ac8c3b45e626d76b599f9d56f112cb4"},
    {"cpu1-momentum/model", "294e730ed2c071044b5e956c464302367bd8473b882d5ece855222f86f5e02bf"},
    {"cpu1-sgd/checkpoint", "f91ddd6a6b32ddce38c673cd9321be58e45926e301ff6ed5a48196418c99610c"},
    {"cpu1-sgd/model", "093201d757e6352c386e49465cf2e08ec683ca2c0bfe320070ed9d689ebdfc3f"},
    {"cpu1-wide-momentum/checkpoint", "2529f88bedeb6a432e34d28f85c5caefcd997387e74c3ab1db1326c14e145300"},
    {"cpu1-wide-momentum/model", "33aae27aa0dd56c55166518378268d0debe60acb38569694b6d429e131070005"},
    {"cpu2-momentum/checkpoint", "5da1419b4688c35f22e56d5c04b77f964ac8c3b45e626d76b599f9d56f112cb4"},
    {"cpu2-momentum/model", "294e730ed2c071044b5e956c464302367bd8473b882d5ece855222f86f5e02bf"},
    {"cpu2-sgd/checkpoint", "f91ddd6a6b32ddce38c673cd9321be58e45926e301ff6ed5a48196418c99610c"},
    {"cpu2-sgd/model", "093201d757e6352c386e49465cf2e08ec683ca2c0bfe320070ed9d689ebdfc3f"},
    {"cpu2-wide-momentum/checkpoint", "f06e0a52961d6f0f98e892058fbd562edfaab4e7290479c0b2234f9a99ba57f9"},
    {"cpu2-wide-momentum/model", "595f233e9bc5487d247fc97e4274a909f871801c5cdbfdbfcc729adae6ee52b1"},
    {"cpu2-wide-momentum/resumed-from", "457f5fecdf446fed5d1c20b733901790535410e98b7fd2ae538782bd34fa5b72"},
    {"cpu2-wide-momentum/resumed-model", "595f233e9bc5487d247fc97e4274a909f871801c5cdbfdbfcc729adae6ee52b1"},
};
// SkylakeX and Cooperlake (AVX-512) compute the same products.
const Hashes kCpuAvx512 = {
    {"cpu1-momentum/checkpoint", "75089e2cc1a131da5ff17cf15d56b7210c4f062e5074f2d950e4ab859358b04e"},
    {"cpu1-momentum/model", "d686ac52ff03668ba5525080ca0433ad21ebd34d166619a39cbde674f5c8e136"},
    {"cpu1-sgd/checkpoint", "8a3300cd46c4a51a30a70d9da0b06debf43cb70152cd20931505ed6c77349cb1"},
    {"cpu1-sgd/model", "e01a89dc174fa973f62b70938bdae80c1e0b5a65941e764615bbd1201e66a3c3"},
    {"cpu1-wide-momentum/checkpoint", "311ca7f498c7f361f518b12ab897111d752a4fd1fbc05a8f1a7d301060cdbd34"},
    {"cpu1-wide-momentum/model", "012f01d6cc09848a235604f10a84e859e157862e0692b2c97f05de48dc6b8bea"},
    {"cpu2-momentum/checkpoint", "75089e2cc1a131da5ff17cf15d56b7210c4f062e5074f2d950e4ab859358b04e"},
    {"cpu2-momentum/model", "d686ac52ff03668ba5525080ca0433ad21ebd34d166619a39cbde674f5c8e136"},
    {"cpu2-sgd/checkpoint", "8a3300cd46c4a51a30a70d9da0b06debf43cb70152cd20931505ed6c77349cb1"},
    {"cpu2-sgd/model", "e01a89dc174fa973f62b70938bdae80c1e0b5a65941e764615bbd1201e66a3c3"},
    {"cpu2-wide-momentum/checkpoint", "311ca7f498c7f361f518b12ab897111d752a4fd1fbc05a8f1a7d301060cdbd34"},
    {"cpu2-wide-momentum/model", "012f01d6cc09848a235604f10a84e859e157862e0692b2c97f05de48dc6b8bea"},
    {"cpu2-wide-momentum/resumed-from", "5bab3f4b38aee8192c02408c373f1ecf4575880a0853c6f1f74d967f53f67c9f"},
    {"cpu2-wide-momentum/resumed-model", "012f01d6cc09848a235604f10a84e859e157862e0692b2c97f05de48dc6b8bea"},
};
const std::map<std::string, Hashes> kRecordedCpu = {
    {"OpenBLAS 0.3.21 (OpenMP, Prescott kernels)", kCpuPrescott},
    {"OpenBLAS 0.3.21 (OpenMP, Haswell kernels)", kCpuHaswell},
    {"OpenBLAS 0.3.21 (OpenMP, SkylakeX kernels)", kCpuAvx512},
    {"OpenBLAS 0.3.21 (OpenMP, Cooperlake kernels)", kCpuAvx512},
};

std::string blas_kernels() { return cpu_backend_info().blas; }

class BitwiseGuard : public ::testing::Test {
 protected:
  void SetUp() override { write_guard_data(dir.path() / "data"); }

  std::vector<std::string> common(const GuardRun& run, const std::string& out, const std::string& checkpoint,
                                  int epochs) const {
    return {"train", "--data", dir.file("data"), "--hidden", run.hidden, "--epochs", std::to_string(epochs),
            "--batch", "32", "--lr", "0.1", "--seed", "5", "--out", out, "--checkpoint", checkpoint};
  }

  // Runs `run` whole and returns {"<run>/model": ..., "<run>/checkpoint": ...}.
  Hashes uninterrupted(const GuardRun& run) const {
    const std::string out = dir.file(run.name + ".safetensors"), checkpoint = dir.file(run.name + ".ckpt");
    std::vector<std::string> args = common(run, out, checkpoint, 2);
    args.insert(args.end(), run.flags.begin(), run.flags.end());
    const CommandResult result = run_cli(args);
    EXPECT_EQ(result.exit_code, 0) << run.name << ": " << result.err;
    return {{run.name + "/model", file_hash(out)}, {run.name + "/checkpoint", file_hash(checkpoint)}};
  }

  // Runs epoch 1 with a checkpoint every 4 steps (the last at step 4 of 7), resumes from it to the end
  // of epoch 2 and returns {"<run>/resumed-from": ..., "<run>/resumed-model": ...}.
  Hashes resumed(const GuardRun& run) const {
    const std::string first = dir.file(run.name + "-first.safetensors");
    const std::string checkpoint = dir.file(run.name + "-mid.ckpt");
    const std::string out = dir.file(run.name + "-resumed.safetensors");
    std::vector<std::string> args = common(run, first, checkpoint, 1);
    args.insert(args.end(), run.flags.begin(), run.flags.end());
    args.insert(args.end(), {"--checkpoint-every", "4steps"});
    const CommandResult stopped = run_cli(args);
    EXPECT_EQ(stopped.exit_code, 0) << run.name << ": " << stopped.err;
    const Hashes hashes = {{run.name + "/resumed-from", file_hash(checkpoint)}};
    std::vector<std::string> resume = {"train", "--data", dir.file("data"), "--resume", checkpoint, "--epochs", "2",
                                       "--out", out};
    resume.insert(resume.end(), run.flags.begin(), run.flags.end());  // they agree with the checkpoint
    const CommandResult result = run_cli(resume);
    EXPECT_EQ(result.exit_code, 0) << run.name << ": " << result.err;
    Hashes all = hashes;
    all[run.name + "/resumed-model"] = file_hash(out);
    return all;
  }

  // Compares computed with recorded; on a difference prints every computed line, ready to paste.
  void expect_recorded(const Hashes& computed, const Hashes& recorded, const std::string& table) {
    bool same = true;
    for (const auto& [key, hash] : computed) {
      const auto it = recorded.find(key);
      if (it == recorded.end() || it->second != hash) {
        same = false;
        ADD_FAILURE() << key << ": " << hash << " computed, "
                      << (it == recorded.end() ? std::string("none recorded") : it->second + " recorded");
      }
    }
    if (same) return;
    std::string lines;
    for (const auto& [key, hash] : computed) lines += "    {\"" + key + "\", \"" + hash + "\"},\n";
    ADD_FAILURE() << "the tensors differ from the recorded ones (" << table << "); computed:\n" << lines;
  }

  TempDir dir;
};

}  // namespace

TEST_F(BitwiseGuard, ReferenceAndEmulatedGpuRunsWriteTheRecordedTensors) {
  Hashes computed;
  for (const GuardRun& run : guard_runs()) {
    if (run.cpu) continue;
    computed.merge(uninterrupted(run));
  }
  const GuardRun& momentum = guard_runs()[1];
  Hashes resume = resumed(momentum);
  EXPECT_EQ(resume[momentum.name + "/resumed-model"], computed[momentum.name + "/model"])
      << "the resumed run ends elsewhere than the uninterrupted one";
  computed.merge(resume);
  expect_recorded(computed, kRecorded, "kRecorded");
}

TEST_F(BitwiseGuard, ACheckpointWrittenBeforeTheRedesignResumesToTheRecordedModel) {
  // tests/train/data/README.md: a format-1 checkpoint the old code wrote in the resumed run above.
  const std::string fixture = std::string(CUDAMLP_SOURCE_DIR) + "/tests/train/data/checkpoint-v1-reference-momentum.ckpt";
  const std::string checkpoint = dir.file("v1.ckpt"), out = dir.file("resumed.safetensors");
  write_file(checkpoint, read_file(fixture));  // a copy: the resumed run may write over its checkpoint
  EXPECT_EQ(file_hash(checkpoint), kRecorded.at("reference-momentum/resumed-from"));
  const CommandResult result = run_cli({"train", "--data", dir.file("data"), "--resume", checkpoint, "--epochs", "2",
                                        "--device", "reference", "--out", out});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(file_hash(out), kRecorded.at("reference-momentum/resumed-model"));
}

TEST_F(BitwiseGuard, CpuRunsWriteTheTensorsRecordedForThisMachinesBlasKernels) {
  if (!cpu_backend_info().built) GTEST_SKIP() << "this build has no cpu backend";
  if (std::string(CUDAMLP_BUILD_TYPE) != "Release")
    GTEST_SKIP() << "the cpu hashes are recorded for Release builds; this is a " << CUDAMLP_BUILD_TYPE
                 << " build, whose compiler vectorises the update otherwise";
  Hashes computed;
  for (const GuardRun& run : guard_runs())
    if (run.cpu) computed.merge(uninterrupted(run));
  const GuardRun& momentum = guard_runs()[7];  // cpu2-wide-momentum
  Hashes resume = resumed(momentum);
  EXPECT_EQ(resume[momentum.name + "/resumed-model"], computed[momentum.name + "/model"])
      << "the resumed run ends elsewhere than the uninterrupted one";
  computed.merge(resume);
  const auto recorded = kRecordedCpu.find(blas_kernels());
  if (recorded == kRecordedCpu.end()) {
    std::string lines;
    for (const auto& [key, hash] : computed) lines += "    {\"" + key + "\", \"" + hash + "\"},\n";
    GTEST_SKIP() << "no cpu hashes recorded for " << blas_kernels()
                 << "; to guard this machine, record these in kRecordedCpu under that name:\n"
                 << lines;
  }
  expect_recorded(computed, recorded->second, "kRecordedCpu[\"" + blas_kernels() + "\"]");
}
