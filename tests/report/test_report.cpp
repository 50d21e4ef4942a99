// Run logs and the HTML training report: the log's JSON round trip and its checks, the report's content,
// `train --log/--report` and `cudamlp report`, and the report as headless Chromium renders it (skipped,
// with the reason, when no Chromium is installed; scripts/setup.sh --with-browser installs Debian's).
#include <gtest/gtest.h>

#include <png.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cudamlp/errors.h"
#include "cudamlp/mnist_digit.h"
#include "cudamlp/report.h"
#include "cudamlp/run_log.h"
#include "test_helpers.h"
#include "test_pictures.h"

using namespace cudamlp;
using namespace cudamlp::testing;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

size_t occurrences(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// A finished three-epoch run on a 10-class test set of 1000 samples, 58 of them misclassified, the worst
// confusion being 4 taken for 9; the mistakes' pixels are the test's own drawn digits.
RunLog sample_log() {
  RunLog log;
  log.settings = {{"sizes", "784-64-10"}, {"device", "cpu"}, {"data", "data/<mnist>"},
                  {"batch", 64},          {"lr", 0.1},       {"shuffle", true}};
  for (int e = 1; e <= 3; ++e) {
    EpochRecord r;
    r.epoch = e;
    r.steps = 938 * e;
    r.train_loss = 0.6 / e;
    r.train_accuracy = 0.85 + 0.03 * e;
    r.test_loss = 0.4 / e + 0.05;
    r.test_accuracy = 0.88 + 0.02 * e;
    r.seconds = 2.0;
    r.samples_per_second = 30000;
    log.epochs.push_back(r);
  }
  TestSetSummary t;
  t.samples = 1000;
  t.classes = 10;
  t.rows = t.cols = 28;
  t.confusion.assign(100, 0);
  for (int c = 0; c < 10; ++c) t.confusion[size_t(c * 10 + c)] = 94;
  t.confusion[4 * 10 + 9] = 30;
  t.confusion[7 * 10 + 1] = 12;
  t.confusion[3 * 10 + 5] = 16;
  t.confusion[0] += 2;  // rows sum to 1000 in all
  t.accuracy = 0.942;
  t.loss = 0.2;
  t.misclassified_total = 58;
  const std::vector<uint8_t> seven = mnist_digit_from_image(drawn_digit('7')).pixels;
  const std::vector<uint8_t> one = mnist_digit_from_image(drawn_digit('1')).pixels;
  for (int i = 0; i < 24; ++i)
    t.misclassified.push_back({i * 7, i % 2 ? 7 : 1, i % 2 ? 1 : 7, 0.99 - 0.01 * i, i % 2 ? seven : one});
  log.test = t;
  log.finished = true;
  return log;
}

// --- headless Chromium ---

// Runs `timeout 120 chromium ... --screenshot=png file://html`; returns its exit status, output in log.
int screenshot(const std::string& chromium, const std::string& html, const std::string& png, const TempDir& dir,
               int width, int height) {
  std::vector<std::string> args = {"timeout",
                                   "120",
                                   chromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-quic",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--hide-scrollbars",
                                   "--user-data-dir=" + dir.file("profile"),
                                   "--screenshot=" + png,
                                   "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                                   "file://" + html};
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (!freopen(dir.file("chromium.log").c_str(), "wb", stdout) || dup2(fileno(stdout), STDERR_FILENO) < 0)
      _exit(127);
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execvp("timeout", argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // [height, width, 3]
  const uint8_t* at(int x, int y) const { return rgb.data() + (size_t(y) * size_t(width) + size_t(x)) * 3; }
};

RgbImage read_rgb_png(const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) throw std::runtime_error(path + ": " + image.message);
  image.format = PNG_FORMAT_RGB;
  RgbImage out{int(image.width), int(image.height), std::vector<uint8_t>(PNG_IMAGE_SIZE(image))};
  const png_color white = {255, 255, 255};
  if (!png_image_finish_read(&image, &white, out.rgb.data(), 0, nullptr))
    throw std::runtime_error(path + ": " + image.message);
  return out;
}

// How many pixels in the region [x0, x1) x [y0, y1) match.
template <typename Match>
int count_pixels(const RgbImage& image, int x0, int y0, int x1, int y1, Match match) {
  int n = 0;
  for (int y = y0; y < std::min(y1, image.height); ++y)
    for (int x = x0; x < std::min(x1, image.width); ++x) {
      const uint8_t* p = image.at(x, y);
      if (match(int(p[0]), int(p[1]), int(p[2]))) ++n;
    }
  return n;
}

// Within `tolerance` per channel of a CSS colour: anti-aliasing blends the edges of lines, not their middle.
auto near_colour(int r, int g, int b, int tolerance = 12) {
  return [=](int pr, int pg, int pb) {
    return std::abs(pr - r) <= tolerance && std::abs(pg - g) <= tolerance && std::abs(pb - b) <= tolerance;
  };
}

// sample_log()'s JSON with its first `from` replaced by `to` (a test error when it has none).
std::string edited(const std::string& from, const std::string& to) {
  std::string text = run_log_json(sample_log()).dump();
  const size_t at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("sample log has no " + from);
  return text.replace(at, from.size(), to);
}

}  // namespace

// --- the run log ---

TEST(RunLog, RoundTripsThroughItsJsonFile) {
  TempDir dir;
  const RunLog log = sample_log();
  write_run_log(dir.file("run.json"), log);
  const RunLog back = read_run_log(dir.file("run.json"));
  EXPECT_EQ(back.settings.dump(), log.settings.dump());  // order kept
  ASSERT_EQ(back.epochs.size(), 3u);
  EXPECT_EQ(back.epochs[2].steps, 938 * 3);
  EXPECT_DOUBLE_EQ(back.epochs[1].train_loss, 0.3);
  EXPECT_DOUBLE_EQ(*back.epochs[0].test_accuracy, 0.9);
  ASSERT_TRUE(back.test);
  EXPECT_EQ(back.test->confusion, log.test->confusion);
  ASSERT_EQ(back.test->misclassified.size(), 24u);
  EXPECT_EQ(back.test->misclassified[5].pixels, log.test->misclassified[5].pixels);
  EXPECT_EQ(back.test->misclassified[5].label, 7);
  EXPECT_TRUE(back.finished);
}

TEST(RunLog, MalformedLogsAreFileErrorsNamingTheFileAndTheField) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"not-json.json", "{\"format\": ", "not JSON"},
      {"other.json", "{\"format\": \"something else\"}", "format"},
      {"newer.json", edited("\"version\":1", "\"version\":7"), "version 7"},
      {"epoch-type.json", edited("\"train_loss\":0.6", "\"train_loss\":\"low\""), "epochs[0].train_loss"},
      {"no-finished.json", edited("\"finished\":true", "\"finishd\":true"), "finished: missing"},
      {"confusion.json", edited("\"confusion\":[[96,", "\"confusion\":[[96,1,"), "test.confusion[0]"},
      {"label.json", edited("\"label\":1", "\"label\":12"), "test.misclassified[0].label"},
      {"pixels.json", edited("\"pixels\":\"", "\"pixels\":\"!"), "test.misclassified[0].pixels"},
  };
  TempDir dir;
  for (const auto& [name, text, words] : cases) {
    SCOPED_TRACE(name);
    write_file(dir.file(name), text);
    try {
      read_run_log(dir.file(name));
      ADD_FAILURE() << "no error";
    } catch (const FileError& e) {
      EXPECT_TRUE(std::string(e.what()).starts_with(dir.file(name) + ": ")) << e.what();
      EXPECT_TRUE(contains(e.what(), words)) << e.what();
    }
  }
}

