#include "kube/work_queue.hpp"

#include <algorithm>
#include <cmath>

namespace podflow::kube {

ItemBackoff::ItemBackoff(std::chrono::milliseconds base, std::chrono::milliseconds max)
    : base_(base), max_(max) {}

std::chrono::milliseconds ItemBackoff::when(const std::string& key) {
  std::lock_guard lock(mutex_);
  int exponent = failures_[key]++;
  double delay = static_cast<double>(base_.count()) * std::pow(2.0, std::min(exponent, 62));
  if (delay > static_cast<double>(max_.count())) return max_;
  return std::chrono::milliseconds(static_cast<long long>(delay));
}

void ItemBackoff::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int ItemBackoff::failures(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

WorkQueueMetrics::WorkQueueMetrics(const std::string& name)
    : depth("podflow_workqueue_depth_" + name, "Keys waiting in the work queue " + name),
      adds("podflow_workqueue_adds_total_" + name, "Keys added to the work queue " + name,
           {"kind"}),
      retries("podflow_workqueue_retries_total_" + name,
              "Rate-limited re-adds to the work queue " + name, {}),
      wait_seconds("podflow_workqueue_queue_duration_seconds_" + name,
                   "Time a key waited in the work queue " + name + " before a worker took it",
                   Histogram::wait_buckets()),
      work_seconds("podflow_workqueue_work_duration_seconds_" + name,
                   "Time a worker spent on a key of the work queue " + name,
                   Histogram::latency_buckets()) {}

void WorkQueueMetrics::write_prometheus(std::string& out) const {
  depth.write_prometheus(out);
  adds.write_prometheus(out);
  retries.write_prometheus(out);
  wait_seconds.write_prometheus(out);
  work_seconds.write_prometheus(out);
}

WorkQueue::WorkQueue(WorkQueueOptions options)
    : options_(std::move(options)),
      item_backoff_(options_.base_delay, options_.max_delay),
      bucket_(options_.qps, options_.burst),
      metrics_(options_.name) {}

void WorkQueue::add_locked(const std::string& key, Clock::time_point now) {
  if (shutting_down_ || dirty_.count(key)) return;
  dirty_.insert(key);
  queued_at_.emplace(key, now);
  if (processing_.count(key)) return;  // queued again by done()
  queue_.push_back(key);
  metrics_.depth.set(static_cast<double>(queue_.size()));
  changed_.notify_one();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mutex_);
  metrics_.adds.add({"add"});
  add_locked(key, Clock::now());
}

void WorkQueue::add_after(const std::string& key, std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  if (shutting_down_) return;
  metrics_.adds.add({"after"});
  auto now = Clock::now();
  if (delay <= std::chrono::milliseconds(0)) {
    add_locked(key, now);
    return;
  }
  auto ready = now + delay;
  if (auto it = waiting_.find(key); it != waiting_.end()) {
    if (it->second <= ready) return;  // an earlier time is already pending
    auto range = waiting_by_time_.equal_range(it->second);
    for (auto entry = range.first; entry != range.second; ++entry) {
      if (entry->second == key) {
        waiting_by_time_.erase(entry);
        break;
      }
    }
    it->second = ready;
  } else {
    waiting_.emplace(key, ready);
  }
  waiting_by_time_.emplace(ready, key);
  changed_.notify_all();  // a waiting get() may need to wake earlier
}

std::chrono::milliseconds WorkQueue::rate_limit_delay(const std::string& key) {
  auto item = item_backoff_.when(key);
  auto bucket =
      std::chrono::ceil<std::chrono::milliseconds>(bucket_.reserve(TokenBucket::Clock::now()));
  return std::max(item, bucket);
}

void WorkQueue::add_rate_limited(const std::string& key) {
  metrics_.retries.add({});
  add_after(key, rate_limit_delay(key));
}

void WorkQueue::forget(const std::string& key) {
  item_backoff_.forget(key);
}

int WorkQueue::num_requeues(const std::string& key) const {
  return item_backoff_.failures(key);
}

void WorkQueue::promote_due_locked(Clock::time_point now) {
  while (!waiting_by_time_.empty() && waiting_by_time_.begin()->first <= now) {
    auto key = waiting_by_time_.begin()->second;
    waiting_by_time_.erase(waiting_by_time_.begin());
    waiting_.erase(key);
    add_locked(key, now);
  }
}

std::optional<std::string> WorkQueue::get_until(std::optional<Clock::time_point> deadline) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (shutting_down_) return std::nullopt;
    auto now = Clock::now();
    promote_due_locked(now);
    if (!queue_.empty()) break;
    if (deadline && now >= *deadline) return std::nullopt;
    std::optional<Clock::time_point> wake = deadline;
    if (!waiting_by_time_.empty()) {
      auto next = waiting_by_time_.begin()->first;
      if (!wake || next < *wake) wake = next;
    }
    if (wake) {
      changed_.wait_until(lock, *wake);
    } else {
      changed_.wait(lock);
    }
  }
  auto key = queue_.front();
  queue_.pop_front();
  metrics_.depth.set(static_cast<double>(queue_.size()));
  dirty_.erase(key);
  processing_.insert(key);
  auto now = Clock::now();
  if (auto it = queued_at_.find(key); it != queued_at_.end()) {
    metrics_.wait_seconds.observe(std::chrono::duration<double>(now - it->second).count());
    queued_at_.erase(it);
  }
  started_at_[key] = now;
  return key;
}

std::optional<std::string> WorkQueue::get() {
  return get_until(std::nullopt);
}

std::optional<std::string> WorkQueue::get_for(std::chrono::milliseconds timeout) {
  return get_until(Clock::now() + timeout);
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (!processing_.erase(key)) return;
  if (auto it = started_at_.find(key); it != started_at_.end()) {
    metrics_.work_seconds.observe(std::chrono::duration<double>(Clock::now() - it->second).count());
    started_at_.erase(it);
  }
  if (dirty_.count(key) && !shutting_down_) {
    queue_.push_back(key);
    metrics_.depth.set(static_cast<double>(queue_.size()));
    changed_.notify_one();
  }
}

void WorkQueue::shut_down() {
  std::lock_guard lock(mutex_);
  shutting_down_ = true;
  changed_.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mutex_);
  return shutting_down_;
}

std::size_t WorkQueue::depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t WorkQueue::delayed() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

std::size_t WorkQueue::processing() const {
  std::lock_guard lock(mutex_);
  return processing_.size();
}

}  // namespace podflow::kube
