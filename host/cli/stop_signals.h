// Ctrl-C (SIGINT) and SIGTERM during training. The first signal asks the trainer to stop after the
// step in progress, write a checkpoint and exit cleanly; a second one ends the process at once, as the
// default action would (the checkpoint being written is atomic, so it is lost, never half-written, and
// its temporary file is removed first).
#pragma once

namespace cudamlp::cli {

// Installs the handlers for its lifetime and restores the previous ones after. One at a time.
class StopSignals {
 public:
  // quiet: no "stopping after the current step" message (the ranks of a distributed run but rank 0).
  explicit StopSignals(bool quiet = false);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool requested() const { return signal_number() != 0; }
  int signal_number() const;  // the signal that asked for the stop (SIGINT, SIGTERM), 0 when none did
};

// "SIGINT", "SIGTERM", or "signal N".
const char* signal_name(int signal_number);

}  // namespace cudamlp::cli