TEST(RunLog, MessagesQuoteOnlyAnEscapedExcerptOfTheFile) {
  const std::string valid = run_log_json(sample_log()).dump();
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"junk.json", valid + " " + std::string(1200, 'x'), "not JSON"},
      {"open-string.json", valid + " \"" + std::string(1200, 'x'), "not JSON"},
      {"latin1.json", "{\"format\": \"caf\xe9\"}", "\\xe9"},
      {"overflow.json", "{\"format\": 1e999}", "not JSON"},  // a number beyond double: the JSON library's range error
  };
  TempDir dir;
  for (const auto& [name, text, words] : cases) {
    SCOPED_TRACE(name);
    write_file(dir.file(name), text);
    const std::string message = error_message([path = dir.file(name)] { read_run_log(path); });  // clang 14 cannot capture a structured binding
    EXPECT_TRUE(message.starts_with(dir.file(name) + ": ")) << message;
    EXPECT_TRUE(is_short_printable_line(message));
    EXPECT_TRUE(contains(message, words)) << message;
  }
}

TEST(RunLog, RefusesValuesNoRunCanHave) {
  const std::vector<std::tuple<std::string, std::string>> cases = {
      {edited("\"train_loss\":0.6", "\"train_loss\":-1"), "epochs[0].train_loss"},
      {edited("\"train_accuracy\":0.88", "\"train_accuracy\":1.5"), "epochs[0].train_accuracy"},
      {edited("\"seconds\":2.0", "\"seconds\":-2"), "epochs[0].seconds"},
      {edited("\"samples_per_second\":30000.0", "\"samples_per_second\":-1"), "epochs[0].samples_per_second"},
      {edited("\"loss\":0.2", "\"loss\":-0.2"), "test.loss"},
      {edited("\"accuracy\":0.942", "\"accuracy\":2"), "test.accuracy"},
      {edited("\"probability\":0.99", "\"probability\":7"), "test.misclassified[0].probability"},
      // The counts must add up to the samples (which no sum of counts near INT64_MAX does).
      {edited("\"confusion\":[[96,", "\"confusion\":[[97,"), "test.confusion"},
      {edited("\"confusion\":[[96,", "\"confusion\":[[9223372036854775807,"), "test.confusion"},
      {edited("\"misclassified_total\":58", "\"misclassified_total\":1001"), "test.misclassified_total"},
  };
  TempDir dir;
  for (const auto& [text, words] : cases) {
    SCOPED_TRACE(words);
    write_file(dir.file("run.json"), text);
    const std::string message = error_message([&] { read_run_log(dir.file("run.json")); });
    EXPECT_TRUE(contains(message, "not a valid cudamlp run log: " + words)) << message;
  }
}

