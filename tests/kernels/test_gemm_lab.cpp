// The GEMM lab (kernels/lab): every variant, and cuBLAS through the same entry point, against a double
// product on awkward shapes, for all four transpose combinations: sizes 1, odd, just past the 64 and
// 128 tiles and the 8-deep K slices, and operands that are or are not 16-byte aligned (variant 3 loads
// 128 bits only from aligned rows). A lab kernel must be right before its speed means anything.
//   Emulated/...  compiled by g++, run by the SIMT emulator (which faults misaligned vector loads)
//   Gpu/...       compiled by nvcc on a real GPU; skipped, with the reason, without one
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend_comparison.h"
#include "cudamlp/errors.h"
#include "cudamlp/gpu_info.h"
#include "device_testing.h"
#include "gemm_lab.h"
#include "test_helpers.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

struct GemmShape {
  int M, N, K;
};
// 1s; odd sizes; 129 and 257 cross the 128 tiles, 65 the 64 tiles; K = 9, 33 leave a partial 8-deep slice;
// 132 x 260 x 36 (all multiples of 4) lets variant 3 take its 128-bit loads.
const std::vector<GemmShape> kShapes = {{1, 1, 1},     {1, 129, 7},    {129, 1, 33},  {7, 5, 3},
                                        {65, 127, 9},  {257, 129, 33}, {128, 128, 8}, {132, 260, 36},
                                        {200, 72, 784}};

struct LabChoice {
  const char* name;
  const lab::GemmLab* (*get)(std::string& why_not);
};
void PrintTo(const LabChoice& choice, std::ostream* out) { *out << choice.name; }

const lab::GemmLab* emulated(std::string&) { return &lab::emulated_gemm_lab(); }
const lab::GemmLab* real_gpu(std::string& why_not) {
  const GpuInfo gpu = query_gpu();
  why_not = gpu.description;
  return gpu.usable ? lab::cuda_gemm_lab() : nullptr;
}

class GemmLab : public ::testing::TestWithParam<LabChoice> {
 protected:
  void SetUp() override {
    std::string why_not;
    lab = GetParam().get(why_not);
    if (lab == nullptr) GTEST_SKIP() << "no GPU to run on: " << why_not;
  }

  // Runs `variant` on one shape and transpose pair with the operands `offset` floats into their
  // allocations (offset 1: misaligned for 128-bit loads), and checks every element of C.
  void check(int variant, const GemmShape& s, bool trans_a, bool trans_b, int offset) {
    if (cudamlp::testing::too_slow_under_sanitizer(int64_t(s.M) * s.N * s.K)) return;
    const DeviceOps& ops = *lab->ops;
    const size_t a_size = size_t(s.M) * s.K, b_size = size_t(s.K) * s.N, c_size = size_t(s.M) * s.N;
    const std::vector<float> a = random_floats(a_size, -1, 1, 1), b = random_floats(b_size, -1, 1, 2);
    DeviceArray<float> da(ops, a_size + offset), db(ops, b_size + offset), dc(ops, c_size);
    ops.to_device(da.get() + offset, a.data(), a_size * sizeof(float));
    ops.to_device(db.get() + offset, b.data(), b_size * sizeof(float));
    lab->gemm(variant, trans_a, trans_b, da.get() + offset, db.get() + offset, dc.get(), s.M, s.N, s.K, nullptr);
    const std::vector<float> c = dc.values();
    // op(A)[m, k] and op(B)[k, n] as stored: A is [K, M] when transposed, else [M, K]; B is [N, K] or [K, N].
    for (int m = 0; m < s.M; ++m)
      for (int n = 0; n < s.N; ++n) {
        double exact = 0, magnitude = 0;
        for (int k = 0; k < s.K; ++k) {
          const double term = double(a[trans_a ? size_t(k) * s.M + m : size_t(m) * s.K + k]) *
                              b[trans_b ? size_t(n) * s.K + k : size_t(k) * s.N + n];
          exact += term;
          magnitude += std::abs(term);
        }
        ASSERT_NEAR(c[size_t(m) * s.N + n], exact, dot_tolerance(s.K, magnitude)) << "C[" << m << "," << n << "]";
      }
  }

  const lab::GemmLab* lab = nullptr;
};

TEST_P(GemmLab, EveryVariantMatchesADoubleProductOnAwkwardShapesAndTransposes) {
  for (int variant = 0; variant <= lab::kLastGemmVariant; ++variant)
    for (const GemmShape& s : kShapes)
      for (bool trans_a : {false, true})
        for (bool trans_b : {false, true})
          for (int offset : {0, 1}) {
            SCOPED_TRACE(std::string(lab::gemm_variant_name(variant)) + " M=" + std::to_string(s.M) +
                         " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K) + " trans_a=" +
                         std::to_string(trans_a) + " trans_b=" + std::to_string(trans_b) + " offset=" +
                         std::to_string(offset));
            check(variant, s, trans_a, trans_b, offset);
            if (HasFatalFailure()) return;
          }
}

TEST_P(GemmLab, RejectsAVariantThatDoesNotExist) {
  EXPECT_THROW(lab->gemm(lab::kLastGemmVariant + 1, false, false, nullptr, nullptr, nullptr, 1, 1, 1, nullptr), Error);
}

INSTANTIATE_TEST_SUITE_P(Emulated, GemmLab, ::testing::Values(LabChoice{"simt", &emulated}),
                         [](const auto& choice) { return std::string(choice.param.name); });
INSTANTIATE_TEST_SUITE_P(Gpu, GemmLab, ::testing::Values(LabChoice{"cuda", &real_gpu}),
                         [](const auto& choice) { return std::string(choice.param.name); });

}  // namespace
