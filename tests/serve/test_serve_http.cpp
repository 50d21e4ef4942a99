// `cudamlp serve`'s HTTP server on loopback (host/serve/digit_server.h), in this process: every endpoint,
// every error status, hostile clients (a 100 MB body, a slowloris), a load test, and after each of them
// the server still answers. The command itself (signals, messages) is tested at the end.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <csignal>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_process.h"
#include "digit_server.h"
#include "loopback_load.h"
#include "predict_request.h"
#include "cudamlp/mnist_digit.h"
#include "prediction_queue.h"
#include "test_helpers.h"
#include "test_pictures.h"
#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "cudamlp/model.h"
#include "cudamlp/model_file.h"

namespace cudamlp::serve {
namespace {

using Clock = std::chrono::steady_clock;
using cudamlp::testing::drawn_digit;

// The server's probabilities are the reference backend's, computed in double and rounded once, for
// any batch they are computed in; float printing and parsing in JSON keeps them within an ULP or so.
constexpr float kProbabilityTolerance = 1e-6f;

// A server on a free loopback port with a small random 784-32-10 model on the reference backend.
class RunningServer {
 public:
  explicit RunningServer(ServerOptions options = {}) {
    options.port = 0;
    backend_ = make_backend("reference");
    backend_->set_model(make_mlp(std::vector<int>{784, 32, 10}, 7));
    queue_ = std::make_unique<PredictionQueue>(
        [this](const float* x, int64_t n, float* probs) { backend_->predict(x, n, probs); }, 784, 10, kMaxBatch);
    server_ = std::make_unique<DigitServer>(options, R"({"name":"test.safetensors","sizes":[784,32,10]})", *queue_);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  Backend& backend() { return *backend_; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    return c;
  }
  // GET /healthz answers 200: the server is still serving.
  bool healthy() const {
    const httplib::Result answer = client().Get("/healthz");
    return answer && answer->status == 200 && answer->body == R"({"status":"ok"})";
  }

 private:
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<PredictionQueue> queue_;
  std::unique_ptr<DigitServer> server_;
  int port_ = 0;
  std::thread thread_;
};

RunningServer& shared_server() {
  static RunningServer server;
  return server;
}

std::string pixels_body(const std::vector<uint8_t>& pixels) {
  return nlohmann::json{{"pixels", pixels}}.dump();
}

std::vector<uint8_t> some_pixels(int seed) {
  std::vector<uint8_t> pixels(784);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t((i * 37 + size_t(seed) * 101) % 256);
  return pixels;
}

std::vector<float> direct_probabilities(Backend& backend, const std::vector<uint8_t>& pixels) {
  std::vector<float> x(pixels.begin(), pixels.end()), probs(10);
  for (float& v : x) v /= 255.0f;
  backend.predict(x.data(), 1, probs.data());
  return probs;
}

// Passes when answer is JSON {"error": ...} with this status.
::testing::AssertionResult is_error(const httplib::Result& answer, int status) {
  if (!answer) return ::testing::AssertionFailure() << "no answer: " << httplib::to_string(answer.error());
  if (answer->status != status)
    return ::testing::AssertionFailure() << "status " << answer->status << ", expected " << status << ": " << answer->body;
  const nlohmann::json body = nlohmann::json::parse(answer->body, nullptr, false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_string() || body["error"].get<std::string>().empty())
    return ::testing::AssertionFailure() << "not {\"error\": message}: " << answer->body;
  if (answer->get_header_value("Content-Type") != "application/json")
    return ::testing::AssertionFailure() << "Content-Type " << answer->get_header_value("Content-Type");
  return ::testing::AssertionSuccess();
}

// A raw TCP connection to the server, for what httplib's client will not send.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }
  // Sends as much of bytes as the peer takes; false once it refuses more (closed, reset).
  bool send_all(const std::string& bytes) {
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += size_t(n);
    }
    return true;
  }
  // What arrives until the peer closes or `timeout` passes.
  std::string receive(std::chrono::milliseconds timeout, bool* closed = nullptr) {
    std::string bytes;
    const Clock::time_point end = Clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (left <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, int(left)) <= 0) break;
      char buffer[65536];
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        break;
      }
      bytes.append(buffer, size_t(n));
    }
    return bytes;
  }

 private:
  int fd_;
  bool connected_ = false;
};