// --- the report ---

TEST(Report, IsOneSelfContainedPageWithEveryPart) {
  const RunLog log = sample_log();
  const std::string html = report_html(log, "run.json");
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_EQ(occurrences(html, "<svg"), 3u);  // loss, accuracy, confusion matrix
  EXPECT_EQ(occurrences(html, "class=\"chart\""), 2u);
  EXPECT_EQ(occurrences(html, "<polyline"), 4u);     // train and test, in each chart
  EXPECT_EQ(occurrences(html, "<rect"), 2u + 100u);  // two chart frames, 10 x 10 cells
  EXPECT_EQ(occurrences(html, "<figure"), 24u);
  EXPECT_EQ(occurrences(html, "src=\"data:image/png;base64,iVBORw0KGgo"), 24u);  // PNG signature in base64
  // Nothing to fetch: no scripts, no external style sheets, fonts or images.
  EXPECT_FALSE(contains(html, "<script"));
  EXPECT_FALSE(contains(html, "<link"));
  EXPECT_FALSE(contains(html, "src=\"http"));
  EXPECT_FALSE(contains(html, "url("));
  // Text from the log is escaped.
  EXPECT_TRUE(contains(html, "data/&lt;mnist&gt;"));
  EXPECT_FALSE(contains(html, "data/<mnist>"));
  EXPECT_TRUE(contains(html, "94.20%"));           // final test accuracy
  EXPECT_TRUE(contains(html, "30000 samples/s"));  // throughput
  EXPECT_TRUE(contains(html, "24 most confident of 58 mistakes"));
}

TEST(Report, SaysWhenTheRunIsUnfinishedOrHasNoTestSet) {
  RunLog log = sample_log();
  log.test.reset();
  log.finished = false;
  log.settings["epochs"] = 10;
  const std::string running = report_html(log, "run.json");
  EXPECT_TRUE(contains(running, "had not finished")) << running;
  EXPECT_TRUE(contains(running, "3 of 10 epochs")) << running;
  log.finished = true;
  for (EpochRecord& e : log.epochs) e.test_loss.reset(), e.test_accuracy.reset();
  const std::string no_test = report_html(log, "run.json");
  EXPECT_TRUE(contains(no_test, "no test set")) << no_test;
  EXPECT_EQ(occurrences(no_test, "<polyline"), 2u);  // train only
}

// Whether text shows a number printf could not print: nan, -nan, inf or -inf as a word of its own.
bool shows_non_finite_number(const std::string& text) {
  for (const std::string word : {"nan", "inf"})
    for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
      const bool starts_word = at == 0 || !std::isalpha(static_cast<unsigned char>(text[at - 1]));
      const size_t end = at + word.size();
      const bool ends_word = end == text.size() || !std::isalpha(static_cast<unsigned char>(text[end]));
      if (starts_word && ends_word) return true;
    }
  return false;
}

