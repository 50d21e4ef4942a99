// The HTTP server of `cudamlp serve` (Debian's cpp-httplib: it parses HTTP, we route and limit):
//
//   GET  /          the drawing page (digit_page.h)
//   GET  /model     the model's name, architecture and metadata, as JSON
//   GET  /healthz   {"status": "ok"}
//   POST /predict   a picture or JSON pixels -> probabilities (predict_request.h)
//
// Every error is JSON {"error": ...} with its status: 400 bad input, 403 a Host that is not this
// loopback server's (DNS rebinding), 404, 405 (with Allow), 411 no Content-Length, 413 a body over the
// limit (refused from its header, before any of it is read), 415 another Content-Type or any
// Content-Encoding. Each connection carries one request and is closed after its answer, so an unread
// body is never parsed as a next request. Nothing a request names reaches the file system: the four
// paths above are the only ones.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "prediction_queue.h"

namespace httplib {
class Server;
}

namespace cudamlp::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                        // 0: any free port (bind() says which)
  int threads = 8;                        // HTTP worker threads: connections served at once
  size_t max_body_bytes = size_t{8} << 20;  // a phone photo fits; a JSON batch of 1024 samples too
  int timeout_seconds = 5;                // a client silent this long while sending or receiving is dropped
};

// Whether host is a loopback address or name (127.0.0.0/8, ::1, localhost).
bool is_loopback(const std::string& host);

class DigitServer {
 public:
  // model_json: GET /model's answer. queue must outlive the server.
  DigitServer(const ServerOptions& options, std::string model_json, PredictionQueue& queue);
  ~DigitServer();
  DigitServer(const DigitServer&) = delete;
  DigitServer& operator=(const DigitServer&) = delete;

  // Binds the listening socket; returns its port. Throws UsageError when host:port cannot be bound.
  int bind();
  // Serves until stop(); the connections in progress are finished first. Ignores SIGPIPE for the
  // process (a client that hangs up must not end the server).
  void run();
  // From any thread, before or during run().
  void stop();

 private:
  void add_routes();
  ServerOptions options_;
  std::string model_json_;
  PredictionQueue& queue_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
};

}  // namespace cudamlp::serve