// --- the endpoints ---

TEST(ServeHttp, PageIsSelfContainedWithANoncePolicy) {
  const httplib::Result page = shared_server().client().Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  const std::string policy = page->get_header_value("Content-Security-Policy");
  const size_t at = policy.find("script-src 'nonce-");
  ASSERT_NE(at, std::string::npos) << policy;
  const std::string nonce = policy.substr(at + 18, 32);
  EXPECT_NE(page->body.find("<script nonce=\"" + nonce + "\">"), std::string::npos);
  EXPECT_NE(page->body.find("<style nonce=\"" + nonce + "\">"), std::string::npos);
  EXPECT_NE(policy.find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos) << "the page must fetch nothing from elsewhere";
  EXPECT_EQ(page->body.find("https://"), std::string::npos);
  EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(page->get_header_value("X-Frame-Options"), "DENY");
  // Every page has a nonce of its own.
  const httplib::Result again = shared_server().client().Get("/");
  ASSERT_TRUE(again);
  EXPECT_NE(again->get_header_value("Content-Security-Policy"), policy);
}

TEST(ServeHttp, ModelAndHealthzAnswerJson) {
  const httplib::Result model = shared_server().client().Get("/model");
  ASSERT_TRUE(model);
  EXPECT_EQ(model->status, 200);
  EXPECT_EQ(nlohmann::json::parse(model->body)["sizes"], nlohmann::json::parse("[784,32,10]"));
  EXPECT_TRUE(shared_server().healthy());
}

TEST(ServeHttp, PredictsJsonPixelsAsTheBackendDoes) {
  const std::vector<uint8_t> pixels = some_pixels(1);
  const httplib::Result answer = shared_server().client().Post("/predict", pixels_body(pixels), "application/json");
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->status, 200) << answer->body;
  const nlohmann::json json = nlohmann::json::parse(answer->body);
  const std::vector<float> expected = direct_probabilities(shared_server().backend(), pixels);
  const std::vector<float> got = json["probabilities"].get<std::vector<float>>();
  ASSERT_EQ(got.size(), 10u);
  for (size_t c = 0; c < 10; ++c) EXPECT_NEAR(got[c], expected[c], kProbabilityTolerance) << "class " << c;
  EXPECT_EQ(json["predicted"], int(std::max_element(expected.begin(), expected.end()) - expected.begin()));
  EXPECT_EQ(json["input"].get<std::vector<int>>(), std::vector<int>(pixels.begin(), pixels.end()));
}

TEST(ServeHttp, PredictsABatchAsAList) {
  nlohmann::json batch = nlohmann::json::array();
  for (int i = 0; i < 3; ++i) batch.push_back(some_pixels(i));
  const httplib::Result answer =
      shared_server().client().Post("/predict", nlohmann::json{{"pixels", batch}}.dump(), "application/json");
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->status, 200) << answer->body;
  const nlohmann::json list = nlohmann::json::parse(answer->body);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const std::vector<float> expected = direct_probabilities(shared_server().backend(), some_pixels(i));
    EXPECT_NEAR(list[size_t(i)]["probabilities"][0].get<float>(), expected[0], kProbabilityTolerance);
  }
}

TEST(ServeHttp, PredictsPngAndPgmPictures) {
  const MnistDigit digit = mnist_digit_from_image(drawn_digit('7'));
  for (const auto& [type, body] : {std::pair{"image/png", cudamlp::testing::gray_png(drawn_digit('7'))},
                                   std::pair{"image/x-portable-graymap", cudamlp::testing::pgm_file(drawn_digit('7'))}}) {
    const httplib::Result answer = shared_server().client().Post("/predict", body, type);
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->status, 200) << type << ": " << answer->body;
    const nlohmann::json json = nlohmann::json::parse(answer->body);
    EXPECT_EQ(json["input"].get<std::vector<int>>(), std::vector<int>(digit.pixels.begin(), digit.pixels.end())) << type;
    EXPECT_EQ(json["inverted"], true) << type;
  }
}

// --- every error, and the server goes on after each ---

