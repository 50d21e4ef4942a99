// The GEMM lab's benchmark: every variant of kernels/lab/gemm_variants.cuh against cuBLAS SGEMM (FP32)
// on the matrix products the networks make, side by side. Each round times every contender once, in a
// rotating order, so a clock or load change hits them alike; the table gives median GFLOP/s over the
// rounds and the median of the per-round ratios to cuBLAS (the target: >= 90% at 4096-wide
// layers). It also checks each variant's C against cuBLAS's: a variant off by more than rounding is
// marked WRONG and the program exits 1, so a fast wrong kernel cannot win.
//
//   build/benchmarks/cudamlp_gemm_lab_benchmark                    # the GPU, all shapes, 7 rounds
//   build/benchmarks/cudamlp_gemm_lab_benchmark --shapes 4096x4096x4096:NN --rounds 11
//   build/benchmarks/cudamlp_gemm_lab_benchmark --emulated --shapes 65x33x17:NT   # smoke check, no GPU
//
// Prints a Markdown table for docs/gpu-validation.md. Exit 0; 1 when a variant is wrong or it cannot run
// (one line), 2 for a bad flag.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cudamlp/errors.h"
#include "cudamlp/gpu_info.h"
#include "cudamlp/rng.h"
#include "device_buffer.h"
#include "gemm_lab.h"

using namespace cudamlp;

