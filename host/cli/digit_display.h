// How `cudamlp predict` shows a picture's prediction in a terminal: the 10 probabilities as a bar chart
// and (--show) the 28x28 input the network saw, as ASCII art.
#pragma once

#include <cstdint>
#include <string>

namespace cudamlp::cli {

// True when the locale (LC_ALL, else LC_CTYPE, else LANG) names UTF-8: bars may use block characters.
bool terminal_speaks_utf8();

// "digit.png: 7 (97.31%)" and one row per class: its probability and a bar 40 cells long at 100%.
// unicode: bars of block characters in eighths of a cell; otherwise '#' per whole cell.
std::string probability_chart(const std::string& source, const float* probs, int num_classes, bool unicode);

// pixels [rows, cols] (0 background .. 255 ink) as text in a frame, two characters per pixel so that
// the picture keeps its aspect ratio in a terminal font; darker-looking characters for more ink.
std::string ascii_picture(const uint8_t* pixels, int rows, int cols);

}  // namespace cudamlp::cli
