// The progress bar of `cudamlp train`; see progress.h.
#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "format.h"

namespace cudamlp::cli {

namespace {

constexpr int kMinBarCells = 10;
constexpr int kMaxBarCells = 30;
constexpr int kDefaultWidth = 80;  // when the terminal does not say

int terminal_width(std::FILE* terminal) {
  winsize size{};
  if (ioctl(fileno(terminal), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return kDefaultWidth;
}

std::string bar_cells(double fraction, int cells, bool unicode) {
  const int filled = std::clamp(int(fraction * cells), 0, cells);
  std::string text;
  for (int i = 0; i < cells; ++i) text += i < filled ? (unicode ? "\u2588" : "#") : (unicode ? "\u2591" : ".");
  return text;
}

}  // namespace

bool stderr_is_terminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) == 1 && !(term != nullptr && std::strcmp(term, "dumb") == 0);
}

double eta_seconds(const StepProgress& progress, int epochs) {
  if (progress.samples_per_second <= 0) return -1;
  const double left =
      double(progress.samples - progress.sample) + double(epochs - progress.epoch - 1) * double(progress.samples);
  return std::max(0.0, left) / progress.samples_per_second;
}

std::string clock_text(double seconds) {
  if (seconds < 0 || !std::isfinite(seconds)) return "?";
  const long total = std::lround(seconds);
  if (total >= 3600) return format("%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  return format("%ld:%02ld", total / 60, total % 60);
}

std::string progress_line(const StepProgress& progress, int epochs, int width, bool unicode) {
  // Every part but the bar is ASCII, so its length in bytes is its width in columns.
  const std::string head = format("epoch %lld/%d ", (long long)progress.epoch + 1, epochs);
  const int digits = int(std::to_string(progress.samples).size());
  const std::string count =
      format("  %*lld/%lld", digits, (long long)progress.sample, (long long)progress.samples);
  const std::string loss = format("  loss %.4f", progress.loss);
  std::string rate = format("  %.0f samples/s", progress.samples_per_second);
  std::string eta = "  ETA " + clock_text(eta_seconds(progress, epochs));

  // Leave the last column free: writing there makes some terminals wrap to a new line.
  const auto cells_left = [&] {
    return width - 1 - int(head.size() + 2 + count.size() + loss.size() + rate.size() + eta.size());
  };
  if (cells_left() < kMinBarCells) rate.clear();
  if (cells_left() < kMinBarCells) eta.clear();
  const int cells = std::min(kMaxBarCells, cells_left());
  const double fraction = progress.samples > 0 ? double(progress.sample) / double(progress.samples) : 0.0;
  if (cells < kMinBarCells) {
    const std::string line = head + count.substr(1) + loss;  // no room for a bar
    return line.substr(0, size_t(std::max(0, width - 1)));
  }
  return head + "[" + bar_cells(fraction, cells, unicode) + "]" + count + loss + rate + eta;
}

ProgressBar::ProgressBar(std::FILE* terminal, int epochs, bool unicode)
    : terminal_(terminal), epochs_(epochs), unicode_(unicode) {}

ProgressBar::~ProgressBar() { clear(); }

void ProgressBar::update(const StepProgress& progress) {
  // \r: back to the start of the line; ESC [ K: erase from the cursor to the end of the line.
  const std::string line = "\r" + progress_line(progress, epochs_, terminal_width(terminal_), unicode_) + "\033[K";
  std::fputs(line.c_str(), terminal_);
  std::fflush(terminal_);
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!drawn_) return;
  std::fputs("\r\033[K", terminal_);
  std::fflush(terminal_);
  drawn_ = false;
}

}  // namespace cudamlp::cli
