// Exponential backoff with jitter, capped: the delays between watch reconnects and between
// leader-election retries. Like kube-rs' default watcher backoff (0.8 s doubling to 30 s, with
// jitter) and client-go's wait.Backoff.
#pragma once

#include <chrono>
#include <random>

namespace podflow::kube {

class Backoff {
 public:
  // Delays start at `initial`, multiply by `factor` per failure up to `cap`, and are then
  // scaled by a random factor in [1 - jitter, 1 + jitter] (never above cap * (1 + jitter)).
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap, double factor = 2.0,
          double jitter = 0.2);

  std::chrono::milliseconds next();  // the delay before the next attempt
  void reset();                      // after a success
  int failures() const { return failures_; }

 private:
  std::chrono::milliseconds initial_, cap_;
  double factor_, jitter_;
  int failures_ = 0;
  std::mt19937_64 random_;
};

}  // namespace podflow::kube
