#include "operator/server/json_log.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "kube/kube_time.hpp"

namespace podflow::server {
namespace {

const char* level_name(kube::LogLevel level) {
  switch (level) {
    case kube::LogLevel::debug:
      return "debug";
    case kube::LogLevel::info:
      return "info";
    case kube::LogLevel::warning:
      return "warning";
    case kube::LogLevel::error:
      return "error";
  }
  return "info";
}

}  // namespace

kube::LogLevel parse_log_level(const std::string& name) {
  if (name == "debug") return kube::LogLevel::debug;
  if (name == "info") return kube::LogLevel::info;
  if (name == "warning") return kube::LogLevel::warning;
  if (name == "error") return kube::LogLevel::error;
  throw std::invalid_argument("log level '" + name + "': use debug, info, warning or error");
}

void install_log_sink(const std::string& format, kube::LogLevel minimum) {
  const bool json = format != "text";
  auto mutex = std::make_shared<std::mutex>();
  // The library drops messages below `minimum` before they reach the sink.
  kube::set_log_sink(
      [json, mutex](kube::LogLevel level, std::string_view message) {
        const std::string time = kube::format_micro_time(std::chrono::system_clock::now());
        std::string line;
        if (json) {
          nlohmann::json entry = {{"ts", time},
                                  {"level", level_name(level)},
                                  {"logger", "podflow-operator"},
                                  {"msg", std::string(message)}};
          // Never throw on a message that is not UTF-8 (an API server's body, a pod's text).
          line = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        } else {
          line = time + " " + level_name(level) + " " + std::string(message);
        }
        std::lock_guard lock(*mutex);
        std::fprintf(stderr, "%s\n", line.c_str());
      },
      minimum);
}

}  // namespace podflow::server
