// The progress bar of `cudamlp train`, drawn on stderr when stderr is a terminal:
//
//   epoch 2/5 [██████████░░░░░░░░░░░░░░]  27648/60000  loss 0.2817  61234 samples/s  ETA 0:14
//
// one line, redrawn in place (carriage return, then erase to the end of the line). Elsewhere (a pipe, a
// file, CI logs) nothing is drawn and the per-epoch lines are the whole story.
#pragma once

#include <cstdio>
#include <string>

#include "cudamlp/trainer.h"

namespace cudamlp::cli {

// True when stderr is a terminal that can redraw a line (TERM is not "dumb").
bool stderr_is_terminal();

// Seconds of training left after `progress`, at its samples_per_second: the rest of this epoch and all
// later ones (evaluation time not counted). Negative when unknown (no rate yet).
double eta_seconds(const StepProgress& progress, int epochs);

// "0:07", "12:34", "1:02:03"; "?" for a negative (unknown) time.
std::string clock_text(double seconds);

// The text of the bar for `progress`, fitted to `width` columns: the bar itself shrinks first, then
// the ETA and samples/s are left out. unicode: block characters; otherwise '#' and '.'.
std::string progress_line(const StepProgress& progress, int epochs, int width, bool unicode);

// Draws progress_line on a terminal stream. The line is erased when an epoch's report is about to be
// printed (clear()) and when the bar goes out of scope, so an error message never lands on it.
class ProgressBar {
 public:
  ProgressBar(std::FILE* terminal, int epochs, bool unicode);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(const StepProgress& progress);
  void clear();

 private:
  std::FILE* terminal_;
  int epochs_;
  bool unicode_;
  bool drawn_ = false;
};

}  // namespace cudamlp::cli
