// Counters, gauges and histograms as plain thread-safe values, with Prometheus text rendering.
//
// Debian has no prometheus-cpp, so the library keeps its numbers here and the operator's /metrics
// handler concatenates `write_prometheus` of each (the text exposition format, version 0.0.4).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace podflow::kube {

// A monotonically increasing count, per combination of label values.
class CounterVec {
 public:
  CounterVec(std::string name, std::string help, std::vector<std::string> label_names);

  // `label_values` in the order of the label names given at construction.
  void add(const std::vector<std::string>& label_values, std::uint64_t amount = 1);
  std::uint64_t value(const std::vector<std::string>& label_values) const;
  std::uint64_t total() const;  // summed over every label combination
  std::map<std::vector<std::string>, std::uint64_t> values() const;
  void write_prometheus(std::string& out) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::uint64_t> values_;
};

// A value that goes up and down (queue depth).
class Gauge {
 public:
  Gauge(std::string name, std::string help);
  void set(double value) { value_.store(value); }
  void add(double amount);
  double value() const { return value_.load(); }
  void write_prometheus(std::string& out) const;

 private:
  std::string name_, help_;
  std::atomic<double> value_{0};
};

// Observations in cumulative buckets (upper bounds in seconds, +Inf implied), sum and count.
class Histogram {
 public:
  Histogram(std::string name, std::string help, std::vector<double> upper_bounds);
  // 1 ms .. 60 s: request and reconcile latencies.
  static std::vector<double> latency_buckets();
  // 1 ms .. ~17 min: time spent waiting in a queue.
  static std::vector<double> wait_buckets();

  void observe(double seconds);
  std::uint64_t count() const;
  double sum() const;
  // Observations <= upper_bounds[i], cumulative, one per bound.
  std::vector<std::uint64_t> cumulative_counts() const;
  void write_prometheus(std::string& out) const;

 private:
  std::string name_, help_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; last one is +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// "label=\"value\"" pairs joined with commas, values escaped as the text format requires.
std::string prometheus_labels(const std::vector<std::string>& names,
                              const std::vector<std::string>& values);

}  // namespace podflow::kube
