// Many concurrent HTTP clients against a server on loopback, for the load test (test_serve_http.cpp)
// and the benchmark (benchmarks/serve_benchmark.cpp): each client sends its requests one after another,
// a new connection each (the server answers one request per connection), and times each.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace cudamlp::testing {

struct LoadResult {
  int64_t sent = 0;
  int64_t failed = 0;            // no answer, or a status other than 200
  std::string first_failure;     // what the first failed one got
  double seconds = 0;            // wall time of the whole run
  std::vector<double> latencies_ms;  // one per answered request
  double requests_per_second() const { return seconds > 0 ? double(sent) / seconds : 0; }
};

// clients threads each POST body to /predict requests_per_client times, or until deadline passes.
LoadResult run_loopback_load(int port, int clients, int64_t requests_per_client, const std::string& content_type,
                             const std::string& body, std::chrono::seconds deadline);

// The p-th percentile (0..100) of values, nearest rank; 0 for none.
double percentile(std::vector<double> values, double p);

}  // namespace cudamlp::testing
