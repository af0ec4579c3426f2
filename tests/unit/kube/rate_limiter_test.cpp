#include <doctest/doctest.h>

#include <chrono>

#include "kube/backoff.hpp"
#include "kube/rate_limiter.hpp"

using namespace podflow::kube;
using namespace std::chrono_literals;

TEST_CASE("token bucket: the burst is free, then one token per 1/qps") {
  TokenBucket bucket(5, 10);
  auto t0 = TokenBucket::Clock::time_point{} + 100s;
  for (int i = 0; i < 10; ++i) CHECK(bucket.reserve(t0) == 0ns);
  // The 11th request at the same instant waits 1/5 s, the 12th 2/5 s: reservations queue up.
  CHECK(bucket.reserve(t0) == 200ms);
  CHECK(bucket.reserve(t0) == 400ms);
  // One second later 5 tokens have come back, all already promised to the two waiters and...
  auto later = t0 + 1s;
  CHECK(bucket.reserve(later) == 0ns);  // -2 + 5 = 3 tokens, take 1
  CHECK(bucket.reserve(later) == 0ns);
  CHECK(bucket.reserve(later) == 0ns);
  CHECK(bucket.reserve(later) == 200ms);
}

TEST_CASE("token bucket: refills up to the burst, not beyond") {
  TokenBucket bucket(10, 3);
  auto t0 = TokenBucket::Clock::time_point{} + 1s;
  for (int i = 0; i < 3; ++i) CHECK(bucket.reserve(t0) == 0ns);
  auto much_later = t0 + 1h;
  for (int i = 0; i < 3; ++i) CHECK(bucket.reserve(much_later) == 0ns);
  CHECK(bucket.reserve(much_later) == 100ms);
}

TEST_CASE("token bucket: sustained rate is qps") {
  TokenBucket bucket(100, 1);
  auto now = TokenBucket::Clock::time_point{} + 1s;
  std::chrono::nanoseconds total{0};
  for (int i = 0; i < 101; ++i) total = bucket.reserve(now);
  // 1 free + 100 more at 100 QPS: the last waits ~1 s.
  CHECK(total >= 999ms);
  CHECK(total <= 1001ms);
}

TEST_CASE("token bucket: qps <= 0 is unlimited") {
  TokenBucket bucket(0, 1);
  auto now = TokenBucket::Clock::now();
  for (int i = 0; i < 1000; ++i) CHECK(bucket.reserve(now) == 0ns);
}

TEST_CASE("token bucket: wait() sleeps for the reservation") {
  TokenBucket bucket(50, 1);
  auto start = std::chrono::steady_clock::now();
  bucket.wait();
  bucket.wait();
  bucket.wait();
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed >= 38ms);  // two waits of 20 ms (minus rounding)
}

TEST_CASE("backoff doubles with jitter up to the cap and resets") {
  Backoff backoff(800ms, 30s, 2.0, 0.2);
  std::chrono::milliseconds expected[] = {800ms,   1600ms,  3200ms, 6400ms,
                                          12800ms, 25600ms, 30s,    30s};
  for (auto base : expected) {
    auto delay = backoff.next();
    CHECK(delay >= base * 8 / 10 - 1ms);
    CHECK(delay <= base * 12 / 10 + 1ms);
  }
  backoff.reset();
  CHECK(backoff.next() <= 960ms + 1ms);
}
