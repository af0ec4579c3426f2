#include "kube/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace podflow::kube {
namespace {

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number_text(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

void write_header(std::string& out, const std::string& name, const std::string& help,
                  const char* type) {
  out += "# HELP " + name + " " + help + "\n";
  out += "# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string prometheus_labels(const std::vector<std::string>& names,
                              const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!out.empty()) out += ',';
    out += names[i] + "=\"" + escape_label(values[i]) + "\"";
  }
  return out;
}

CounterVec::CounterVec(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void CounterVec::add(const std::vector<std::string>& label_values, std::uint64_t amount) {
  std::lock_guard lock(mutex_);
  values_[label_values] += amount;
}

std::uint64_t CounterVec::value(const std::vector<std::string>& label_values) const {
  std::lock_guard lock(mutex_);
  auto it = values_.find(label_values);
  return it == values_.end() ? 0 : it->second;
}

std::uint64_t CounterVec::total() const {
  std::lock_guard lock(mutex_);
  std::uint64_t sum = 0;
  for (const auto& [labels, value] : values_) sum += value;
  return sum;
}

std::map<std::vector<std::string>, std::uint64_t> CounterVec::values() const {
  std::lock_guard lock(mutex_);
  return values_;
}

void CounterVec::write_prometheus(std::string& out) const {
  write_header(out, name_, help_, "counter");
  std::lock_guard lock(mutex_);
  for (const auto& [labels, value] : values_) {
    out += name_;
    if (!label_names_.empty()) out += "{" + prometheus_labels(label_names_, labels) + "}";
    out += " " + std::to_string(value) + "\n";
  }
}

Gauge::Gauge(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}

void Gauge::add(double amount) {
  double current = value_.load();
  while (!value_.compare_exchange_weak(current, current + amount)) {
  }
}

void Gauge::write_prometheus(std::string& out) const {
  write_header(out, name_, help_, "gauge");
  out += name_ + " " + number_text(value()) + "\n";
}

Histogram::Histogram(std::string name, std::string help, std::vector<double> upper_bounds)
    : name_(std::move(name)), help_(std::move(help)), bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  counts_.assign(bounds_.size() + 1, 0);
}

std::vector<double> Histogram::latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> Histogram::wait_buckets() {
  std::vector<double> bounds;
  for (double bound = 0.001; bound < 1100; bound *= 4) bounds.push_back(bound);
  return bounds;
}

void Histogram::observe(double seconds) {
  auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), seconds) -
                                         bounds_.begin());
  std::lock_guard lock(mutex_);
  ++counts_[bucket];
  sum_ += seconds;
  ++count_;
}

std::uint64_t Histogram::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

double Histogram::sum() const {
  std::lock_guard lock(mutex_);
  return sum_;
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::lock_guard lock(mutex_);
  std::vector<std::uint64_t> cumulative;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    running += counts_[i];
    cumulative.push_back(running);
  }
  return cumulative;
}

void Histogram::write_prometheus(std::string& out) const {
  write_header(out, name_, help_, "histogram");
  auto cumulative = cumulative_counts();
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    out += name_ + "_bucket{le=\"" + number_text(bounds_[i]) + "\"} " +
           std::to_string(cumulative[i]) + "\n";
  }
  out += name_ + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name_ + "_sum " + number_text(sum_) + "\n";
  out += name_ + "_count " + std::to_string(count_) + "\n";
}

}  // namespace podflow::kube
