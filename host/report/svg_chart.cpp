// SVG charts of the training report; see svg_chart.h.
#include "svg_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "format.h"
#include "html_escape.h"

namespace cudamlp {

namespace {

// ---------------------------------------------------------------------------------------------------
// Axes

// An axis must come out as finite numbers for any finite data, up to 0 next to DBL_MAX: its arithmetic
// works on halves (hi / 2 - lo / 2 never overflows where hi - lo can), and its ticks are counted, not
// stepped to (t += step stands still when the step is below the values' spacing, as on 1e17 + 16).
constexpr int kMaxTicks = 24;
// Data spread over less than this fraction of their size are drawn as one value, in a window of
// kOneValueWindow of it on either side: tick labels could not tell such values apart anyway.
constexpr double kOneValueSpread = 1e-9;
constexpr double kOneValueWindow = 0.05;
// Tick labels show no more decimals than a double has significant digits.
constexpr int kMaxDecimals = 17;

double half_span(double lo, double hi) { return hi / 2 - lo / 2; }

// The tick step for about `target` intervals over [lo, hi]: 1, 2 or 5 times a power of ten.
double nice_step(double lo, double hi, int target) {
  const double raw = half_span(lo, hi) / target * 2;  // (hi - lo) / target, without overflowing
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0})
    if (raw <= m * power) return m * power;
  return std::min(10 * power, std::numeric_limits<double>::max());
}

struct Axis {
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  int decimals = 0;  // of tick labels
};

// lo - by and hi + by, kept finite.
void widen(double& lo, double& hi, double by) {
  constexpr double kMax = std::numeric_limits<double>::max();
  lo = std::max(lo - by, -kMax), hi = std::min(hi + by, kMax);
}

// An axis over the data's [lo, hi], padded a little so points do not sit on the frame, with ticks on
// multiples of a nice step. whole: ticks at whole numbers only (epochs).
Axis make_axis(double lo, double hi, int target_ticks, bool whole) {
  Axis axis;
  const double spread = half_span(lo, hi) * 2;
  if (spread <= std::max(std::abs(lo), std::abs(hi)) * kOneValueSpread || spread < 1e-12) {  // one value
    widen(lo, hi, whole ? 0.5 : std::max(std::max(std::abs(lo), std::abs(hi)) * kOneValueWindow, 1e-3));
  } else {
    widen(lo, hi, whole ? 0.25 : half_span(lo, hi) * 0.16);
  }
  double step = nice_step(lo, hi, target_ticks);
  if (whole) step = std::max(1.0, std::round(step));
  axis.lo = lo, axis.hi = hi;
  const double first = std::ceil(lo / step);
  for (int k = 0; k < kMaxTicks; ++k) {
    const double t = (first + k) * step;
    if (!std::isfinite(t) || t - hi > 1e-9 * step) break;  // (not t > hi + ..., which can overflow)
    if (axis.ticks.empty() || t > axis.ticks.back()) axis.ticks.push_back(t);
  }
  axis.decimals = whole ? 0 : std::clamp(-int(std::floor(std::log10(step))), 0, kMaxDecimals);
  return axis;
}

// A tick's label: fixed decimals, or 4 significant digits and an exponent for numbers too long to write
// out (a crafted log's 1e308).
std::string tick_label(double t, const Axis& axis) {
  constexpr double kLongestFixed = 1e9;
  if (std::max(std::abs(axis.lo), std::abs(axis.hi)) >= kLongestFixed) return format("%.4g", t);
  return format("%.*f", axis.decimals, t);
}

// Where v lies between lo and hi, as a fraction (0 at lo, 1 at hi).
double fraction_along(double v, const Axis& axis) {
  return half_span(axis.lo, v) / half_span(axis.lo, axis.hi);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Line chart

std::string line_chart_svg(const LineChart& chart, int width, int height) {
  // Plot area inside the margins: room for tick labels left and below, for the legend above.
  const double left = 64, right = 16, top = 30, bottom = 44;
  const double plot_w = width - left - right, plot_h = height - top - bottom;

  const double y_scale = chart.percent ? 100.0 : 1.0;  // tick labels in percent
  const auto drawable = [&](const ChartSeries& s, size_t i) {
    return std::isfinite(s.x[i]) && std::isfinite(s.y[i] * y_scale);
  };
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const ChartSeries& s : chart.series)
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!drawable(s, i)) continue;
      x_lo = std::min(x_lo, s.x[i]), x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]), y_hi = std::max(y_hi, s.y[i]);
    }
  std::string svg = format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="%d" height="%d" viewBox="0 0 %d %d">)",
      width, height, width, height);
  if (!(x_lo <= x_hi)) return svg + R"(<text x="20" y="40">no data</text></svg>)";

  const Axis x_axis = make_axis(x_lo, x_hi, 8, true);
  const Axis y_axis = make_axis(y_lo * y_scale, y_hi * y_scale, 5, false);
  const auto px = [&](double x) { return left + fraction_along(x, x_axis) * plot_w; };
  const auto py = [&](double y) { return top + plot_h - fraction_along(y * y_scale, y_axis) * plot_h; };

  // Frame, gridlines and tick labels.
  svg += format(R"(<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fff" stroke="#bbb"/>)", left, top,
                  plot_w, plot_h);
  for (const double t : y_axis.ticks) {
    const double y = top + plot_h - fraction_along(t, y_axis) * plot_h;
    svg += format(R"(<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>)", left, left + plot_w, y, y);
    svg += format(R"(<text x="%.1f" y="%.1f" text-anchor="end" class="tick">%s%s</text>)", left - 6, y + 4,
                    tick_label(t, y_axis).c_str(), chart.percent ? "%" : "");
  }
  for (const double t : x_axis.ticks) {
    const double x = px(t);
    svg += format(R"(<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>)", x, x, top, top + plot_h);
    svg += format(R"(<text x="%.1f" y="%.1f" text-anchor="middle" class="tick">%s</text>)", x,
                    top + plot_h + 16, tick_label(t, x_axis).c_str());
  }
  svg += format(R"(<text x="%.1f" y="%.1f" text-anchor="middle" class="axis">)", left + plot_w / 2,
                  double(height) - 6) +
         html_escape(chart.x_label) + "</text>";
  svg += format(R"svg(<text transform="translate(14 %.1f) rotate(-90)" text-anchor="middle" class="axis">)svg",
                  top + plot_h / 2) +
         html_escape(chart.y_label) + "</text>";

  // Series, then the legend above the plot, right-aligned.
  double legend_x = left + plot_w;
  for (auto s = chart.series.rbegin(); s != chart.series.rend(); ++s) {
    if (s->x.empty()) continue;
    std::string points;
    std::string markers;
    for (size_t i = 0; i < std::min(s->x.size(), s->y.size()); ++i) {
      if (!drawable(*s, i)) continue;
      points += format("%.1f,%.1f ", px(s->x[i]), py(s->y[i]));
      markers += format(R"(<circle cx="%.1f" cy="%.1f" r="3.5"/>)", px(s->x[i]), py(s->y[i]));
    }
    svg += R"(<g class="series" stroke=")" + s->colour + R"(" fill=")" + s->colour + R"(">)";
    svg += R"(<polyline fill="none" stroke-width="2.5" points=")" + points + R"("/>)" + markers + "</g>";
    const double text_width = 7.5 * double(s->name.size());
    legend_x -= text_width + 30;
    svg += format(R"(<line x1="%.1f" x2="%.1f" y1="14" y2="14" stroke-width="3" stroke=")", legend_x,
                    legend_x + 20) +
           s->colour + R"("/>)";
    svg += format(R"(<text x="%.1f" y="18" class="legend">)", legend_x + 25) + html_escape(s->name) + "</text>";
  }
  return svg + "</svg>";
}

