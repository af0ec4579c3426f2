// A de-duplicating, rate-limited work queue of keys (client-go's workqueue: Type +
// DelayingQueue + RateLimitingQueue with the default controller rate limiter).
//
// - A key is queued at most once: adding a queued key again does nothing.
// - A key being processed (between get() and done()) is never handed to another worker; adding
//   it meanwhile marks it dirty and it is queued again when done() is called.
// - add_after(key, d) queues it after d (the earliest of several pending times wins).
// - add_rate_limited(key) queues it after max(per-key exponential backoff: base_delay * 2^n, up
//   to max_delay; an overall token bucket of qps/burst). forget(key) resets the key's backoff.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "kube/metrics.hpp"
#include "kube/rate_limiter.hpp"

namespace podflow::kube {

struct WorkQueueOptions {
  std::string name = "controller";  // the metrics label
  std::chrono::milliseconds base_delay{5};
  std::chrono::milliseconds max_delay{1000 * 1000};
  double qps = 10;  // the overall bucket (client-go: 10 QPS, burst 100)
  int burst = 100;
};

// The per-key part of the rate limiter: base * 2^failures, capped (client-go's
// ItemExponentialFailureRateLimiter). Thread-safe.
class ItemBackoff {
 public:
  ItemBackoff(std::chrono::milliseconds base, std::chrono::milliseconds max);
  // The delay for the key's next retry, counting one more failure.
  std::chrono::milliseconds when(const std::string& key);
  void forget(const std::string& key);
  int failures(const std::string& key) const;

 private:
  std::chrono::milliseconds base_, max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int> failures_;
};

struct WorkQueueMetrics {
  explicit WorkQueueMetrics(const std::string& name);
  Gauge depth;             // keys waiting to be processed (not delayed ones)
  CounterVec adds;         // {kind="add|after|rate_limited"}
  CounterVec retries;      // add_rate_limited calls
  Histogram wait_seconds;  // from queued to handed out
  Histogram work_seconds;  // from handed out to done
  void write_prometheus(std::string& out) const;
};

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WorkQueue(WorkQueueOptions options = {});
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  void add_after(const std::string& key, std::chrono::milliseconds delay);
  void add_rate_limited(const std::string& key);
  // Stops tracking the key's failures (call after a successful reconcile).
  void forget(const std::string& key);
  // How many times add_rate_limited was called since the last forget.
  int num_requeues(const std::string& key) const;
  // The delay add_rate_limited would use now, counting a failure (for tests and logs).
  std::chrono::milliseconds rate_limit_delay(const std::string& key);

  // Blocks until a key is ready and hands it out; nullopt once shut down.
  std::optional<std::string> get();
  // Like get() but gives up after `timeout` (nullopt).
  std::optional<std::string> get_for(std::chrono::milliseconds timeout);
  // The worker finished with `key` (whatever the outcome).
  void done(const std::string& key);

  // Wakes every get() with nullopt; later adds are ignored. Items being processed may still
  // call done().
  void shut_down();
  bool shutting_down() const;

  std::size_t depth() const;       // queued, ready to hand out
  std::size_t delayed() const;     // waiting for their time
  std::size_t processing() const;  // handed out, not done
  WorkQueueMetrics& metrics() { return metrics_; }

 private:
  void add_locked(const std::string& key, Clock::time_point now);
  void promote_due_locked(Clock::time_point now);
  std::optional<std::string> get_until(std::optional<Clock::time_point> deadline);

  WorkQueueOptions options_;
  ItemBackoff item_backoff_;
  TokenBucket bucket_;
  WorkQueueMetrics metrics_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_set<std::string> processing_;
  std::unordered_map<std::string, Clock::time_point> queued_at_;
  std::unordered_map<std::string, Clock::time_point> started_at_;
  std::unordered_map<std::string, Clock::time_point> waiting_;  // key -> ready time
  std::multimap<Clock::time_point, std::string> waiting_by_time_;
  bool shutting_down_ = false;
};

}  // namespace podflow::kube
