// Where the library's own diagnostics go (watch restarts, lost leases, dropped events).
// The operator installs a sink that writes its JSON log lines; the default writes warnings and
// errors to stderr as plain lines.
#pragma once

#include <functional>
#include <string_view>

namespace podflow::kube {

enum class LogLevel { debug, info, warning, error };

using LogSink = std::function<void(LogLevel level, std::string_view message)>;

// Replaces the sink (thread-safe). An empty function restores the default.
void set_log_sink(LogSink sink);
void log(LogLevel level, std::string_view message);

}  // namespace podflow::kube
