// The operator's logs: one JSON object per line on stderr ({"ts", "level", "logger", "msg"}), as
// log collectors expect, or plain text for a terminal (--log-format text).
#pragma once

#include <string>

#include "kube/kube_log.hpp"

namespace podflow::server {

// Routes kube::log (used by every component) to stderr in `format` ("json" or "text"), dropping
// messages below `level`.
void install_log_sink(const std::string& format, kube::LogLevel level);

// "debug", "info", "warning", "error"; throws std::invalid_argument naming the choices.
kube::LogLevel parse_log_level(const std::string& name);

}  // namespace podflow::server
