// Seeded randomness: SplitMix64 matches its published stream, draws stay in range, shuffles are
// permutations that depend on seed and epoch only.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "cudamlp/rng.h"
#include "cudamlp/shuffle_key.h"

using namespace cudamlp;

TEST(Rng, MatchesPublishedSplitMix64Stream) {
  // First outputs of SplitMix64 seeded with 0 (Vigna's reference implementation).
  Rng rng(0);
  EXPECT_EQ(rng.next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(rng.next(), 0x6E789E6AA1B965F4ull);
  EXPECT_EQ(rng.next(), 0x06C45D188009454Full);
}

TEST(Rng, UniformIsInUnitIntervalAndBelowIsInRange) {
  Rng rng(42);
  std::vector<int> hits(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    const uint64_t k = rng.below(7);
    ASSERT_LT(k, 7u);
    hits[k]++;
  }
  for (int count : hits) EXPECT_NEAR(count, 10000, 500);  // about 5 standard deviations
  EXPECT_EQ(rng.below(1), 0u);
}

TEST(ShuffledIndices, IsAPermutationThatDependsOnSeedAndEpoch) {
  const std::vector<int64_t> a = shuffled_indices(1000, 7, 0);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), int64_t{0});
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(a, identity);
  EXPECT_EQ(a, shuffled_indices(1000, 7, 0));
  EXPECT_NE(a, shuffled_indices(1000, 7, 1));
  EXPECT_NE(a, shuffled_indices(1000, 8, 0));
  EXPECT_EQ(shuffled_indices(1, 7, 0), std::vector<int64_t>{0});
  EXPECT_TRUE(shuffled_indices(0, 7, 0).empty());
}

TEST(ShuffleKey, IsTheIthOutputOfTheSeededStream) {
  Rng rng(123);
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(splitmix64_at(123, i), rng.next()) << i;
}

TEST(ShuffledIndices, VisitsSamplesInIncreasingKeyOrder) {
  // The definition every device shares (shuffle_key.h): sorting by these keys is the epoch's order.
  const std::vector<int64_t> order = shuffled_indices(500, 9, 3);
  const uint64_t epoch_seed = derive_seed(9, 1 + 3);
  for (size_t i = 1; i < order.size(); ++i)
    EXPECT_LT(splitmix64_at(epoch_seed, uint64_t(order[i - 1])), splitmix64_at(epoch_seed, uint64_t(order[i])));
}
