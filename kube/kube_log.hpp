// Where the library's own diagnostics go (watch restarts, lost leases, dropped events).
// The operator installs a sink that writes its JSON log lines; the default writes warnings and
// errors to stderr as plain lines.
#pragma once

#include <functional>
#include <string_view>

namespace podflow::kube {

enum class LogLevel { debug, info, warning, error };

using LogSink = std::function<void(LogLevel level, std::string_view message)>;

// Replaces the sink (thread-safe); it is handed messages of `minimum` and above. An empty
// function restores the default (warnings and errors).
void set_log_sink(LogSink sink, LogLevel minimum = LogLevel::debug);
void log(LogLevel level, std::string_view message);
// Whether a message of this level would reach the sink: a caller whose message costs something
// to build (a line per reconcile) asks first.
bool log_enabled(LogLevel level);

}  // namespace podflow::kube
