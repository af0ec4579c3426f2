// Kubernetes timestamps: metav1.Time ("2026-11-21T16:53:25Z") and metav1.MicroTime
// ("2026-11-21T16:53:25.123456Z"), always UTC.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace podflow::kube {

std::string format_time(std::chrono::system_clock::time_point time);
std::string format_micro_time(std::chrono::system_clock::time_point time);
// Either form, with 'Z' or a numeric offset; nullopt when it is not RFC 3339.
std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view text);

}  // namespace podflow::kube
