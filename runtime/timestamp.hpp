// Times as the manifest writes them: RFC 3339 in UTC with milliseconds,
// "2026-11-21T16:25:47.120Z".
#pragma once

#include <chrono>
#include <string>

namespace podflow::runtime {

std::string rfc3339_utc(std::chrono::system_clock::time_point time);

}  // namespace podflow::runtime