// ---------------------------------------------------------------------------------------------------
// Confusion matrix

namespace {

// The colour a fraction t in [0, 1] of the way from white to (r, g, b).
std::string shade(double t, int r, int g, int b) {
  t = std::clamp(t, 0.0, 1.0);
  const auto mix = [t](int c) { return int(std::lround(255 + (c - 255) * t)); };
  return format("rgb(%d,%d,%d)", mix(r), mix(g), mix(b));
}

}  // namespace

std::string confusion_svg(const std::vector<int64_t>& confusion, int classes) {
  const int cell = 34;
  const int left = 56, top = 46, recall_w = 64;
  const int width = left + classes * cell + recall_w, height = top + classes * cell + 8;
  const auto count = [&](int t, int p) { return confusion[size_t(t) * size_t(classes) + size_t(p)]; };
  int64_t worst = 1;  // the largest off-diagonal count
  for (int t = 0; t < classes; ++t)
    for (int p = 0; p < classes; ++p)
      if (t != p) worst = std::max(worst, count(t, p));

  std::string svg = format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" class="confusion" width="%d" height="%d" viewBox="0 0 %d %d">)",
      width, height, width, height);
  svg += format(R"(<text x="%d" y="14" text-anchor="middle" class="axis">predicted</text>)",
                  left + classes * cell / 2);
  svg += format(
      R"svg(<text transform="translate(14 %d) rotate(-90)" text-anchor="middle" class="axis">true</text>)svg",
      top + classes * cell / 2);
  svg += format(R"(<text x="%d" y="%d" text-anchor="middle" class="tick">recall</text>)",
                  left + classes * cell + recall_w / 2, top - 8);
  for (int c = 0; c < classes; ++c) {
    svg += format(R"(<text x="%d" y="%d" text-anchor="middle" class="tick">%d</text>)",
                    left + c * cell + cell / 2, top - 8, c);
    svg += format(R"(<text x="%d" y="%d" text-anchor="end" class="tick">%d</text>)", left - 8,
                    top + c * cell + cell / 2 + 4, c);
  }
  for (int t = 0; t < classes; ++t) {
    int64_t row_total = 0;
    for (int p = 0; p < classes; ++p) row_total += count(t, p);
    const double recall = row_total ? double(count(t, t)) / double(row_total) : 0.0;
    for (int p = 0; p < classes; ++p) {
      const int64_t n = count(t, p);
      // Teal for the right answers (by recall), orange-red for mistakes (by count, relative to the worst).
      std::string fill = "#fafafa", ink = "#bbb";  // an empty cell
      double strength = 0;
      if (t == p) {
        strength = recall;
        fill = shade(recall, 42, 157, 143);
      } else if (n > 0) {
        strength = double(n) / double(worst);
        fill = shade(0.15 + 0.85 * strength, 231, 111, 81);
      }
      if (n > 0) ink = strength > 0.6 ? "#fff" : "#333";
      const int x = left + p * cell, y = top + t * cell;
      svg += format("<g><title>true %d, predicted %d: %lld</title>", t, p, (long long)n);
      svg += format(R"(<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#fff"/>)", x, y, cell, cell,
                      fill.c_str());
      svg += format(R"(<text x="%d" y="%d" text-anchor="middle" class="count" fill="%s">%lld</text></g>)",
                      x + cell / 2, y + cell / 2 + 4, ink.c_str(), (long long)n);
    }
    svg += format(R"(<text x="%d" y="%d" text-anchor="middle" class="tick">%.1f%%</text>)",
                    left + classes * cell + recall_w / 2, top + t * cell + cell / 2 + 4, 100.0 * recall);
  }
  return svg + "</svg>";
}

}  // namespace cudamlp