TEST(ServeHttp, BadBodiesAre400) {
  httplib::Client client = shared_server().client();
  EXPECT_TRUE(is_error(client.Post("/predict", "{\"pixels\": [1,", "application/json"), 400));
  EXPECT_TRUE(is_error(client.Post("/predict", pixels_body(std::vector<uint8_t>(783, 1)), "application/json"), 400));
  EXPECT_TRUE(is_error(client.Post("/predict", R"({"pixels": [NaN]})", "application/json"), 400));
  EXPECT_TRUE(is_error(client.Post("/predict", R"({"pixels": ["a"]})", "application/json"), 400));
  const std::string png = cudamlp::testing::gray_png(drawn_digit('1'));
  EXPECT_TRUE(is_error(client.Post("/predict", png.substr(0, 60), "image/png"), 400));
  std::string ihdr = cudamlp::testing::be32(1u << 30) + cudamlp::testing::be32(1u << 30) + std::string("\x08\x00\x00\x00\x00", 5);
  EXPECT_TRUE(is_error(client.Post("/predict", std::string("\x89PNG\r\n\x1a\n", 8) + cudamlp::testing::png_chunk("IHDR", ihdr),
                                   "image/png"),
                       400));
  EXPECT_TRUE(shared_server().healthy());
}

TEST(ServeHttp, WrongPathMethodTypeEncodingAndLengthHaveTheirStatus) {
  httplib::Client client = shared_server().client();
  EXPECT_TRUE(is_error(client.Get("/etc/passwd"), 404));
  EXPECT_TRUE(is_error(client.Get("/../../etc/passwd"), 404));
  EXPECT_TRUE(is_error(client.Get("/predict"), 405));
  const httplib::Result put = client.Put("/model", "x", "text/plain");
  EXPECT_TRUE(is_error(put, 405));
  if (put) {
    EXPECT_EQ(put->get_header_value("Allow"), "GET, HEAD");
  }
  EXPECT_TRUE(is_error(client.Post("/", "x", "text/plain"), 405));
  EXPECT_TRUE(is_error(client.Post("/predict", "1 2 3", "text/plain"), 415));
  EXPECT_TRUE(is_error(client.Post("/predict", std::string(100, 'x'), "application/x-www-form-urlencoded"), 415));
  httplib::Headers gzip = {{"Content-Encoding", "gzip"}};
  EXPECT_TRUE(is_error(client.Post("/predict", gzip, "xx", "application/json"), 415));
  httplib::Headers rebinding = {{"Host", "attacker.example:80"}};
  EXPECT_TRUE(is_error(client.Get("/model", rebinding), 403));
  EXPECT_TRUE(shared_server().healthy());
}

// A chunked body has no size to check before reading it: refused (411) from its headers.
TEST(ServeHttp, ChunkedBodyIs411) {
  RawConnection raw(shared_server().port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.send_all("POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"));
  const std::string answer = raw.receive(std::chrono::seconds(5));
  EXPECT_EQ(answer.rfind("HTTP/1.1 411", 0), 0u) << answer;
  EXPECT_TRUE(shared_server().healthy());
}

TEST(ServeHttp, RequestsForAnotherHostAre403) {
  httplib::Client client = shared_server().client();
  // Names that only start like a loopback address are names, which anyone can point at 127.0.0.1.
  for (const char* host : {"attacker.example:80", "127.0.0.1.attacker.example:8080", "127.evil:80", "localhost.evil"}) {
    const httplib::Headers rebinding = {{"Host", host}};
    EXPECT_TRUE(is_error(client.Get("/model", rebinding), 403)) << host;
  }
  for (const char* host : {"127.0.0.1:8080", "127.1.2.3", "localhost:80", "[::1]:8080"}) {
    const httplib::Headers loopback = {{"Host", host}};
    const httplib::Result answer = client.Get("/healthz", loopback);
    ASSERT_TRUE(answer) << host;
    EXPECT_EQ(answer->status, 200) << host;
  }
  EXPECT_TRUE(shared_server().healthy());
}

