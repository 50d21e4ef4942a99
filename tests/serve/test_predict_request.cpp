// POST /predict's body parsing and answers (host/serve/predict_request.h) and the batching inference
// queue (prediction_queue.h), without sockets.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_process.h"
#include "predict_request.h"
#include "cudamlp/mnist_digit.h"
#include "prediction_queue.h"
#include "test_pictures.h"

namespace cudamlp::serve {
namespace {

using cudamlp::testing::drawn_digit;

std::string pixels_json(int count, double value = 7) {
  nlohmann::json pixels = std::vector<double>(size_t(count), value);
  return nlohmann::json{{"pixels", pixels}}.dump();
}

// The status and message of the RequestError that parsing body throws; fails the test otherwise.
std::pair<int, std::string> refusal(const std::string& content_type, const std::string& body) {
  try {
    parse_predict_request(content_type, body);
  } catch (const RequestError& e) {
    return {e.status(), e.what()};
  }
  ADD_FAILURE() << "accepted " << body.substr(0, 80);
  return {0, ""};
}

TEST(PredictRequest, JsonPixelsAreOneSample) {
  const PredictRequest request = parse_predict_request("application/json; charset=utf-8", pixels_json(784, 12.5));
  EXPECT_EQ(request.count, 1);
  EXPECT_FALSE(request.batch);
  ASSERT_EQ(request.pixels.size(), 784u);
  EXPECT_EQ(request.pixels[783], 12.5f);
}

TEST(PredictRequest, JsonListOfListsIsABatch) {
  nlohmann::json batch = nlohmann::json::array();
  for (int i = 0; i < 3; ++i) batch.push_back(std::vector<int>(784, i));
  const PredictRequest request = parse_predict_request("application/json", nlohmann::json{{"pixels", batch}}.dump());
  EXPECT_TRUE(request.batch);
  EXPECT_EQ(request.count, 3);
  EXPECT_EQ(request.pixels[2 * 784], 2.0f);
}

TEST(PredictRequest, RefusesMalformedJsonWithTheProblemNamed) {
  EXPECT_EQ(refusal("application/json", "{\"pixels\": [1, 2,").first, 400);
  const auto [status, message] = refusal("application/json", pixels_json(783));
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("783 values"), std::string::npos) << message;
  EXPECT_EQ(refusal("application/json", R"({"pixels": [NaN]})").first, 400);  // not JSON
  nlohmann::json strings = std::vector<int>(784, 0);
  strings[0] = "7";
  EXPECT_NE(refusal("application/json", nlohmann::json{{"pixels", strings}}.dump()).second.find("pixels[0] is '\"7\"'"),
            std::string::npos);
  std::string huge = "{\"pixels\": [1e999";  // beyond a double: not a JSON number nlohmann accepts
  for (int i = 1; i < 784; ++i) huge += ",0";
  EXPECT_EQ(refusal("application/json", huge + "]}").first, 400);
  EXPECT_EQ(refusal("application/json", pixels_json(784, 255.5)).first, 400);
  EXPECT_EQ(refusal("application/json", pixels_json(784, -1)).first, 400);
  EXPECT_EQ(refusal("application/json", R"({"pixels": []})").first, 400);
  EXPECT_EQ(refusal("application/json", R"([1, 2])").first, 400);
  EXPECT_NE(refusal("application/json", R"({"pixels": [], "x": 1})").second.find("unknown key 'x'"), std::string::npos);
}

TEST(PredictRequest, RefusesJsonNestedDeeperThanABatchWithoutRecursingIntoIt) {
  // A million levels: recursing over it (nlohmann's dump in an error message) would overflow the stack.
  constexpr int kDepth = 1'000'000;
  std::string deep = "{\"pixels\": [" + std::string(kDepth, '[') + std::string(kDepth, ']');
  for (int i = 1; i < 784; ++i) deep += ",0";
  const auto [status, message] = refusal("application/json", deep + "]}");
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("nests deeper"), std::string::npos) << message;
  // A list where a number should be, within the depth a body may have, is named by its type.
  nlohmann::json nested = std::vector<int>(784, 0);
  nested[1] = std::vector<int>{1};
  const std::string list_message = refusal("application/json", nlohmann::json{{"pixels", nested}}.dump()).second;
  EXPECT_NE(list_message.find("pixels[1] is an array"), std::string::npos) << list_message;
  // Brackets inside strings are not nesting.
  const std::string string_message = refusal("application/json", R"({"pixels": "[[[[[["})").second;
  EXPECT_EQ(string_message.find("nests deeper"), std::string::npos) << string_message;
}

TEST(PredictRequest, RefusesABatchLargerThanOnePredictCall) {
  nlohmann::json batch = nlohmann::json::array();
  for (int64_t i = 0; i <= kMaxBatch; ++i) batch.push_back(std::vector<int>(784, 0));
  EXPECT_EQ(refusal("application/json", nlohmann::json{{"pixels", batch}}.dump()).first, 413);
}

TEST(PredictRequest, PicturesGoThroughPredictsPreprocessing) {
  const PredictRequest png = parse_predict_request("image/png", cudamlp::testing::gray_png(drawn_digit('7')));
  EXPECT_EQ(png.count, 1);
  ASSERT_TRUE(png.inverted.has_value());
  EXPECT_TRUE(*png.inverted);  // dark ink on white paper
  const MnistDigit digit = mnist_digit_from_image(drawn_digit('7'));
  EXPECT_EQ(png.pixels, std::vector<float>(digit.pixels.begin(), digit.pixels.end()));
  const PredictRequest pgm =
      parse_predict_request("image/x-portable-graymap", cudamlp::testing::pgm_file(drawn_digit('7')));
  EXPECT_EQ(pgm.pixels, png.pixels);
}

TEST(PredictRequest, RefusesBrokenPicturesAndOtherTypes) {
  const std::string png = cudamlp::testing::gray_png(drawn_digit('1'));
  const auto [status, message] = refusal("image/png", png.substr(0, png.size() / 2));  // truncated
  EXPECT_EQ(status, 400);
  EXPECT_EQ(message.rfind("the picture: ", 0), 0u) << message;
  // A header claiming 65536 x 65536 pixels: refused before anything is allocated.
  std::string ihdr = cudamlp::testing::be32(65536) + cudamlp::testing::be32(65536) + std::string("\x08\x00\x00\x00\x00", 5);
  EXPECT_EQ(refusal("image/png", std::string("\x89PNG\r\n\x1a\n", 8) + cudamlp::testing::png_chunk("IHDR", ihdr)).first, 400);
  const cudamlp::GrayImage blank{28, 28, std::vector<uint8_t>(784, 255)};
  EXPECT_NE(refusal("image/png", cudamlp::testing::gray_png(blank)).second.find("no digit"), std::string::npos);
  EXPECT_EQ(refusal("text/plain", "1 2 3").first, 415);
  EXPECT_EQ(refusal("", "").first, 415);
}

TEST(PredictRequest, AnswersPredictedProbabilitiesAndInput) {
  const PredictRequest request = parse_predict_request("image/png", cudamlp::testing::gray_png(drawn_digit('0')));
  std::vector<float> probs(10, 0.05f);
  probs[3] = 0.55f;
  const nlohmann::json answer = nlohmann::json::parse(prediction_response(request, probs.data(), 10));
  EXPECT_EQ(answer["predicted"], 3);
  EXPECT_EQ(answer["probabilities"].size(), 10u);
  EXPECT_EQ(answer["input"].size(), 784u);
  EXPECT_EQ(answer["input"].get<std::vector<float>>(), request.pixels);
  EXPECT_EQ(answer["inverted"], true);
}

// A PredictFunction that answers probs[i][c] = the first value of sample i (scaled back to 0..255), so
// each answer shows which sample it was computed from.
void echo_first_value(const float* x, int64_t n, float* probs) {
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < 10; ++c) probs[i * 10 + c] = x[i * 784] * 255.0f;
}

TEST(PredictionQueue, ConcurrentRequestsShareOnePredictCall) {
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::atomic<int> calls{0};
  std::vector<int64_t> sizes(2, 0);
  PredictionQueue queue(
      [&](const float* x, int64_t n, float* probs) {
        const int call = calls++;
        if (call < 2) sizes[size_t(call)] = n;
        if (call == 0) open.wait();  // the first request holds the thread while the others queue up
        echo_first_value(x, n, probs);
      },
      784, 10, kMaxBatch);
  constexpr int kRequests = 8;
  std::vector<std::vector<float>> answers(kRequests);
  std::vector<std::thread> workers;
  workers.emplace_back([&] { answers[0] = queue.predict(std::vector<float>(784, 0), 1); });
  ASSERT_TRUE(cudamlp::testing::wait_until([&] { return calls.load() == 1; }, std::chrono::seconds(10)));
  for (int r = 1; r < kRequests; ++r)
    workers.emplace_back([&, r] { answers[size_t(r)] = queue.predict(std::vector<float>(784, float(r)), 1); });
  ASSERT_TRUE(cudamlp::testing::wait_until([&] { return queue.waiting() == kRequests - 1; }, std::chrono::seconds(10)));
  gate.set_value();
  for (std::thread& worker : workers) worker.join();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(sizes[1], kRequests - 1);  // every queued request in the second call
  for (int r = 0; r < kRequests; ++r) {
    ASSERT_EQ(answers[size_t(r)].size(), 10u);
    EXPECT_FLOAT_EQ(answers[size_t(r)][0], float(r)) << "request " << r << " got another's answer";
  }
  EXPECT_EQ(queue.stats().requests, kRequests);
  EXPECT_EQ(queue.stats().batches, 2);
}

TEST(PredictionQueue, AnErrorReachesEveryRequestOfItsBatchAndTheQueueGoesOn) {
  std::atomic<bool> fail{true};
  PredictionQueue queue(
      [&](const float* x, int64_t n, float* probs) {
        if (fail) throw Error("device lost");
        echo_first_value(x, n, probs);
      },
      784, 10, kMaxBatch);
  EXPECT_THROW(queue.predict(std::vector<float>(784, 1), 1), Error);
  fail = false;
  EXPECT_FLOAT_EQ(queue.predict(std::vector<float>(784, 9), 1)[0], 9.0f);
  EXPECT_THROW(queue.predict(std::vector<float>(783, 1), 1), Error);  // not a sample
}

}  // namespace
}  // namespace cudamlp::serve
