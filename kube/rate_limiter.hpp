// A token bucket (client-go's flowcontrol.NewTokenBucketRateLimiter, golang.org/x/time/rate):
// `burst` tokens at most, refilled at `qps` per second. Each request takes one token, waiting
// when none is left. Used by the Client (default 5 QPS, burst 10, as client-go) and by the
// WorkQueue's overall limit (10 QPS, burst 100).
#pragma once

#include <chrono>
#include <mutex>

namespace podflow::kube {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // qps <= 0 means unlimited (every reservation is free). burst < 1 is taken as 1.
  TokenBucket(double qps, int burst);

  // Takes one token at time `now` and returns how long the caller must wait before acting
  // (zero when a token was available). Reservations queue up: the tenth caller of an empty
  // bucket at 5 QPS waits 2 s. Thread-safe.
  std::chrono::nanoseconds reserve(Clock::time_point now);
  // reserve(Clock::now()) and sleeps for the answer; returns the time slept.
  std::chrono::nanoseconds wait();

  double qps() const { return qps_; }
  int burst() const { return burst_; }

 private:
  double qps_;
  int burst_;
  std::mutex mutex_;
  double tokens_;  // may go negative: reservations already handed out
  Clock::time_point last_;
  bool started_ = false;
};

}  // namespace podflow::kube