TEST(ServeHttp, MalformedRequestLineGetsAJsonAnswer) {
  RawConnection raw(shared_server().port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.send_all("NONSENSE\r\n\r\n"));
  const std::string answer = raw.receive(std::chrono::seconds(5));
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_NE(answer.find("{\"error\":"), std::string::npos) << answer;
  EXPECT_TRUE(shared_server().healthy());
}

// How soon a body over the limit must be refused: from its header, before the body is read. Reading
// 100 MB on loopback would take a fraction of a second too, so the test also checks the server did not
// take it in: the client could not send it all.
constexpr auto kQuickRefusal = std::chrono::seconds(3);

TEST(ServeHttp, AHundredMegabyteBodyIs413AtOnceAndNotRead) {
  RawConnection raw(shared_server().port());
  ASSERT_TRUE(raw.connected());
  const size_t declared = size_t{100} << 20;
  const Clock::time_point start = Clock::now();
  ASSERT_TRUE(raw.send_all("POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: " +
                           std::to_string(declared) + "\r\n\r\n"));
  const std::string answer = raw.receive(kQuickRefusal);
  EXPECT_LT(Clock::now() - start, kQuickRefusal);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_NE(answer.find("\"error\":\"a body of 104857600 bytes; at most 8388608\""), std::string::npos) << answer;
  // The connection is closed with the body unread: 100 MB cannot go in.
  bool all_sent = true;
  const std::string megabyte(size_t{1} << 20, 'x');
  for (int i = 0; i < 100 && all_sent; ++i) all_sent = raw.send_all(megabyte);
  EXPECT_FALSE(all_sent) << "the server read the whole 100 MB body";
  EXPECT_TRUE(shared_server().healthy());
}

// --timeout: a client that stops sending is dropped after it; connections of others are served.
TEST(ServeHttp, SlowlorisClientsAreDroppedAfterTheTimeout) {
  ServerOptions options;
  options.threads = 2;
  options.timeout_seconds = 1;
  RunningServer server(options);
  std::vector<std::unique_ptr<RawConnection>> stalled;
  for (int i = 0; i < 2; ++i) {  // as many as there are worker threads
    stalled.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(stalled.back()->connected());
    ASSERT_TRUE(stalled.back()->send_all("POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"));
  }
  const Clock::time_point start = Clock::now();
  for (auto& connection : stalled) {
    bool closed = false;
    connection->receive(std::chrono::seconds(5), &closed);
    EXPECT_TRUE(closed) << "a stalled client was not dropped";
  }
  // One timeout plus scheduling slack on a busy machine.
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(4));
  EXPECT_TRUE(server.healthy());
}

// --- load: many concurrent clients, bounded in requests and seconds; none may fail ---

TEST(ServeLoad, ConcurrentClientsAllGetTheirAnswer) {
  const int clients = 8;
  const int64_t requests = cudamlp::testing::kUnderSanitizer ? 10 : 40;
  const cudamlp::testing::LoadResult result = cudamlp::testing::run_loopback_load(
      shared_server().port(), clients, requests, "image/png", cudamlp::testing::gray_png(drawn_digit('0')),
      std::chrono::seconds(60));
  EXPECT_EQ(result.failed, 0) << result.first_failure;
  EXPECT_EQ(result.sent, clients * requests) << "the deadline passed first";
  EXPECT_TRUE(shared_server().healthy());
  std::cout << result.sent << " requests in " << result.seconds << " s: " << result.requests_per_second()
            << " requests/s, p50 " << cudamlp::testing::percentile(result.latencies_ms, 50) << " ms, p99 "
            << cudamlp::testing::percentile(result.latencies_ms, 99) << " ms\n";
}

// --- the command ---

// The port a `cudamlp serve --port 0` prints ("listening on http://127.0.0.1:PORT/"), once it has.
int printed_port(const cudamlp::testing::CliProcess& process) {
  int port = 0;
  cudamlp::testing::wait_until(
      [&] {
        const std::string out = process.out_so_far();
        const size_t at = out.find("listening on http://");
        if (at == std::string::npos) return false;
        const size_t colon = out.find(':', at + 20);
        port = std::atoi(out.c_str() + colon + 1);
        return port > 0;
      },
      std::chrono::seconds(30));
  return port;
}

