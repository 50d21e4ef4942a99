// SIGINT/SIGTERM handling for `cudamlp train`; see stop_signals.h.
#include "stop_signals.h"

#include <signal.h>
#include <unistd.h>

#include <csignal>

#include "cudamlp/atomic_file.h"

namespace cudamlp::cli {

namespace {

// Written by the handler, read by the training loop between steps.
volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_quiet = 0;  // the other ranks of a distributed run: rank 0 speaks for them

struct sigaction g_previous_int, g_previous_term;

// Only async-signal-safe calls here: write(2), unlink(2), sigaction(2), raise(3).
void on_stop_signal(int signal_number) {
  if (g_stop_signal != 0) {
    // Second signal: the default action, now. It is blocked while this handler runs, so it is
    // delivered (and ends the process) as soon as the handler returns. A checkpoint being written is
    // lost, never half-written: its temporary file goes with the process.
    if (const char* temporary = atomic_write_temporary()) ::unlink(temporary);
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action, nullptr);
    raise(signal_number);
    return;
  }
  g_stop_signal = signal_number;
  if (g_quiet) return;
  static const char kMessage[] =
      "\ncudamlp: stopping after the current step to write a checkpoint (press Ctrl-C again to quit at once)\n";
  const ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  (void)ignored;
}

}  // namespace

StopSignals::StopSignals(bool quiet) {
  g_stop_signal = 0;
  g_quiet = quiet ? 1 : 0;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // a read or write in progress goes on; the loop polls the flag
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

int StopSignals::signal_number() const { return g_stop_signal; }

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
  }
}

}  // namespace cudamlp::cli
