#include "kube/kube_log.hpp"

#include <cstdio>
#include <mutex>
#include <string>

namespace podflow::kube {
namespace {
std::mutex sink_mutex;
LogSink& sink() {
  static LogSink installed;
  return installed;
}
}  // namespace

void set_log_sink(LogSink new_sink) {
  std::lock_guard lock(sink_mutex);
  sink() = std::move(new_sink);
}

void log(LogLevel level, std::string_view message) {
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
