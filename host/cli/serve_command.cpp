// `cudamlp serve`: the model behind a small HTTP server with a page to draw digits on (host/serve/).
// The model is loaded once; HTTP worker threads parse requests, one inference thread predicts them on
// the --device backend, concurrent requests together. SIGINT or SIGTERM stop it cleanly: no new
// connections, the ones in progress answered, exit 0.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "digit_server.h"
#include "predict_request.h"
#include "prediction_queue.h"
#include "stop_signals.h"
#include "cudamlp/errors.h"
#include "cudamlp/model_file.h"
#include "cudamlp/safetensors.h"
#include "cudamlp/trainer.h"

namespace cudamlp::cli {

namespace {

struct ServeArgs {
  std::string model;
  std::string device = "auto";
  BackendOptions backend;  // --gemm, --tf32; the cpu backend's threads: OMP_NUM_THREADS
  serve::ServerOptions server;
};

// GET /model's answer: the file's name (not its path), the architecture, and what its metadata says of
// how it was trained; test_accuracy when `cudamlp train` recorded it.
std::string model_json(const std::string& path, const Model& model, const std::string& device) {
  const SafetensorsFile file = read_safetensors(path);
  nlohmann::json info = {{"name", std::filesystem::path(path).filename().string()},
                         {"sizes", model.sizes()},
                         {"parameters", model.parameter_count()},
                         {"device", device}};
  const auto recipe = file.metadata.find("cudamlp.recipe");
  if (recipe != file.metadata.end()) {
    const nlohmann::json settings = nlohmann::json::parse(recipe->second, nullptr, false);
    if (settings.is_object()) {
      info["recipe"] = settings;
      if (settings.contains("test accuracy") && settings["test accuracy"].is_number())
        info["test_accuracy"] = settings["test accuracy"];
    }
  }
  return info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int run_serve(const ServeArgs& args) {
  const Model model = load_model(args.model);
  if (model.input_size() != serve::kSampleSize)
    throw UsageError("--model " + args.model + " takes " + std::to_string(model.input_size()) +
                     " inputs; serve predicts 28x28 = 784 pixel digits");
  if (model.network.input_scale != InputScale::kPixel255)
    throw UsageError("--model " + args.model + " was trained on float32 features used as given; serve predicts "
                     "pictures and pixel values 0..255, for a model trained on pixels");
  std::unique_ptr<Backend> backend = make_backend(args.device, args.backend);
  backend->set_model(model);
  serve::PredictionQueue queue([&](const float* x, int64_t n, float* probs) { backend->predict(x, n, probs); },
                               model.input_size(), model.output_size(), serve::kMaxBatch);
  serve::DigitServer server(args.server, model_json(args.model, model, backend->name()), queue);
  const int port = server.bind();
  const StopSignals signals(/*quiet=*/true);
  if (!serve::is_loopback(args.server.host))
    std::cerr << "cudamlp serve: warning: listening on " << args.server.host
              << ", not only this machine's loopback: anyone who can reach it can use it (no authentication)\n";
  std::cerr << "cudamlp serve: " << args.model << " (" << join_sizes(model.sizes()) << ") on the " << backend->name()
            << " backend; Ctrl-C stops\n";
  const std::string shown_host = args.server.host.find(':') != std::string::npos ? "[" + args.server.host + "]" : args.server.host;
  std::cout << "listening on http://" << shown_host << ":" << port << "/" << std::endl;

  std::atomic<bool> finished{false};  // run() returned by itself (the listening socket failed)
  std::thread serving([&] {
    server.run();
    finished = true;
  });
  while (!signals.requested() && !finished) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  server.stop();
  serving.join();
  if (!signals.requested()) throw Error("the listening socket on port " + std::to_string(port) + " failed");
  std::cerr << "cudamlp serve: stopped by " << signal_name(signals.signal_number()) << "\n";
  return 0;
}

}  // namespace

Command add_serve_command(CLI::App& parent) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* app = parent.add_subcommand(
      "serve", "Serve a model over HTTP: a page to draw digits on (GET /) and POST /predict for pictures or pixels");
  app->add_option("--model", args->model, "Model file (safetensors) taking 784 inputs")
      ->required()
      ->check(kReadableFile);
  app->add_option("--host", args->server.host,
                  "Address to listen on; anything but loopback (127.0.0.1, ::1, localhost) is reachable from "
                  "other machines")
      ->capture_default_str();
  app->add_option("--port", args->server.port, "TCP port; 0: any free one (printed)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app->add_option("--threads", args->server.threads, "HTTP worker threads: connections served at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app->add_option("--timeout", args->server.timeout_seconds,
                  "Seconds a client may stay silent while sending a request or reading the answer")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app->add_option("--max-body", args->server.max_body_bytes, "Largest request body in bytes (413 beyond)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  add_device_options(*app, args->device, args->backend, /*with_threads=*/false);
  return {app, [args] { return run_serve(*args); }};
}

}  // namespace cudamlp::cli