TEST(ServeCli, ServesUntilSigtermAndStopsCleanly) {
  cudamlp::testing::TempDir dir;
  const std::string model = dir.file("m.safetensors");
  save_model(model, make_mlp(std::vector<int>{784, 16, 10}, 3));
  for (const int signal : {SIGTERM, SIGINT}) {
    cudamlp::testing::CliProcess serve({"serve", "--model", model, "--port", "0", "--device", "reference"});
    const int port = printed_port(serve);
    ASSERT_GT(port, 0) << serve.out_so_far();
    httplib::Client client("127.0.0.1", port);
    const httplib::Result model_info = client.Get("/model");
    ASSERT_TRUE(model_info);
    EXPECT_EQ(nlohmann::json::parse(model_info->body)["name"], "m.safetensors");
    EXPECT_EQ(nlohmann::json::parse(model_info->body)["device"], "reference");
    serve.send(signal);
    const cudamlp::testing::CommandResult result = serve.wait();
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.err.find(std::string("stopped by ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT")), std::string::npos)
        << result.err;
  }
}

TEST(ServeCli, SaysSoWhenListeningBeyondLoopback) {
  cudamlp::testing::TempDir dir;
  const std::string model = dir.file("m.safetensors");
  save_model(model, make_mlp(std::vector<int>{784, 16, 10}, 3));
  cudamlp::testing::CliProcess serve({"serve", "--model", model, "--host", "0.0.0.0", "--port", "0", "--device", "reference"});
  ASSERT_GT(printed_port(serve), 0) << serve.out_so_far();
  serve.send(SIGTERM);
  const cudamlp::testing::CommandResult result = serve.wait();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("warning: listening on 0.0.0.0"), std::string::npos) << result.err;
}

