// report_html: a run log as one self-contained HTML page; see report.h. The page is laid out in rows of
// cards: the curves; the confusion matrix and the misclassified digits; the settings and the epochs.
#include "cudamlp/report.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cudamlp/image.h"
#include "base64.h"
#include "format.h"
#include "html_escape.h"
#include "svg_chart.h"

namespace cudamlp {

namespace {

// matplotlib's first two colours: train and test in both charts, as PyTorch users are used to seeing.
constexpr const char* kTrainColour = "#1f77b4";
constexpr const char* kTestColour = "#ff7f0e";
constexpr const char* kValidationColour = "#2ca02c";  // matplotlib's third
constexpr int kDigitPixels = 56;  // a 28x28 digit shown at 2x, pixelated

// Text colour #222, not black: pure black on the page belongs to the digit images alone, which lets a
// screenshot test find them.
constexpr const char* kStyle = R"(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222;
       margin: 20px 24px; max-width: 1160px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 0 0 8px; }
.summary { margin: 0 0 14px; color: #444; }
.warning { background: #fff4d6; border: 1px solid #e8c66a; padding: 6px 10px; border-radius: 4px; }
.row { display: flex; flex-wrap: wrap; gap: 20px; margin-bottom: 20px; align-items: flex-start; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 12px 16px; background: #fff; }
.note { color: #666; font-size: 12px; margin: 0 0 8px; }
svg text { font-family: inherit; }
svg .tick, svg .axis, svg .legend { fill: #333; }
svg .tick { font-size: 11px; } svg .axis { font-size: 12px; } svg .legend { font-size: 12px; }
svg .count { font-size: 11px; }
.digits { display: grid; grid-template-columns: repeat(8, 56px); gap: 8px; }
.digits figure { margin: 0; }
.digits img { width: 56px; height: 56px; image-rendering: pixelated; display: block; }
.digits figcaption { font-size: 11px; text-align: center; line-height: 1.25; color: #333; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 2px 10px; text-align: right; border-bottom: 1px solid #eee; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 1px solid #ccc; }
footer { color: #888; font-size: 12px; }
)";

std::string percent(double fraction) { return format("%.2f%%", 100.0 * fraction); }

// A setting's value as the table shows it.
std::string value_text(const nlohmann::ordered_json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  if (value.is_number()) return format("%g", value.get<double>());
  if (value.is_null()) return "-";
  return value.dump();
}

std::string setting(const RunLog& log, const char* key, const std::string& otherwise = "") {
  return log.settings.contains(key) ? value_text(log.settings[key]) : otherwise;
}

// Training time of all epochs (evaluation not included) and the samples per second over it.
struct Throughput {
  double seconds = 0;
  double samples_per_second = 0;
};

// a + b, or the largest double where the sum would be infinite: a crafted log's times near DBL_MAX
// then show as a (huge) number, never as "inf" or, divided by each other, "nan".
double saturating_sum(double a, double b) { return std::min(a + b, std::numeric_limits<double>::max()); }

Throughput throughput(const RunLog& log) {
  Throughput t;
  double samples = 0;
  for (const EpochRecord& e : log.epochs) {
    t.seconds = saturating_sum(t.seconds, e.seconds);
    samples = saturating_sum(samples, std::min(e.samples_per_second * e.seconds, std::numeric_limits<double>::max()));
  }
  if (t.seconds > 0) t.samples_per_second = samples / t.seconds;
  return t;
}

// --- the parts of the page ---

std::string summary(const RunLog& log) {
  const Throughput run = throughput(log);
  std::string text = setting(log, "sizes", "MLP") + " MLP";
  if (log.settings.contains("data")) text += " on " + setting(log, "data");
  text += format(": %zu epoch%s", log.epochs.size(), log.epochs.size() == 1 ? "" : "s");
  if (log.test)
    text += ", test accuracy " + percent(log.test->accuracy);
  else if (!log.epochs.empty() && log.epochs.back().test_accuracy)
    text += ", test accuracy " + percent(*log.epochs.back().test_accuracy);
  if (run.seconds > 0)
    text += format(", %.1f s of training at %.0f samples/s", run.seconds, run.samples_per_second);
  if (log.settings.contains("device")) text += " (device " + setting(log, "device") + ")";
  std::string html = "<p class=\"summary\">" + html_escape(text) + "</p>\n";
  if (!log.finished) {
    html += "<p class=\"warning\">This run had not finished when the log was written: " +
            html_escape(std::to_string(log.epochs.size()) + " of " + setting(log, "epochs", "?")) +
            " epochs are in it.</p>\n";
  }
  return html;
}

std::string charts(const RunLog& log) {
  LineChart loss{"epoch", "mean cross-entropy", false, {}}, accuracy{"epoch", "accuracy", true, {}};
  ChartSeries train_loss{"train", kTrainColour, {}, {}}, test_loss{"test", kTestColour, {}, {}};
  ChartSeries train_acc = train_loss, test_acc = test_loss;
  ChartSeries val_loss{"validation", kValidationColour, {}, {}}, val_acc = val_loss;
  for (const EpochRecord& e : log.epochs) {
    if (e.val_loss) val_loss.x.push_back(e.epoch), val_loss.y.push_back(*e.val_loss);
    if (e.val_accuracy) val_acc.x.push_back(e.epoch), val_acc.y.push_back(*e.val_accuracy);
    train_loss.x.push_back(e.epoch), train_loss.y.push_back(e.train_loss);
    train_acc.x.push_back(e.epoch), train_acc.y.push_back(e.train_accuracy);
    if (e.test_loss) test_loss.x.push_back(e.epoch), test_loss.y.push_back(*e.test_loss);
    if (e.test_accuracy) test_acc.x.push_back(e.epoch), test_acc.y.push_back(*e.test_accuracy);
  }
  loss.series = {train_loss, test_loss, val_loss};
  accuracy.series = {train_acc, test_acc, val_acc};
  const char* note = val_acc.x.empty()
                         ? "<p class=\"note\">train: running mean over each epoch, as trained; test: after the epoch</p>"
                         : "<p class=\"note\">train: running mean over each epoch, as trained; test and validation "
                           "(held out of the training set): after the epoch</p>";
  return "<div class=\"row\">\n<section class=\"card\" id=\"loss\"><h2>Loss</h2>" + std::string(note) +
         line_chart_svg(loss, 520, 300) + "</section>\n<section class=\"card\" id=\"accuracy\"><h2>Accuracy</h2>" +
         note + line_chart_svg(accuracy, 520, 300) + "</section>\n</div>\n";
}

std::string digit_figure(const Mistake& mistake, int rows, int cols) {
  const std::string png = encode_png(GrayImage{cols, rows, mistake.pixels});
  return format(
             "<figure title=\"test sample %lld\"><img alt=\"a %d taken for a %d\" src=\"data:image/png;base64,",
             (long long)mistake.index, mistake.label, mistake.predicted) +
         base64_encode(png) +
         format("\"><figcaption>%d &rarr; <b>%d</b><br>%.0f%%</figcaption></figure>", mistake.label,
                   mistake.predicted, 100.0 * mistake.probability);
}

std::string test_set(const RunLog& log) {
  if (!log.test) {
    return "<div class=\"row\"><section class=\"card\"><h2>Test set</h2><p class=\"note\">" +
           std::string(log.finished
                           ? "This run had no test set (train with --data; --val-split holds out a validation set)."
                           : "The confusion matrix and the misclassified digits come when the run ends.") +
           "</p></section></div>\n";
  }
  const TestSetSummary& t = *log.test;
  const std::string set = t.set == "validation" ? "validation" : "test";  // as the log names it, escaped or not
  std::string html = "<div class=\"row\">\n<section class=\"card\" id=\"confusion\"><h2>Confusion matrix</h2>";
  html += format("<p class=\"note\">final model on the %lld %s samples: rows true class, columns predicted</p>",
                 (long long)t.samples, set.c_str());
  html += confusion_svg(t.confusion, t.classes) + "</section>\n";
  html += "<section class=\"card\" id=\"mistakes\"><h2>Misclassified " + set + " digits</h2>";
  html += format(
      "<p class=\"note\">the %zu most confident of %lld mistakes: true &rarr; <b>predicted</b>, "
      "its probability</p><div class=\"digits\">",
      t.misclassified.size(), (long long)t.misclassified_total);
  for (const Mistake& mistake : t.misclassified) html += digit_figure(mistake, t.rows, t.cols);
  return html + "</div></section>\n</div>\n";
}

std::string tables(const RunLog& log) {
  std::string settings = "<section class=\"card\" id=\"settings\"><h2>Settings</h2><table>";
  for (const auto& [key, value] : log.settings.items())
    settings += "<tr><th>" + html_escape(key) + "</th><td>" + html_escape(value_text(value)) + "</td></tr>";
  const Throughput run = throughput(log);
  if (run.seconds > 0) {
    settings += format("<tr><th>training time</th><td>%.2f s</td></tr>", run.seconds);
    settings += format("<tr><th>throughput</th><td>%.0f samples/s</td></tr>", run.samples_per_second);
  }
  settings += "</table></section>\n";

  std::string epochs =
      "<section class=\"card\" id=\"epochs\"><h2>Epochs</h2><table><thead><tr><th>epoch</th>"
      "<th>train loss</th><th>train acc</th><th>test loss</th><th>test acc</th>";
  // Validation columns only for a run that had a validation set.
  const bool validated = std::any_of(log.epochs.begin(), log.epochs.end(),
                                     [](const EpochRecord& e) { return e.val_accuracy.has_value(); });
  if (validated) epochs += "<th>val loss</th><th>val acc</th>";
  epochs += "<th>seconds</th><th>samples/s</th></tr></thead>";
  for (const EpochRecord& e : log.epochs) {
    epochs += format("<tr><td>%d</td><td>%.4f</td><td>%s</td>", e.epoch, e.train_loss,
                        percent(e.train_accuracy).c_str());
    epochs += e.test_loss ? format("<td>%.4f</td>", *e.test_loss) : "<td>-</td>";
    epochs += e.test_accuracy ? "<td>" + percent(*e.test_accuracy) + "</td>" : "<td>-</td>";
    if (validated) {
      epochs += e.val_loss ? format("<td>%.4f</td>", *e.val_loss) : "<td>-</td>";
      epochs += e.val_accuracy ? "<td>" + percent(*e.val_accuracy) + "</td>" : "<td>-</td>";
    }
    epochs += format("<td>%.2f</td><td>%.0f</td></tr>", e.seconds, e.samples_per_second);
  }
  epochs += "</table></section>\n";
  return "<div class=\"row\">\n" + settings + epochs + "</div>\n";
}

}  // namespace

std::string report_html(const RunLog& log, const std::string& source) {
  const std::string title = "cudamlp training report: " + setting(log, "sizes", "MLP");
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                     html_escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  html += "<h1>" + html_escape(title) + "</h1>\n";
  html += summary(log) + charts(log) + test_set(log) + tables(log);
  html += "<footer>Written by cudamlp from " + html_escape(source) + ".</footer>\n</body>\n</html>\n";
  return html;
}

}  // namespace cudamlp
