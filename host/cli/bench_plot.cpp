// The SVG chart of `cudamlp bench --plot`: samples/s against batch size on log-log axes, one polyline
// per (backend, network): the colour says the network, the dash pattern the backend. Plain SVG 1.1
// text, so any browser shows it and it diffs like code.
#include <algorithm>
#include <cmath>
#include <map>

#include "bench.h"
#include "cli_common.h"

namespace cudamlp::cli {

namespace {

// Plot area inside the picture, in SVG user units (pixels).
constexpr double kWidth = 860, kHeight = 520;
constexpr double kLeft = 80, kRight = 250, kTop = 40, kBottom = 60;  // margins; the legend sits right

const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"};

// Dash pattern of a backend: gpu solid, cpu dashed, reference dotted, anything else dash-dot.
std::string dash_of(const std::string& backend) {
  if (backend.rfind("gpu", 0) == 0) return "";
  if (backend == "cpu") return "8,4";
  if (backend == "reference") return "2,3";
  return "8,3,2,3";
}

std::string escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

}  // namespace

std::string bench_svg(const std::vector<BenchResult>& results, const std::string& title) {
  // Axis ranges: whole powers of 2 (batch) and of 10 (samples/s) around the measured points.
  double min_batch = 1e300, max_batch = 0, min_rate = 1e300, max_rate = 0;
  for (const BenchResult& r : results) {
    if (r.skipped) continue;
    min_batch = std::min(min_batch, double(r.batch));
    max_batch = std::max(max_batch, double(r.batch));
    min_rate = std::min(min_rate, r.samples_per_second);
    max_rate = std::max(max_rate, r.samples_per_second);
  }
  if (max_rate <= 0) min_batch = 32, max_batch = 8192, min_rate = 1e3, max_rate = 1e6;  // nothing measured
  const double x0 = std::floor(std::log2(min_batch)), x1 = std::max(x0 + 1, std::ceil(std::log2(max_batch)));
  const double y0 = std::floor(std::log10(min_rate)), y1 = std::max(y0 + 1, std::ceil(std::log10(max_rate)));
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double batch) { return kLeft + (std::log2(batch) - x0) / (x1 - x0) * plot_w; };
  auto py = [&](double rate) { return kTop + plot_h - (std::log10(rate) - y0) / (y1 - y0) * plot_h; };

  std::string svg = format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                           "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
                           kWidth, kHeight, kWidth, kHeight);
  svg += format("<rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", kWidth, kHeight);
  svg += format("<text x=\"%.0f\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n",
                kLeft + plot_w / 2, escape(title).c_str());
  // Grid and tick labels: every power of 2 on x, every power of 10 on y.
  for (double e = x0; e <= x1; ++e) {
    const double x = px(std::exp2(e));
    svg += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x, kTop, x,
                  kTop + plot_h);
    svg += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", x, kTop + plot_h + 18,
                  std::exp2(e));
  }
  for (double e = y0; e <= y1; ++e) {
    const double y = py(std::pow(10.0, e));
    svg += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", kLeft, y,
                  kLeft + plot_w, y);
    svg += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">1e%.0f</text>\n", kLeft - 6, y + 4, e);
  }
  svg += format("<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n",
                kLeft, kTop, plot_w, plot_h);
  svg += format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">batch size (log scale)</text>\n",
                kLeft + plot_w / 2, kHeight - 18);
  svg += format("<text transform=\"translate(20 %.1f) rotate(-90)\" text-anchor=\"middle\">training samples/s "
                "(log scale)</text>\n",
                kTop + plot_h / 2);

  // One polyline (with a dot per point) per (backend, network), in order of first appearance.
  std::vector<std::pair<std::string, std::string>> series;  // (backend, network)
  std::map<std::string, size_t> network_color;
  for (const BenchResult& r : results) {
    const std::string network = join_sizes(r.sizes);
    if (!network_color.count(network)) network_color.emplace(network, network_color.size());
    if (std::find(series.begin(), series.end(), std::make_pair(r.backend, network)) == series.end())
      series.emplace_back(r.backend, network);
  }
  double legend_y = kTop + 8;
  for (const auto& [backend, network] : series) {
    const char* color = kColors[network_color[network] % std::size(kColors)];
    const std::string dash = dash_of(backend);
    const std::string dash_attr = dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"";
    std::string points, dots;
    for (const BenchResult& r : results) {
      if (r.skipped || r.backend != backend || join_sizes(r.sizes) != network) continue;
      const double x = px(double(r.batch)), y = py(r.samples_per_second);
      points += format("%.1f,%.1f ", x, y);
      dots += format("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", x, y, color);
    }
    if (!points.empty())  // (points can be longer than format()'s buffer: concatenated, not formatted)
      svg += "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"" +
             dash_attr + "/>\n" + dots;
    const double lx = kLeft + plot_w + 16;
    svg += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                  lx, legend_y, lx + 30, legend_y, color, dash_attr.c_str());
    svg += format("<text x=\"%.1f\" y=\"%.1f\">%s %s%s</text>\n", lx + 36, legend_y + 4, backend.c_str(),
                  network.c_str(), points.empty() ? " (skipped)" : "");
    legend_y += 18;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace cudamlp::cli
