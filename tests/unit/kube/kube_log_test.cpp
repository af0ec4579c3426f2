#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kube/kube_log.hpp"

using namespace podflow::kube;

TEST_CASE("log: a sink gets its minimum level and above, and says so before a message is built") {
  std::vector<std::string> got;
  set_log_sink([&got](LogLevel, std::string_view message) { got.emplace_back(message); },
               LogLevel::info);
  CHECK_FALSE(log_enabled(LogLevel::debug));
  CHECK(log_enabled(LogLevel::info));
  CHECK(log_enabled(LogLevel::error));
  log(LogLevel::debug, "dropped");
  log(LogLevel::info, "kept");
  CHECK(got == std::vector<std::string>{"kept"});

  set_log_sink([&got](LogLevel, std::string_view message) { got.emplace_back(message); });
  CHECK(log_enabled(LogLevel::debug));  // a sink without a minimum takes everything
  log(LogLevel::debug, "debug");
  CHECK(got.back() == "debug");

  set_log_sink(nullptr);  // the default: warnings and errors to stderr
  CHECK_FALSE(log_enabled(LogLevel::info));
  CHECK(log_enabled(LogLevel::warning));
}
