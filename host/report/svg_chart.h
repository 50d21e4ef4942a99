// Inline SVG for the training report: line charts of per-epoch metrics and the confusion-matrix heat
// map. Plain strings of SVG markup, sized in CSS pixels, with no scripts and no external resources.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cudamlp {

struct ChartSeries {
  std::string name;    // legend text
  std::string colour;  // CSS colour of line and markers
  std::vector<double> x, y;
};

struct LineChart {
  std::string x_label;
  std::string y_label;
  bool percent = false;  // y values are fractions, labelled as percentages
  std::vector<ChartSeries> series;
};

// Axes with "nice" ticks (1, 2, 5 times a power of ten; whole numbers on x), gridlines, one polyline
// with point markers per series, and a legend. Empty series are left out.
std::string line_chart_svg(const LineChart& chart, int width, int height);

// confusion: [classes, classes], row = true class, column = predicted. Diagonal cells are shaded by the
// class's recall, the others by their count relative to the largest mistake count; every cell shows
// its count, and a last column the recall.
std::string confusion_svg(const std::vector<int64_t>& confusion, int classes);

}  // namespace cudamlp
