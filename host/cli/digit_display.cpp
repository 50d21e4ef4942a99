// The terminal pictures of `cudamlp predict`; see digit_display.h.
#include "digit_display.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "cli_common.h"

namespace cudamlp::cli {

namespace {

constexpr int kBarCells = 40;  // a probability of 1 fills this many cells

// U+2588 FULL BLOCK, then the left blocks of one to seven eighths of a cell (U+258F .. U+2589).
constexpr const char* kEighths[8] = {"", "\u258F", "\u258E", "\u258D", "\u258C", "\u258B", "\u258A", "\u2589"};
constexpr const char* kFullBlock = "\u2588";

std::string bar(double fraction, bool unicode) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  std::string text;
  if (!unicode) {
    text.assign(size_t(std::lround(fraction * kBarCells)), '#');
    return text;
  }
  const long eighths = std::lround(fraction * kBarCells * 8);
  for (long i = 0; i < eighths / 8; ++i) text += kFullBlock;
  text += kEighths[eighths % 8];
  return text;
}

}  // namespace

bool terminal_speaks_utf8() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;  // POSIX: the first one set and non-empty decides
    std::string lower(value);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return lower.find("utf-8") != std::string::npos || lower.find("utf8") != std::string::npos;
  }
  return false;
}

std::string probability_chart(const std::string& source, const float* probs, int num_classes, bool unicode) {
  const int predicted = int(std::max_element(probs, probs + num_classes) - probs);
  std::string text = format("%s: %d (%.2f%%)\n", source.c_str(), predicted, 100.0 * probs[predicted]);
  for (int c = 0; c < num_classes; ++c)
    text += format("  %d %6.2f%% ", c, 100.0 * probs[c]) + bar(probs[c], unicode) + "\n";
  return text;
}

std::string ascii_picture(const uint8_t* pixels, int rows, int cols) {
  // Ten levels from no ink to full ink, each character darker on paper than the one before.
  static constexpr char kRamp[] = " .:-=+*#%@";
  constexpr int kLevels = sizeof kRamp - 1;
  const std::string edge = "+" + std::string(size_t(2 * cols), '-') + "+\n";
  std::string text = edge;
  for (int y = 0; y < rows; ++y) {
    text += '|';
    for (int x = 0; x < cols; ++x) {
      const int level = std::min(kLevels - 1, pixels[size_t(y) * size_t(cols) + size_t(x)] * kLevels / 256);
      text.append(2, kRamp[level]);
    }
    text += "|\n";
  }
  return text + edge;
}

}  // namespace cudamlp::cli
