#include "kube/kube_log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace podflow::kube {
namespace {
std::mutex sink_mutex;
std::atomic<LogLevel> sink_minimum{LogLevel::warning};
LogSink& sink() {
  static LogSink installed;
  return installed;
}
}  // namespace

void set_log_sink(LogSink new_sink, LogLevel minimum) {
  std::lock_guard lock(sink_mutex);
  sink_minimum = new_sink ? minimum : LogLevel::warning;
  sink() = std::move(new_sink);
}

bool log_enabled(LogLevel level) {
  return level >= sink_minimum.load(std::memory_order_relaxed);
}

void log(LogLevel level, std::string_view message) {
  if (!log_enabled(level)) return;
  LogSink current;
  {
    std::lock_guard lock(sink_mutex);
    current = sink();
  }
  if (current) {
    current(level, message);
    return;
  }
  if (level < LogLevel::warning) return;
  std::string line = level == LogLevel::error ? "podflow-kube error: " : "podflow-kube warning: ";
  line.append(message);
  line += '\n';
  std::fputs(line.c_str(), stderr);
}

}  // namespace podflow::kube
