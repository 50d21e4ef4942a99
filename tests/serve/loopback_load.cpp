// Concurrent loopback HTTP clients; see loopback_load.h.
#include "loopback_load.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <thread>

namespace cudamlp::testing {

LoadResult run_loopback_load(int port, int clients, int64_t requests_per_client, const std::string& content_type,
                             const std::string& body, std::chrono::seconds deadline) {
  using Clock = std::chrono::steady_clock;
  LoadResult result;
  std::mutex mutex;
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop = start + deadline;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(30, 0);
      std::vector<double> latencies;
      int64_t sent = 0, failed = 0;
      std::string failure;
      for (int64_t i = 0; i < requests_per_client && Clock::now() < stop; ++i) {
        const Clock::time_point begin = Clock::now();
        const httplib::Result answer = client.Post("/predict", body, content_type.c_str());
        ++sent;
        if (!answer || answer->status != 200) {
          ++failed;
          if (failure.empty())
            failure = answer ? std::to_string(answer->status) + " " + answer->body : httplib::to_string(answer.error());
          continue;
        }
        latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
      }
      const std::lock_guard lock(mutex);
      result.sent += sent;
      result.failed += failed;
      if (result.first_failure.empty()) result.first_failure = failure;
      result.latencies_ms.insert(result.latencies_ms.end(), latencies.begin(), latencies.end());
    });
  }
  for (std::thread& thread : threads) thread.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = size_t(std::ceil(p / 100.0 * double(values.size())));
  return values[std::min(values.size(), std::max<size_t>(rank, 1)) - 1];
}

}  // namespace cudamlp::testing
