// `cudamlp serve` under load on loopback: the server (host/serve) in this process with a model on a
// backend, and concurrent HTTP clients (tests/serve/loopback_load.h) each POSTing a digit to /predict,
// one connection per request as the server answers. Prints requests/s and p50/p99 latency.
//
//   build/benchmarks/cudamlp_serve_benchmark [--model FILE] [--device cpu] [--clients 16]
//       [--requests 200] [--body png|json] [--threads 8]
// Without --model: a random network of the `mnist` recipe's shape, 784-800-800-10 (what the server
// computes does not depend on the weights).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "digit_server.h"
#include "loopback_load.h"
#include "predict_request.h"
#include "prediction_queue.h"
#include "cudamlp/backend.h"
#include "cudamlp/image.h"
#include "cudamlp/model.h"
#include "cudamlp/model_file.h"

namespace {

// A 7 drawn as a user would: a 280x280 white canvas with a thick dark stroke, as the page sends it.
std::string drawn_seven_png() {
  cudamlp::GrayImage image{280, 280, std::vector<uint8_t>(280 * 280, 255)};
  for (int y = 60; y < 230; ++y)
    for (int x = 70; x < 210; ++x) {
      const bool bar = y < 84;
      const bool stem = std::abs((x - 190) + (y - 84) * 100 / 146) < 12;
      if (bar || stem) image.pixels[size_t(y * 280 + x)] = 0;
    }
  return cudamlp::encode_png(image);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, device = "cpu", body_kind = "png";
  int clients = 16, threads = 8;
  int64_t requests = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--model") model_path = value;
    else if (flag == "--device") device = value;
    else if (flag == "--clients") clients = std::atoi(value.c_str());
    else if (flag == "--requests") requests = std::atoll(value.c_str());
    else if (flag == "--body") body_kind = value;
    else if (flag == "--threads") threads = std::atoi(value.c_str());
    else {
      std::fprintf(stderr, "cudamlp_serve_benchmark: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (clients < 1 || requests < 1 || threads < 1 || (body_kind != "png" && body_kind != "json")) {
    std::fprintf(stderr, "cudamlp_serve_benchmark: --clients, --requests, --threads >= 1; --body png or json\n");
    return 2;
  }
  const cudamlp::Model model = model_path.empty() ? cudamlp::make_mlp(std::vector<int>{784, 800, 800, 10}, 1)
                                                  : cudamlp::load_model(model_path);
  std::unique_ptr<cudamlp::Backend> backend = cudamlp::make_backend(device);
  backend->set_model(model);
  cudamlp::serve::PredictionQueue queue(
      [&](const float* x, int64_t n, float* probs) { backend->predict(x, n, probs); }, 784, model.output_size(),
      cudamlp::serve::kMaxBatch);
  cudamlp::serve::ServerOptions options;
  options.port = 0;
  options.threads = threads;
  cudamlp::serve::DigitServer server(options, "{}", queue);
  const int port = server.bind();
  std::thread serving([&] { server.run(); });

  std::string body, type;
  if (body_kind == "png") {
    body = drawn_seven_png();
    type = "image/png";
  } else {
    body = nlohmann::json{{"pixels", std::vector<int>(784, 128)}}.dump();
    type = "application/json";
  }
  const cudamlp::testing::LoadResult result =
      cudamlp::testing::run_loopback_load(port, clients, requests, type, body, std::chrono::seconds(600));
  server.stop();
  serving.join();
  const cudamlp::serve::PredictionQueue::Stats stats = queue.stats();
  std::printf("%s body, %d clients x %lld requests, %d HTTP threads, %s backend, %s model:\n", body_kind.c_str(),
              clients, (long long)requests, threads, backend->name().c_str(),
              model_path.empty() ? "784-800-800-10" : model_path.c_str());
  std::printf("  %lld requests (%lld failed) in %.2f s: %.0f requests/s, latency p50 %.2f ms, p99 %.2f ms; "
              "%.2f requests per predict() call\n",
              (long long)result.sent, (long long)result.failed, result.seconds, result.requests_per_second(),
              cudamlp::testing::percentile(result.latencies_ms, 50), cudamlp::testing::percentile(result.latencies_ms, 99),
              stats.batches ? double(stats.requests) / double(stats.batches) : 0.0);
  if (result.failed) std::printf("  first failure: %s\n", result.first_failure.c_str());
  return result.failed ? 1 : 0;
}
