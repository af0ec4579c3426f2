#include "kube/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace podflow::kube {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap, double factor,
                 double jitter)
    : initial_(initial),
      cap_(cap),
      factor_(factor),
      jitter_(jitter),
      random_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::next() {
  double base = static_cast<double>(initial_.count()) * std::pow(factor_, failures_);
  base = std::min(base, static_cast<double>(cap_.count()));
  if (failures_ < 64) ++failures_;
  std::uniform_real_distribution<double> spread(1.0 - jitter_, 1.0 + jitter_);
  return std::chrono::milliseconds(static_cast<long long>(base * spread(random_)));
}

void Backoff::reset() {
  failures_ = 0;
}

}  // namespace podflow::kube
