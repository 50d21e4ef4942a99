// Routes, limits and headers of `cudamlp serve`'s HTTP server; see digit_server.h.
#include "digit_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>

#include <charconv>
#include <csignal>
#include <random>
#include <thread>

#include "digit_page.h"
#include "format.h"
#include "predict_request.h"
#include "cudamlp/errors.h"

namespace cudamlp::serve {

namespace {

// Headers on every answer: no sniffing of a JSON answer into HTML, no framing, nothing cached or
// referred; a JSON answer gets a policy that allows nothing at all.
void set_security_headers(httplib::Response& res, const std::string& policy) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
  res.set_header("Cross-Origin-Resource-Policy", "same-origin");
  res.set_header("Content-Security-Policy", policy);
}
constexpr const char* kNothingPolicy = "default-src 'none'; frame-ancestors 'none'";

void answer_json(httplib::Response& res, int status, const std::string& json) {
  res.status = status;
  res.set_content(json, "application/json");
}
void answer_error(httplib::Response& res, int status, const std::string& message) {
  answer_json(res, status, error_response(message));
}

// 128 random bits as hex: a new nonce for every page, so an injected script cannot guess it.
std::string random_nonce() {
  std::random_device device;
  std::string nonce;
  for (int i = 0; i < 4; ++i) nonce += format("%08x", unsigned(device()));
  return nonce;
}

// "localhost:8080", "[::1]:8080" -> "localhost", "::1"
std::string host_name(const std::string& host_header) {
  if (!host_header.empty() && host_header[0] == '[') return host_header.substr(1, host_header.find(']') - 1);
  return host_header.substr(0, host_header.find(':'));
}

struct Route {
  const char* path;
  const char* allow;  // the methods it answers, for 405's Allow header
};
constexpr Route kRoutes[] = {{"/", "GET, HEAD"}, {"/model", "GET, HEAD"}, {"/healthz", "GET, HEAD"}, {"/predict", "POST"}};

}  // namespace

bool is_loopback(const std::string& host) {
  // An address, parsed whole: "127.0.0.1.attacker.example" starts like one but is a name anyone can point
  // at 127.0.0.1.
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return host == "localhost";
}

DigitServer::DigitServer(const ServerOptions& options, std::string model_json, PredictionQueue& queue)
    : options_(options), model_json_(std::move(model_json)), queue_(queue), http_(std::make_unique<httplib::Server>()) {
  const int threads = options_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  http_->set_keep_alive_max_count(1);  // one request per connection: see digit_server.h
  http_->set_keep_alive_timeout(options_.timeout_seconds);  // waiting for the request's first byte
  http_->set_read_timeout(options_.timeout_seconds, 0);
  http_->set_write_timeout(options_.timeout_seconds, 0);
  http_->set_payload_max_length(options_.max_body_bytes);
  http_->set_tcp_nodelay(true);  // an answer is one small write: send it now
  add_routes();
}

DigitServer::~DigitServer() = default;

