#include "kube/rate_limiter.hpp"

#include <algorithm>
#include <thread>

namespace podflow::kube {

TokenBucket::TokenBucket(double qps, int burst)
    : qps_(qps), burst_(std::max(burst, 1)), tokens_(std::max(burst, 1)) {}

std::chrono::nanoseconds TokenBucket::reserve(Clock::time_point now) {
  if (qps_ <= 0) return std::chrono::nanoseconds(0);
  std::lock_guard lock(mutex_);
  if (!started_) {
    started_ = true;
    last_ = now;
  }
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min<double>(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return std::chrono::nanoseconds(0);
  double wait_seconds = -tokens_ / qps_;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(wait_seconds));
}

std::chrono::nanoseconds TokenBucket::wait() {
  auto delay = reserve(Clock::now());
  if (delay > std::chrono::nanoseconds(0)) std::this_thread::sleep_for(delay);
  return delay;
}

}  // namespace podflow::kube
