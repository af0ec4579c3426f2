#include "runtime/termination_signals.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace podflow::runtime {

TerminationSignals::TerminationSignals() {
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &blocked, &previous_mask_);
  descriptor_ = ::signalfd(-1, &blocked, SFD_NONBLOCK | SFD_CLOEXEC);
  if (descriptor_ < 0) {
    throw std::runtime_error(std::string("cannot create a signalfd: ") + std::strerror(errno));
  }
  ::signal(SIGPIPE, SIG_IGN);
}

TerminationSignals::~TerminationSignals() {
  ::close(descriptor_);
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

bool TerminationSignals::read_pending() {
  bool child_changed = false;
  signalfd_siginfo info{};
  for (;;) {
    const ssize_t got = ::read(descriptor_, &info, sizeof info);
    if (got != static_cast<ssize_t>(sizeof info)) {
      if (got < 0 && errno == EINTR) continue;
      return child_changed;
    }
    const int number = static_cast<int>(info.ssi_signo);
    if (number == SIGCHLD) {
      child_changed = true;
    } else if (!termination_) {
      termination_ = number;
    }
  }
}

std::optional<int> TerminationSignals::termination_signal() {
  read_pending();
  return termination_;
}

void TerminationSignals::reset_in_child() {
  ::signal(SIGPIPE, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGCHLD, SIG_DFL);
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);
}

}  // namespace podflow::runtime