namespace {

// C [M, N] = op(A) [M, K] op(B) [K, N]; trans_a: A stored [K, M]; trans_b: B stored [N, K].
struct Product {
  std::string what;
  int M, N, K;
  bool trans_a, trans_b;
};

// The products of a training step (dense_forward: x W^T; backward input: dy W; backward weights: dy^T x)
// for the layers the issue names, plus the square 4096 product.
const std::vector<Product> kProducts = {
    {"square 4096", 4096, 4096, 4096, false, false},
    {"4096->4096 forward, batch 8192", 8192, 4096, 4096, false, true},
    {"4096->4096 backward input, batch 8192", 8192, 4096, 4096, false, false},
    {"4096->4096 backward weights, batch 8192", 4096, 4096, 8192, true, false},
    {"784->4096 forward, batch 8192", 8192, 4096, 784, false, true},
    {"784->128 forward, batch 256", 256, 128, 784, false, true},
    {"784->128 backward weights, batch 256", 128, 784, 256, true, false},
    {"128->64 forward, batch 256", 256, 64, 128, false, true},
};

// "MxNxK:TT" with T one of N (as stored) or T (transposed) for A then B.
Product parse_product(const std::string& text) {
  Product p{text, 0, 0, 0, false, false};
  char ta = 0, tb = 0;
  if (std::sscanf(text.c_str(), "%dx%dx%d:%c%c", &p.M, &p.N, &p.K, &ta, &tb) != 5 || p.M < 1 || p.N < 1 || p.K < 1 ||
      (ta != 'N' && ta != 'T') || (tb != 'N' && tb != 'T'))
    throw UsageError("--shapes " + text + ": expected MxNxK:AB with positive sizes and A, B each N or T");
  p.trans_a = ta == 'T';
  p.trans_b = tb == 'T';
  return p;
}

// Two float products of K terms, cuBLAS's and a variant's, differ by rounding of order sqrt(K) * eps of
// the largest |C| for these random inputs, and by at most about K * eps; a wrong index or a lost slice
// moves results by O(|C|) itself. Above this, relative to max |C|, a variant is wrong.
double wrong_above(int K) { return double(K) * FLT_EPSILON; }

template <typename T>
T median(std::vector<T> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The device buffers of one product: A and B random in [-1, 1), C.
class Operands {
 public:
  Operands(const DeviceOps& ops, const Product& p)
      : ops_(ops),
        a_(ops, size_t(p.M) * p.K * sizeof(float)),
        b_(ops, size_t(p.K) * p.N * sizeof(float)),
        c_(ops, size_t(p.M) * p.N * sizeof(float)) {
    Rng rng(7);
    for (const DeviceBuffer* operand : {&a_, &b_}) {
      std::vector<float> values(operand->bytes() / sizeof(float));
      for (float& v : values) v = float(2 * rng.uniform() - 1);
      ops_.to_device(operand->as<void>(), values.data(), operand->bytes());
    }
  }
  const float* a() const { return a_.as<const float>(); }
  const float* b() const { return b_.as<const float>(); }
  float* c() { return c_.as<float>(); }
  std::vector<float> c_on_host() {
    std::vector<float> host(c_.bytes() / sizeof(float));
    ops_.synchronize();
    ops_.to_host(host.data(), c_.as<const void>(), c_.bytes());
    return host;
  }

 private:
  const DeviceOps& ops_;
  DeviceBuffer a_, b_, c_;  // freed without throwing, also after a failed launch (device_buffer.h)
};

struct Contender {
  int variant;
  std::vector<double> seconds;  // per launch, one entry per round
  double max_relative_difference = 0;  // of C against cuBLAS's, over max |C|
};

int run(const lab::GemmLab& gemm_lab, const std::vector<Product>& products, int rounds, double seconds_per_timing) {
  const DeviceOps& ops = *gemm_lab.ops;
  int wrong_variants = 0;
  std::printf("| product | M x N x K | op | variant | GFLOP/s (median) | of cuBLAS (median ratio) | max rel. diff to cuBLAS |\n");
  std::printf("| --- | --- | --- | --- | ---: | ---: | ---: |\n");
  for (const Product& p : products) {
    Operands operands(ops, p);
    auto launch = [&](int variant) {
      gemm_lab.gemm(variant, p.trans_a, p.trans_b, operands.a(), operands.b(), operands.c(), p.M, p.N, p.K, nullptr);
    };
    std::vector<Contender> contenders;
    for (int v = lab::kCublasVariant; v <= lab::kLastGemmVariant; ++v) contenders.push_back({v, {}, 0});

    // Warm-up (cuBLAS handle, kernel loading, clocks), the result check, and how many launches one timing
    // needs to last about seconds_per_timing.
    launch(lab::kCublasVariant);
    const std::vector<float> expected = operands.c_on_host();
    double largest = 0;
    for (float v : expected) largest = std::max(largest, double(std::abs(v)));
    std::vector<int> launches(contenders.size());
    for (size_t i = 0; i < contenders.size(); ++i) {
      launch(contenders[i].variant);  // also the variant's warm-up
      const std::vector<float> got = operands.c_on_host();
      for (size_t k = 0; k < got.size(); ++k)
        contenders[i].max_relative_difference =
            std::max(contenders[i].max_relative_difference, std::abs(double(got[k]) - expected[k]) / std::max(largest, 1e-30));
      ops.synchronize();
      const auto start = std::chrono::steady_clock::now();
      launch(contenders[i].variant);
      ops.synchronize();
      const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      launches[i] = std::clamp(int(seconds_per_timing / std::max(once, 1e-6)), 1, 1000);
    }
    for (int round = 0; round < rounds; ++round)
      for (size_t j = 0; j < contenders.size(); ++j) {
        const size_t i = (j + size_t(round)) % contenders.size();  // rotate who goes first
        ops.synchronize();
        const auto start = std::chrono::steady_clock::now();
        for (int n = 0; n < launches[i]; ++n) launch(contenders[i].variant);
        ops.synchronize();
        contenders[i].seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                                        launches[i]);
      }
    const double flops = 2.0 * p.M * p.N * p.K;
    for (const Contender& c : contenders) {
      std::vector<double> ratios;  // cuBLAS's time over this one's, per round: > 1 is faster than cuBLAS
      for (int round = 0; round < rounds; ++round) ratios.push_back(contenders[0].seconds[size_t(round)] / c.seconds[size_t(round)]);
      const bool wrong = c.max_relative_difference > wrong_above(p.K);
      wrong_variants += wrong;
      std::printf("| %s | %d x %d x %d | %c%c | %s | %.4g | %.0f%% | %.1e%s |\n", p.what.c_str(), p.M, p.N, p.K,
                  p.trans_a ? 'T' : 'N', p.trans_b ? 'T' : 'N', lab::gemm_variant_name(c.variant),
                  flops / median(c.seconds) / 1e9, 100 * median(ratios), c.max_relative_difference,
                  wrong ? " WRONG" : "");
    }
    std::fflush(stdout);
  }
  if (wrong_variants > 0) {
    std::fprintf(stderr, "cudamlp_gemm_lab_benchmark: error: %d results marked WRONG differ from cuBLAS's by more than "
                         "rounding\n", wrong_variants);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The GEMM lab's variants against cuBLAS SGEMM, side by side (benchmarks/gemm_lab_benchmark.cpp)"};
  bool emulated = false;
  std::vector<std::string> shapes;
  int rounds = 7;
  double seconds_per_timing = 0.05;
  app.add_flag("--emulated", emulated, "run on the SIMT emulator (slow: a smoke check of this program, no timing worth reading)");
  app.add_option("--shapes", shapes, "products as MxNxK:AB, A and B each N (as stored) or T (transposed); default: the networks' products");
  app.add_option("--rounds", rounds, "timing rounds per product; each times every contender once")->check(CLI::Range(1, 1000));
  app.add_option("--seconds", seconds_per_timing, "about how long one contender's timing lasts")->check(CLI::Range(1e-6, 10.0));
  CLI11_PARSE(app, argc, argv);
  try {
    std::vector<Product> products;
    for (const std::string& text : shapes) products.push_back(parse_product(text));
    if (products.empty()) products = kProducts;
    const lab::GemmLab* gemm_lab = &lab::emulated_gemm_lab();
    if (!emulated) {
      const GpuInfo gpu = query_gpu();
      if (!gpu.usable) throw Error("no GPU to benchmark on: " + gpu.description + " (--emulated runs on the CPU emulator)");
      gemm_lab = lab::cuda_gemm_lab();
      if (gemm_lab == nullptr) throw Error("this build has no CUDA (configure with CUDAMLP_CUDA=ON)");
      std::printf("device: %s\n\n", gpu.description.c_str());
    }
    return run(*gemm_lab, products, rounds, seconds_per_timing);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "cudamlp_gemm_lab_benchmark: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cudamlp_gemm_lab_benchmark: error: %s\n", e.what());
    return 1;
  }
}
