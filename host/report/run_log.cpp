// Run logs: building one from a run, and JSON in and out. The format is described in run_log.h.
#include "cudamlp/run_log.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base64.h"
#include "cudamlp/atomic_file.h"
#include "cudamlp/errors.h"
#include "cudamlp/file_kind.h"
#include "format.h"

namespace cudamlp {

namespace {

constexpr const char* kFormat = "cudamlp-run-log";
constexpr int kVersion = 1;

// Reads fields of one JSON object, naming the path of a missing or mistyped field in the FileError.
class FieldReader {
 public:
  FieldReader(const nlohmann::ordered_json& object, std::string where, const std::string& file)
      : object_(object), where_(std::move(where)), file_(file) {
    if (!object_.is_object()) fail(where_, "expected an object");
  }

  const nlohmann::ordered_json& get(const char* key) const {
    const auto it = object_.find(key);
    if (it == object_.end()) fail(path(key), "missing");
    return *it;
  }
  bool has(const char* key) const { return object_.contains(key) && !object_[key].is_null(); }

  double number(const char* key) const {
    const nlohmann::ordered_json& value = get(key);
    if (!value.is_number()) fail(path(key), "expected a number");
    return value.get<double>();
  }
  // A loss, a time or a speed: no run has a negative one (JSON holds no NaN or infinity).
  double non_negative(const char* key) const {
    const double x = number(key);
    if (x < 0) fail(path(key), format("%g is negative", x));
    return x;
  }
  // An accuracy or a probability.
  double fraction(const char* key) const {
    const double x = number(key);
    if (!(x >= 0 && x <= 1)) fail(path(key), format("%g is outside [0, 1]", x));
    return x;
  }
  int64_t integer(const char* key, int64_t min, int64_t max) const {
    const nlohmann::ordered_json& value = get(key);
    if (!value.is_number_integer()) fail(path(key), "expected an integer");
    const auto n = value.get<int64_t>();
    if (n < min || n > max)
      fail(path(key),
           std::to_string(n) + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return n;
  }
  std::string path(const char* key) const { return where_.empty() ? key : where_ + "." + key; }

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw FileError(file_, "not a valid cudamlp run log: " + field + ": " + problem);
  }

