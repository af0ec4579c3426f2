// The operator's HTTP endpoints: /healthz (the process serves), /readyz (caches synced and, with
// leader election, this replica leads or stands by ready to), /metrics (Prometheus text).
// Served by cpprestsdk's listener (Boost.Asio).
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace podflow::server {

struct EndpointHandlers {
  std::function<bool(std::string& why)> ready;  // false: 503 with `why`
  std::function<std::string()> metrics;         // the exposition text
};

class HttpEndpoints {
 public:
  // `address` is "host:port" or ":port" (all interfaces). Empty or "0": nothing is served.
  // Throws std::runtime_error when it cannot listen.
  HttpEndpoints(const std::string& address, EndpointHandlers handlers);
  ~HttpEndpoints();
  HttpEndpoints(const HttpEndpoints&) = delete;
  HttpEndpoints& operator=(const HttpEndpoints&) = delete;

 private:
  struct Listener;
  std::unique_ptr<Listener> listener_;
};

}  // namespace podflow::server