void DigitServer::add_routes() {
  // Everything is decided here, before httplib reads a body: only a POST /predict that passes every
  // check goes on to have its body read (into memory, at most max_body_bytes) by the handler below.
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    set_security_headers(res, kNothingPolicy);
    if (is_loopback(options_.host) && !is_loopback(host_name(req.get_header_value("Host")))) {
      // A page elsewhere whose name was made to resolve to 127.0.0.1 (DNS rebinding) sends its own Host.
      answer_error(res, 403, "Host " + quoted_excerpt(req.get_header_value("Host")) +
                                 " is not a loopback name; this server listens on " + options_.host);
      return httplib::Server::HandlerResponse::Handled;
    }
    const Route* route = nullptr;
    for (const Route& candidate : kRoutes)
      if (req.path == candidate.path) route = &candidate;
    if (!route) {
      answer_error(res, 404, "no such path " + quoted_excerpt(req.path) + " (try /, /model, /healthz, POST /predict)");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string allow = route->allow;
    const bool post = req.method == "POST";
    if (allow == "POST" ? !post : (req.method != "GET" && req.method != "HEAD")) {
      res.set_header("Allow", allow);
      answer_error(res, 405, req.method + " " + req.path + ": this path answers " + allow);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.path == "/") {
      const std::string nonce = random_nonce();
      res.headers.erase("Content-Security-Policy");
      res.set_header("Content-Security-Policy", digit_page_policy(nonce));
      res.set_content(digit_page_html(nonce), "text/html; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.path == "/model") {
      answer_json(res, 200, model_json_);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.path == "/healthz") {
      answer_json(res, 200, R"({"status":"ok"})");
      return httplib::Server::HandlerResponse::Handled;
    }
    // POST /predict: refused from its headers when it cannot be answered, before any body is read.
    const std::string encoding = req.get_header_value("Content-Encoding");
    if (!encoding.empty() && encoding != "identity") {  // a compressed body could inflate past any limit
      answer_error(res, 415, "Content-Encoding " + quoted_excerpt(encoding) + ": send the body uncompressed");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.has_header("Transfer-Encoding") || !req.has_header("Content-Length")) {
      answer_error(res, 411, "send the body with a Content-Length (a chunked body has no size to check up front)");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string length_text = req.get_header_value("Content-Length");
    uint64_t length = 0;
    const auto [end, problem] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
    if (problem != std::errc() || end != length_text.data() + length_text.size()) {
      answer_error(res, 400, "Content-Length " + quoted_excerpt(length_text) + " is not a number of bytes");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (length > options_.max_body_bytes) {
      answer_error(res, 413, "a body of " + std::to_string(length) + " bytes; at most " +
                                 std::to_string(options_.max_body_bytes));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (body_type(req.get_header_value("Content-Type")) == BodyType::kUnsupported) {
      answer_error(res, 415, "Content-Type " + quoted_excerpt(req.get_header_value("Content-Type")) +
                                 ": send image/png, image/x-portable-graymap or application/json");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http_->Post("/predict", [this](const httplib::Request& req, httplib::Response& res) {
    try {
      const PredictRequest request = parse_predict_request(req.get_header_value("Content-Type"), req.body);
      const std::vector<float> probs = queue_.predict(request.pixels, request.count);
      answer_json(res, 200, prediction_response(request, probs.data(), int(probs.size() / size_t(request.count))));
    } catch (const RequestError& e) {
      answer_error(res, e.status(), e.what());
    }
  });

  // What httplib answers by itself (a malformed request line: 400; a URI over 8 KiB: 414) gets a JSON body
  // too; the answers above already have theirs.
  http_->set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (!res.has_header("Content-Security-Policy")) set_security_headers(res, kNothingPolicy);
    answer_error(res, res.status, res.status == 414 ? "the request line is longer than 8 KiB"
                                  : res.status == 416 ? "a Range this server cannot serve"
                                                      : "malformed HTTP request (status " + std::to_string(res.status) + ")");
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
    std::string message = "internal error";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      message = std::string("internal error: ") + e.what();
    } catch (...) {
    }
    set_security_headers(res, kNothingPolicy);
    answer_error(res, 500, message);
  });
}

int DigitServer::bind() {
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  if (options_.port == 0) {
    const int port = http_->bind_to_any_port(options_.host);
    if (port < 0) throw UsageError("--host " + options_.host + ": cannot listen there (not an address of this machine?)");
    return port;
  }
  if (!http_->bind_to_port(options_.host, options_.port))
    throw UsageError("cannot listen on " + where + " (--host, --port): the port is taken, or the host is not an "
                     "address of this machine");
  return options_.port;
}

void DigitServer::run() {
  std::signal(SIGPIPE, SIG_IGN);  // httplib writes with send(2) without MSG_NOSIGNAL
  running_ = true;
  if (!stopping_) http_->listen_after_bind();
  running_ = false;
}

void DigitServer::stop() {
  stopping_ = true;
  // httplib's stop() acts only once its accept loop runs: wait for that when run() has begun.
  while (running_) {
    if (http_->is_running()) {
      http_->stop();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace cudamlp::serve