TEST(Report, ExtremeValuesTheReaderAcceptsRenderAsNumbers) {
  // Each log is at a limit of what read_run_log accepts: the page must come out (no hang, no undefined
  // behaviour under the sanitizers) with every coordinate and label a finite number.
  std::vector<RunLog> logs;
  RunLog huge = sample_log();  // losses and times near DBL_MAX, epochs near INT32_MAX
  for (EpochRecord& e : huge.epochs) {
    e.epoch = INT32_MAX - 3 + e.epoch;
    e.train_loss = 1e308 / e.epoch * 1e9, e.test_loss = 1.7e308;
    e.seconds = 1.7e308, e.samples_per_second = 1.7e308;
  }
  huge.test->samples = INT64_MAX;
  huge.test->confusion.assign(100, 0);
  huge.test->confusion[0] = INT64_MAX - 5, huge.test->confusion[1] = 5;  // 5 mistakes next to INT64_MAX - 5 right
  huge.test->misclassified_total = 5;
  huge.test->misclassified.resize(5);
  logs.push_back(huge);
  RunLog spread = sample_log();  // 0 next to DBL_MAX: the widest range an axis can get
  spread.epochs[0].train_loss = 0, spread.epochs[1].train_loss = 1.7976931348623157e308;
  logs.push_back(spread);
  RunLog flat = sample_log();  // values a few ulps apart, far from 0: a tick step below their spacing
  for (size_t i = 0; i < flat.epochs.size(); ++i)
    flat.epochs[i].test_loss = flat.epochs[i].train_loss = 1e17 + 16.0 * double(i % 2);
  logs.push_back(flat);
  RunLog tiny = sample_log();  // the smallest numbers: subnormal losses
  for (EpochRecord& e : tiny.epochs) e.train_loss = 5e-324 * e.epoch, e.test_loss = 0;
  logs.push_back(tiny);
  for (size_t i = 0; i < logs.size(); ++i) {
    SCOPED_TRACE("log " + std::to_string(i));
    TempDir dir;
    write_run_log(dir.file("run.json"), logs[i]);
    const std::string html = report_html(read_run_log(dir.file("run.json")), "run.json");
    EXPECT_EQ(occurrences(html, "<svg"), 3u);
    EXPECT_FALSE(shows_non_finite_number(html)) << html;
  }
}

// --- the commands ---

TEST(ReportCli, TrainWritesLogAndReportAndReportCommandRemakesIt) {
  TempDir dir;
  const std::string csv = dir.file("train.csv"), log = dir.file("run.json"), report = dir.file("report.html");
  write_file(csv, band_digits_csv(300, true, 4));
  const CommandResult trained =
      run_cli({"train", "--train-csv", csv, "--val-split", "0.2", "--hidden", "8", "--epochs", "2", "--device",
               "reference", "--log", log, "--report", report});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const RunLog written = read_run_log(log);
  EXPECT_TRUE(written.finished);
  ASSERT_EQ(written.epochs.size(), 2u);
  EXPECT_TRUE(written.epochs[1].val_accuracy.has_value());
  EXPECT_FALSE(written.epochs[1].test_accuracy.has_value());  // train.csv has no test set
  ASSERT_TRUE(written.test);
  EXPECT_EQ(written.test->set, "validation");  // without a test set, the summary is the validation set's
  EXPECT_EQ(written.test->samples, 60);        // 20% of 300 held out
  EXPECT_EQ(written.settings["val split"], 0.2);
  const std::string html = read_file(report);
  EXPECT_EQ(occurrences(html, "<svg"), 3u);

  // `cudamlp report` makes the same page from the log (only the footer names its source).
  const CommandResult remade = run_cli({"report", log});
  ASSERT_EQ(remade.exit_code, 0) << remade.err;
  const std::string again = read_file(dir.file("run.html"));
  EXPECT_EQ(again.substr(0, again.find("<footer>")), html.substr(0, html.find("<footer>")));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_FALSE(contains(entry.path().string(), ".tmp")) << entry.path();
}

TEST(ReportCli, BadArgumentsAndFilesAreOneLineErrors) {
  TempDir dir;
  const std::string csv = dir.file("train.csv"), bad_log = dir.file("bad.json");
  write_file(csv, band_digits_csv(20, true, 4));
  write_file(bad_log, "{\"format\": \"cudamlp-run-log\"}");
  write_file(dir.file("keep.html"), "previous report");
  const std::vector<std::tuple<std::vector<std::string>, int, std::string>> cases = {
      {{"report"}, 2, "log"},
      {{"report", dir.file("missing.json")}, 2, "missing.json"},
      {{"report", bad_log, "-o", dir.file("keep.html")},
       1,
       bad_log + ": not a valid cudamlp run log: version: missing"},
      {{"report", bad_log, "-o", dir.file("no/such/dir/r.html")}, 2, "--out"},
      {{"train", "--train-csv", csv, "--report", dir.file("no/such/dir/r.html")}, 2, "--report"},
      {{"train", "--train-csv", csv, "--log", dir.path().string()}, 2, "--log"},
      {{"train", "--train-csv", csv, "--out", dir.file("m.st"), "--report", dir.file("m.st")}, 2, "same file"},
      {{"train", "--train-csv", csv, "--log", dir.file("r"), "--report", dir.file("./r")}, 2, "same file"},
      {{"train", "--train-csv", csv, "--val-split", "1"}, 2, "--val-split"},
      {{"train", "--train-csv", csv, "--val-split", "0.001"}, 2, "--val-split"},  // 0 of 20 samples held out
      {{"train", "--train-csv", csv, "--early-stop", "2"}, 2, "--early-stop 2 needs a validation set"},
  };
  for (const auto& [args, code, words] : cases) {
    SCOPED_TRACE(::testing::PrintToString(args));
    const CommandResult result = run_cli(args);
    EXPECT_EQ(result.exit_code, code) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_TRUE(contains(result.err, words)) << result.err;
  }
  EXPECT_EQ(read_file(dir.file("keep.html")), "previous report");
}

