// POST /predict bodies into samples, and the JSON answers; see predict_request.h.
#include "predict_request.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <nlohmann/json.hpp>

#include "format.h"
#include "cudamlp/mnist_digit.h"

namespace cudamlp::serve {

namespace {

// "Image/PNG; charset=x" -> "image/png"
std::string media_type(std::string_view content_type) {
  const size_t end = std::min(content_type.find(';'), content_type.size());
  std::string type(content_type.substr(0, end));
  type.erase(std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }), type.end());
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return type;
}

// One sample's 784 values from a JSON array, appended to pixels; `where` names it in messages ("pixels",
// "pixels[3]").
void append_sample(const nlohmann::json& values, const std::string& where, std::vector<float>& pixels) {
  if (!values.is_array())
    throw RequestError(400, where + " is " + std::string(values.type_name()) + ", expected a list of " +
                                std::to_string(kSampleSize) + " numbers 0..255");
  if (int64_t(values.size()) != kSampleSize)
    throw RequestError(400, where + " has " + std::to_string(values.size()) + " values; a sample is 28x28 = " +
                                std::to_string(kSampleSize));
  for (size_t i = 0; i < values.size(); ++i) {
    const nlohmann::json& value = values[i];
    // JSON has no NaN or infinity literal, and nlohmann refuses numbers beyond a double; checked anyway.
    const bool in_range = value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() >= 0 &&
                          value.get<double>() <= 255;
    if (!in_range) {
      // Only a scalar is quoted: dump() recurses over whatever it is given.
      const std::string what = value.is_structured()
                                   ? "an " + std::string(value.type_name())
                                   : quoted_excerpt(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      throw RequestError(400, where + "[" + std::to_string(i) + "] is " + what + ", expected a number in [0, 255]");
    }
    pixels.push_back(value.get<float>());
  }
}

// Whether body's arrays and objects nest deeper than `limit` (brackets inside strings do not count). The
// deepest valid body, a batch, nests 3 deep; refusing deeper ones before parsing keeps any recursion over
// the document (nlohmann's dump, for one) off a body 8 MiB of brackets deep.
bool nested_deeper_than(std::string_view body, int limit) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

PredictRequest parse_json(std::string_view body) {
  if (nested_deeper_than(body, 3))
    throw RequestError(400, "the JSON nests deeper than {\"pixels\": [[...], ...]}: " + quoted_excerpt(body));
  const nlohmann::json document = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded())
    throw RequestError(400, "the body is not valid JSON: " + quoted_excerpt(body));
  if (!document.is_object() || !document.contains("pixels"))
    throw RequestError(400, "expected a JSON object {\"pixels\": [784 numbers 0..255]} or {\"pixels\": [[...], ...]}");
  for (const auto& [key, value] : document.items())
    if (key != "pixels") throw RequestError(400, "unknown key " + quoted_excerpt(key) + " (only \"pixels\")");
  const nlohmann::json& pixels = document["pixels"];
  PredictRequest request;
  request.batch = pixels.is_array() && !pixels.empty() && pixels[0].is_array();
  if (!request.batch) {
    append_sample(pixels, "pixels", request.pixels);
    request.count = 1;
    return request;
  }
  if (int64_t(pixels.size()) > kMaxBatch)
    throw RequestError(413, "a batch of " + std::to_string(pixels.size()) + " samples; at most " +
                                std::to_string(kMaxBatch) + " per request");
  request.pixels.reserve(pixels.size() * size_t(kSampleSize));
  for (size_t i = 0; i < pixels.size(); ++i) append_sample(pixels[i], "pixels[" + std::to_string(i) + "]", request.pixels);
  request.count = int64_t(pixels.size());
  return request;
}

PredictRequest parse_picture(std::string_view body) {
  MnistDigit digit;
  try {
    digit = decode_mnist_digit(body, "the picture");
  } catch (const Error& e) {
    throw RequestError(400, e.what());
  }
  PredictRequest request;
  request.pixels.assign(digit.pixels.begin(), digit.pixels.end());
  request.count = 1;
  request.inverted = digit.inverted;
  return request;
}

// A value as JSON: whole numbers as integers (a picture's pixels, most JSON input), others as floats.
nlohmann::json value_json(float value) {
  if (value == std::floor(value)) return int(value);
  return value;
}

nlohmann::json prediction_json(const PredictRequest& request, int64_t sample, const float* probs, int classes) {
  const float* row = probs + sample * classes;
  const float* values = request.pixels.data() + sample * kSampleSize;
  nlohmann::json input = nlohmann::json::array();
  for (int64_t i = 0; i < kSampleSize; ++i) input.push_back(value_json(values[i]));
  nlohmann::json object = {{"predicted", int(std::max_element(row, row + classes) - row)},
                           {"probabilities", std::vector<float>(row, row + classes)},
                           {"input", std::move(input)}};
  if (request.inverted) object["inverted"] = *request.inverted;
  return object;
}

}  // namespace

BodyType body_type(std::string_view content_type) {
  const std::string type = media_type(content_type);
  if (type == "image/png" || type == "image/x-portable-graymap") return BodyType::kPicture;
  if (type == "application/json") return BodyType::kJson;
  return BodyType::kUnsupported;
}

PredictRequest parse_predict_request(std::string_view content_type, std::string_view body) {
  switch (body_type(content_type)) {
    case BodyType::kPicture: return parse_picture(body);
    case BodyType::kJson: return parse_json(body);
    case BodyType::kUnsupported: break;
  }
  throw RequestError(415, "Content-Type " + quoted_excerpt(content_type) +
                              ": send image/png, image/x-portable-graymap or application/json");
}

std::string prediction_response(const PredictRequest& request, const float* probs, int classes) {
  if (!request.batch) return prediction_json(request, 0, probs, classes).dump();
  nlohmann::json list = nlohmann::json::array();
  for (int64_t i = 0; i < request.count; ++i) list.push_back(prediction_json(request, i, probs, classes));
  return list.dump();
}

std::string error_response(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace cudamlp::serve