 private:
  const nlohmann::ordered_json& object_;
  std::string where_;
  const std::string& file_;
};

std::string indexed(const std::string& array, size_t i) { return array + "[" + std::to_string(i) + "]"; }

const nlohmann::ordered_json& array_field(const FieldReader& reader, const char* key) {
  const nlohmann::ordered_json& value = reader.get(key);
  if (!value.is_array()) reader.fail(reader.path(key), "expected an array");
  return value;
}

// The confusion matrix counts every test sample once, and its off-diagonal counts are the mistakes: so its
// sums, which the report computes, stay within int64 (and a crafted log cannot overflow them).
void check_counts(const FieldReader& in, const TestSetSummary& test) {
  int64_t total = 0, correct = 0;
  for (size_t i = 0; i < test.confusion.size(); ++i) {
    if (__builtin_add_overflow(total, test.confusion[i], &total) || total > test.samples)
      in.fail("test.confusion", "the counts add up to more than the " + std::to_string(test.samples) + " samples");
    if (i % size_t(test.classes) == i / size_t(test.classes)) correct += test.confusion[i];  // <= total: no overflow
  }
  if (total != test.samples)
    in.fail("test.confusion", "the counts add up to " + std::to_string(total) + ", not the " +
                                  std::to_string(test.samples) + " samples");
  if (test.misclassified_total != test.samples - correct)
    in.fail("test.misclassified_total", std::to_string(test.misclassified_total) + " is not the " +
                                            std::to_string(test.samples - correct) + " mistakes the confusion counts");
}

TestSetSummary test_summary_from_json(const nlohmann::ordered_json& json, const std::string& file) {
  const FieldReader in(json, "test", file);
  TestSetSummary test;
  if (in.has("set")) {
    const nlohmann::ordered_json& set = in.get("set");
    if (!set.is_string() || (set.get<std::string>() != "test" && set.get<std::string>() != "validation"))
      in.fail("test.set", "expected \"test\" or \"validation\"");
    test.set = set.get<std::string>();
  }
  test.samples = in.integer("samples", 0, INT64_MAX);
  test.loss = in.non_negative("loss");
  test.accuracy = in.fraction("accuracy");
  test.classes = int(in.integer("classes", 1, 256));
  const nlohmann::ordered_json& confusion = array_field(in, "confusion");
  if (confusion.size() != size_t(test.classes))
    in.fail("test.confusion",
            std::to_string(confusion.size()) + " rows, expected " + std::to_string(test.classes));
  for (size_t r = 0; r < confusion.size(); ++r) {
    if (!confusion[r].is_array() || confusion[r].size() != size_t(test.classes))
      in.fail(indexed("test.confusion", r), "expected " + std::to_string(test.classes) + " counts");
    for (const nlohmann::ordered_json& count : confusion[r]) {
      if (!count.is_number_integer() || count.get<int64_t>() < 0)
        in.fail(indexed("test.confusion", r), "expected counts >= 0");
      test.confusion.push_back(count.get<int64_t>());
    }
  }
  test.rows = int(in.integer("rows", 1, 4096));
  test.cols = int(in.integer("cols", 1, 4096));
  test.misclassified_total = in.integer("misclassified_total", 0, INT64_MAX);
  check_counts(in, test);
  const nlohmann::ordered_json& mistakes = array_field(in, "misclassified");
  for (size_t i = 0; i < mistakes.size(); ++i) {
    const FieldReader m(mistakes[i], indexed("test.misclassified", i), file);
    Mistake mistake;
    mistake.index = m.integer("index", 0, INT64_MAX);
    mistake.label = int(m.integer("label", 0, test.classes - 1));
    mistake.predicted = int(m.integer("predicted", 0, test.classes - 1));
    mistake.probability = m.fraction("probability");
    const nlohmann::ordered_json& pixels = m.get("pixels");
    const std::optional<std::string> bytes =
        pixels.is_string() ? base64_decode(pixels.get<std::string>()) : std::nullopt;
    if (!bytes || bytes->size() != size_t(test.rows) * size_t(test.cols))
      m.fail(m.path("pixels"), "expected base64 of " + std::to_string(test.rows * test.cols) + " bytes");
    mistake.pixels.assign(bytes->begin(), bytes->end());
    test.misclassified.push_back(std::move(mistake));
  }
  if (test.misclassified.size() > uint64_t(test.misclassified_total))
    in.fail("test.misclassified", std::to_string(test.misclassified.size()) + " mistakes, more than misclassified_total " +
                                      std::to_string(test.misclassified_total));
  return test;
}

}  // namespace

EpochRecord epoch_record(const EpochReport& report) {
  EpochRecord record;
  record.epoch = report.epoch;
  record.steps = report.steps;
  record.train_loss = report.train_loss;
  record.train_accuracy = report.train_accuracy;
  if (report.test) {
    record.test_loss = report.test->loss;
    record.test_accuracy = report.test->accuracy();
  }
  if (report.validation) {
    record.val_loss = report.validation->loss;
    record.val_accuracy = report.validation->accuracy();
  }
  record.seconds = report.seconds;
  record.samples_per_second = report.samples_per_second;
  return record;
}

namespace {

// Sample n of data as a picture [rows, cols] of 0..255: its pixels, or its float features stretched from
// their smallest (0) to their largest value (255), so that any features can be looked at.
std::vector<uint8_t> picture_of(const Dataset& data, int64_t n) {
  const size_t D = size_t(data.dim());
  if (!data.has_float_features()) {
    const auto first = data.pixels.begin() + std::ptrdiff_t(size_t(n) * D);
    return std::vector<uint8_t>(first, first + std::ptrdiff_t(D));
  }
  const float* row = data.features.data() + size_t(n) * D;
  const auto [low, high] = std::minmax_element(row, row + D);
  const double range = double(*high) - double(*low);
  std::vector<uint8_t> picture(D, 0);
  if (range > 0 && std::isfinite(range))
    for (size_t i = 0; i < D; ++i)
      if (std::isfinite(row[i])) picture[i] = uint8_t(std::lround(255.0 * (double(row[i]) - *low) / range));
  return picture;
}

}  // namespace

TestSetSummary summarize_test_set(Backend& backend, const Dataset& test) {
  const EvalResult eval = evaluate(backend, test);
  TestSetSummary summary;
  summary.samples = eval.count;
  summary.loss = eval.loss;
  summary.accuracy = eval.accuracy();
  summary.classes = eval.num_classes;
  summary.confusion = eval.confusion;
  summary.rows = test.rows;
  summary.cols = int(test.dim() / test.rows);

  // A second pass for the mistakes themselves: evaluate() keeps only counts.
  const int C = eval.num_classes;
  std::vector<Mistake> mistakes;
  for_each_prediction_chunk(backend, test, 0, test.count, [&](int64_t first, int64_t size, const float* probs) {
    for (int64_t i = 0; i < size; ++i) {
      const float* row = probs + i * C;
      const int predicted = int(std::max_element(row, row + C) - row);
      const int64_t n = first + i;
      if (predicted != test.labels[size_t(n)])
        mistakes.push_back({n, test.labels[size_t(n)], predicted, row[predicted], {}});
    }
  });
  summary.misclassified_total = int64_t(mistakes.size());
  const size_t kept = std::min(mistakes.size(), size_t(kMaxLoggedMistakes));
  std::partial_sort(mistakes.begin(), mistakes.begin() + std::ptrdiff_t(kept), mistakes.end(),
                    [](const Mistake& a, const Mistake& b) {
                      return a.probability != b.probability ? a.probability > b.probability : a.index < b.index;
                    });
  mistakes.resize(kept);
  for (Mistake& mistake : mistakes) mistake.pixels = picture_of(test, mistake.index);
  summary.misclassified = std::move(mistakes);
  return summary;
}

nlohmann::ordered_json run_log_json(const RunLog& log) {
  nlohmann::ordered_json json = {{"format", kFormat}, {"version", kVersion}, {"settings", log.settings}};
  nlohmann::ordered_json epochs = nlohmann::ordered_json::array();
  for (const EpochRecord& e : log.epochs) {
    nlohmann::ordered_json epoch = {{"epoch", e.epoch},
                                    {"steps", e.steps},
                                    {"train_loss", e.train_loss},
                                    {"train_accuracy", e.train_accuracy}};
    if (e.test_loss) epoch["test_loss"] = *e.test_loss;
    if (e.test_accuracy) epoch["test_accuracy"] = *e.test_accuracy;
    if (e.val_loss) epoch["val_loss"] = *e.val_loss;
    if (e.val_accuracy) epoch["val_accuracy"] = *e.val_accuracy;
    epoch["seconds"] = e.seconds;
    epoch["samples_per_second"] = e.samples_per_second;
    epochs.push_back(std::move(epoch));
  }
  json["epochs"] = std::move(epochs);
  json["finished"] = log.finished;
  if (log.test) {
    const TestSetSummary& t = *log.test;
    nlohmann::ordered_json confusion = nlohmann::ordered_json::array();
    for (int r = 0; r < t.classes; ++r)
      confusion.push_back(
          std::vector<int64_t>(t.confusion.begin() + r * t.classes, t.confusion.begin() + (r + 1) * t.classes));
    nlohmann::ordered_json mistakes = nlohmann::ordered_json::array();
    for (const Mistake& m : t.misclassified)
      mistakes.push_back({{"index", m.index},
                          {"label", m.label},
                          {"predicted", m.predicted},
                          {"probability", m.probability},
                          {"pixels", base64_encode(std::string_view(reinterpret_cast<const char*>(m.pixels.data()),
                                                                    m.pixels.size()))}});
    json["test"] = {{"set", t.set},
                    {"samples", t.samples},
                    {"loss", t.loss},
                    {"accuracy", t.accuracy},
                    {"classes", t.classes},
                    {"confusion", std::move(confusion)},
                    {"rows", t.rows},
                    {"cols", t.cols},
                    {"misclassified_total", t.misclassified_total},
                    {"misclassified", std::move(mistakes)}};
  }
  return json;
}

RunLog run_log_from_json(const nlohmann::ordered_json& json, const std::string& name) {
  const FieldReader in(json, "", name);
  if (!in.get("format").is_string() || in.get("format").get<std::string>() != kFormat)
    in.fail("format", std::string("expected \"") + kFormat + "\"");
  const int64_t version = in.integer("version", 1, INT64_MAX);
  if (version != kVersion)
    throw FileError(name, "run log version " + std::to_string(version) + " is newer than this cudamlp reads (" +
                              std::to_string(kVersion) + ")");
  RunLog log;
  const nlohmann::ordered_json& settings = in.get("settings");
  if (!settings.is_object()) in.fail("settings", "expected an object");
  for (const auto& [key, value] : settings.items()) log.settings[key] = value;
  const nlohmann::ordered_json& epochs = array_field(in, "epochs");
  for (size_t i = 0; i < epochs.size(); ++i) {
    const FieldReader e(epochs[i], indexed("epochs", i), name);
    EpochRecord record;
    record.epoch = int(e.integer("epoch", 1, INT32_MAX));
    record.steps = e.integer("steps", 0, INT64_MAX);
    record.train_loss = e.non_negative("train_loss");
    record.train_accuracy = e.fraction("train_accuracy");
    if (e.has("test_loss")) record.test_loss = e.non_negative("test_loss");
    if (e.has("test_accuracy")) record.test_accuracy = e.fraction("test_accuracy");
    if (e.has("val_loss")) record.val_loss = e.non_negative("val_loss");
    if (e.has("val_accuracy")) record.val_accuracy = e.fraction("val_accuracy");
    record.seconds = e.non_negative("seconds");
    record.samples_per_second = e.non_negative("samples_per_second");
    log.epochs.push_back(record);
  }
  if (!in.get("finished").is_boolean()) in.fail("finished", "expected true or false");
  log.finished = in.get("finished").get<bool>();
  if (in.has("test")) log.test = test_summary_from_json(json["test"], name);
  return log;
}

void write_run_log(const std::string& path, const RunLog& log) {
  write_file_atomically(path, run_log_json(log).dump(1) + "\n");
}

RunLog read_run_log(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw FileError(path, "is a folder, not a run log");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw FileError(path, "read failed");
  const std::string bytes = text.str();
  const FileKind kind = file_kind(bytes);
  if (kind != FileKind::kText && kind != FileKind::kUnknown)
    throw FileError(path, std::string("is ") + file_kind_name(kind) + ", not a run log (JSON)");
  nlohmann::ordered_json json;
  try {
    json = nlohmann::ordered_json::parse(bytes);
  } catch (const nlohmann::ordered_json::exception& e) {  // parse_error, and out_of_range for 1e999
    throw FileError(path, "not JSON: " + json_error_text(e.what()));
  }
  return run_log_from_json(json, path);
}

}  // namespace cudamlp