// --- in a browser ---

TEST(ReportInBrowser, ChromiumRendersTheChartsHeatMapAndDigits) {
  const std::string chromium = find_chromium();
  if (chromium.empty())
    GTEST_SKIP() << "no Chromium found (chromium-headless-shell, chromium; or set CUDAMLP_CHROMIUM): "
                    "scripts/setup.sh --with-browser installs Debian's";
  TempDir dir;
  const std::string html = dir.file("report.html"), png = dir.file("report.png");
  write_file(html, report_html(sample_log(), "run.json"));
  constexpr int kWidth = 1200, kHeight = 1400;
  const int status = screenshot(chromium, html, png, dir, kWidth, kHeight);
  ASSERT_EQ(status, 0) << chromium << " failed:\n" << read_file(dir.file("chromium.log"));
  ASSERT_TRUE(std::filesystem::exists(png)) << read_file(dir.file("chromium.log"));
  if (const char* keep = std::getenv("CUDAMLP_REPORT_SCREENSHOT"))
    std::filesystem::copy_file(png, keep, std::filesystem::copy_options::overwrite_existing);
  const RgbImage shot = read_rgb_png(png);
  ASSERT_EQ(shot.width, kWidth);
  ASSERT_EQ(shot.height, kHeight);

  // The two charts sit side by side in the top third; each draws a train (blue) and a test (orange)
  // line. Lines are 2.5 px wide, markers 7 px across: a few hundred pixels of each colour per chart.
  const int top = 0, charts_bottom = kHeight / 3, half = kWidth / 2;
  const auto train_blue = near_colour(0x1f, 0x77, 0xb4), test_orange = near_colour(0xff, 0x7f, 0x0e);
  EXPECT_GE(count_pixels(shot, 0, top, half, charts_bottom, train_blue), 300) << "loss chart, train line";
  EXPECT_GE(count_pixels(shot, 0, top, half, charts_bottom, test_orange), 300) << "loss chart, test line";
  EXPECT_GE(count_pixels(shot, half, top, kWidth, charts_bottom, train_blue), 300) << "accuracy chart, train line";
  EXPECT_GE(count_pixels(shot, half, top, kWidth, charts_bottom, test_orange), 300) << "accuracy chart, test line";

  // The heat map, lower left: ten teal diagonal cells (shaded by recall, 76% to 100% here: green and
  // blue well above red) and the worst confusion (4 taken for 9) in full orange-red; each cell is
  // 34 x 34 px less its count's digits.
  const auto diagonal = [](int r, int g, int b) { return r < 120 && g - r > 50 && b - r > 40; };
  EXPECT_GE(count_pixels(shot, 0, charts_bottom, half, kHeight, diagonal), 10 * 600) << "confusion diagonal";
  EXPECT_GE(count_pixels(shot, 0, charts_bottom, half, kHeight, near_colour(231, 111, 81)), 600)
      << "worst confusion";

  // The misclassified digits, lower right: white ink on pure black squares (the page's text is #222,
  // so pure black comes from the digit images alone). 24 digits of 56 x 56, mostly background.
  const auto black = [](int r, int g, int b) { return r == 0 && g == 0 && b == 0; };
  EXPECT_GE(count_pixels(shot, half - 100, charts_bottom, kWidth, kHeight, black), 24 * 56 * 56 / 2)
      << "digit images";
  // And the page is not blank: at most 90% of it is white.
  const auto white = [](int r, int g, int b) { return r == 255 && g == 255 && b == 255; };
  EXPECT_LE(count_pixels(shot, 0, 0, kWidth, kHeight, white), kWidth * kHeight * 9 / 10);
}
