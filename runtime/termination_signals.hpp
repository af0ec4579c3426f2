// The runtime's signals, read synchronously: SIGTERM and SIGINT (stop the step, report
// "killed") and SIGCHLD (the step exited) are blocked and read from a signalfd, so the step
// supervisor waits for pipes, signals and deadlines in one poll(). SIGPIPE is ignored, so a
// closed stdout never kills the runtime. Create it first thing in main, before any thread, so
// every thread inherits the blocked mask.
#pragma once

#include <signal.h>

#include <optional>

namespace podflow::runtime {

class TerminationSignals {
 public:
  TerminationSignals();  // throws std::runtime_error if the signalfd cannot be made
  ~TerminationSignals();
  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;

  int descriptor() const { return descriptor_; }
  // Reads every pending signal without blocking; true if SIGCHLD was among them.
  bool read_pending();
  // SIGTERM or SIGINT, once one has arrived (reads pending signals first).
  std::optional<int> termination_signal();

  // What a child must restore before exec: an empty mask and default dispositions.
  // Async-signal-safe: call it between fork and exec.
  static void reset_in_child();

 private:
  int descriptor_ = -1;
  sigset_t previous_mask_{};
  std::optional<int> termination_;
};

}  // namespace podflow::runtime