TEST(ServeCli, RefusesAModelThatIsNotForDigits) {
  cudamlp::testing::TempDir dir;
  const std::string model = dir.file("m.safetensors");
  save_model(model, make_mlp(std::vector<int>{20, 4, 3}, 3));
  const cudamlp::testing::CommandResult result = cudamlp::testing::run_cli({"serve", "--model", model, "--port", "0"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(cudamlp::testing::is_short_printable_line(result.err)) << result.err;
  EXPECT_NE(result.err.find("takes 20 inputs"), std::string::npos) << result.err;
}

// --- in a real browser: tests/serve/browser/browser_test.mjs drives the page in headless Chromium ---

const std::string kMnistDir = std::string(CUDAMLP_SOURCE_DIR) + "/data/mnist";
const std::string kBrowserDir = std::string(CUDAMLP_SOURCE_DIR) + "/tests/serve/browser";
// MNIST test digits drawn on the page (t10k indices): a 7, a 2 and a 1, the file's first three.
constexpr int kDrawnDigits[] = {0, 1, 2};
constexpr int kUploadedDigit = 3;  // a 0, uploaded as a PNG of the test image itself
// The ten percentages shown are each rounded to 0.1.
constexpr double kPercentRounding = 0.5;

TEST(ServeBrowser, DrawnAndUploadedDigitsShowTheirPrediction) {
  const std::string chromium = cudamlp::testing::find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "no Chromium found (chromium-headless-shell, chromium; or set CUDAMLP_CHROMIUM)";
  const std::string node = cudamlp::testing::find_in_path({"node", "nodejs"});
  if (node.empty()) GTEST_SKIP() << "no node in PATH (Debian's nodejs) to run playwright-core";
  if (!std::filesystem::exists(kBrowserDir + "/node_modules/playwright-core/package.json"))
    GTEST_SKIP() << "playwright-core is not installed in " << kBrowserDir << " (scripts/setup.sh runs npm ci there)";
  if (!std::filesystem::exists(kMnistDir + "/t10k-images-idx3-ubyte"))
    GTEST_SKIP() << "MNIST not in " << kMnistDir << " (data/fetch-mnist.sh)";
  cudamlp::testing::TempDir dir;
  const std::string model = dir.file("digits.safetensors");
  // A small network trained for a few seconds (about 96% on the test set): enough to read these digits.
  const cudamlp::testing::CommandResult trained = cudamlp::testing::run_cli(
      {"train", "--data", kMnistDir, "--limit", "20000", "--hidden", "128", "--epochs", "3", "--optimizer", "adam",
       "--lr", "0.002", "--device", "cpu", "--threads", "1", "--out", model});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;

  const Dataset test = load_idx(kMnistDir + "/t10k-images-idx3-ubyte", kMnistDir + "/t10k-labels-idx1-ubyte");
  nlohmann::json digits = nlohmann::json::array();
  for (const int index : kDrawnDigits)
    digits.push_back({{"pixels", std::vector<uint8_t>(test.pixels.begin() + index * 784, test.pixels.begin() + (index + 1) * 784)}});
  cudamlp::testing::write_file(dir.file("digits.json"), digits.dump());
  const GrayImage uploaded{28, 28, std::vector<uint8_t>(test.pixels.begin() + kUploadedDigit * 784,
                                                        test.pixels.begin() + (kUploadedDigit + 1) * 784)};
  cudamlp::testing::write_file(dir.file("upload.png"), cudamlp::testing::gray_png(uploaded));

  cudamlp::testing::CliProcess serve({"serve", "--model", model, "--port", "0", "--device", "cpu"});
  const int port = printed_port(serve);
  ASSERT_GT(port, 0) << serve.out_so_far();
  // CUDAMLP_SERVE_SCREENSHOT: where to keep the screenshot (the README's is docs/serve-page.png).
  const char* keep = std::getenv("CUDAMLP_SERVE_SCREENSHOT");
  const std::string screenshot = keep ? keep : dir.file("page.png");
  const cudamlp::testing::CommandResult browser = cudamlp::testing::run_program(
      "timeout", {"120", node, kBrowserDir + "/browser_test.mjs", chromium, "http://127.0.0.1:" + std::to_string(port) + "/",
                  dir.file("digits.json"), dir.file("upload.png"), screenshot});
  ASSERT_EQ(browser.exit_code, 0) << browser.err << browser.out;
  const nlohmann::json seen = nlohmann::json::parse(browser.out);
  EXPECT_TRUE(seen["problems"].empty()) << seen["problems"].dump();
  // The model line: its name, sizes, and the test accuracy train printed for its last (saved) epoch.
  const size_t accuracy_at = trained.out.rfind("test acc");
  ASSERT_NE(accuracy_at, std::string::npos) << trained.out;
  const std::string accuracy = trained.out.substr(trained.out.find_first_not_of(' ', accuracy_at + 8), 6);  // "96.25%"
  EXPECT_NE(seen["model"].get<std::string>().find("digits.safetensors: 784-128-10 "), std::string::npos) << seen["model"];
  EXPECT_NE(seen["model"].get<std::string>().find("test accuracy " + accuracy), std::string::npos) << seen["model"];
  ASSERT_EQ(seen["digits"].size(), std::size(kDrawnDigits));
  const auto check_shown = [&](const nlohmann::json& shown, int label, const std::string& what) {
    EXPECT_EQ(shown["error"], "") << what;
    EXPECT_EQ(shown["predicted"], std::to_string(label)) << what << ": " << shown.dump();
    EXPECT_EQ(shown["best"], label) << what << ": the highlighted bar";
    double total = 0;
    for (const auto& percent : shown["percents"]) total += percent.get<double>();
    EXPECT_NEAR(total, 100.0, kPercentRounding) << what;
    EXPECT_GT(shown["seen_ink"].get<double>(), 0) << what << ": the 28x28 input is not drawn";
  };
  for (size_t i = 0; i < std::size(kDrawnDigits); ++i) {
    EXPECT_GT(seen["digits"][i]["strokes"].get<int>(), 3);
    check_shown(seen["digits"][i], test.labels[size_t(kDrawnDigits[i])], "drawn test digit " + std::to_string(kDrawnDigits[i]));
  }
  check_shown(seen["picture"], test.labels[size_t(kUploadedDigit)], "uploaded test digit");
  EXPECT_TRUE(std::filesystem::file_size(screenshot) > 10000) << "the screenshot is missing or blank";
  serve.send(SIGTERM);
  EXPECT_EQ(serve.wait().exit_code, 0);
}

}  // namespace
}  // namespace cudamlp::serve
