#include "operator/server/http_endpoints.hpp"

#include <cpprest/http_listener.h>

#include <stdexcept>

namespace podflow::server {

using web::http::http_request;
using web::http::methods;
using web::http::status_codes;
using web::http::experimental::listener::http_listener;

struct HttpEndpoints::Listener {
  http_listener listener;
  explicit Listener(const std::string& url) : listener(url) {}
};

HttpEndpoints::HttpEndpoints(const std::string& address, EndpointHandlers handlers) {
  if (address.empty() || address == "0") return;  // "0": off, as controller-runtime spells it
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    throw std::runtime_error("address '" + address + "': write host:port or :port");
  }
  const std::string host = colon == 0 ? "0.0.0.0" : address.substr(0, colon);
  const std::string url = "http://" + host + ":" + address.substr(colon + 1);
  listener_ = std::make_unique<Listener>(url);
  listener_->listener.support(methods::GET, [handlers](http_request request) {
    const std::string path = request.relative_uri().path();
    if (path == "/healthz" || path == "/livez") {
      request.reply(status_codes::OK, "ok\n", "text/plain");
    } else if (path == "/readyz") {
      std::string why;
      if (!handlers.ready || handlers.ready(why)) {
        request.reply(status_codes::OK, "ok\n", "text/plain");
      } else {
        request.reply(status_codes::ServiceUnavailable, why + "\n", "text/plain");
      }
    } else if (path == "/metrics" && handlers.metrics) {
      request.reply(status_codes::OK, handlers.metrics(),
                    "text/plain; version=0.0.4; charset=utf-8");
    } else {
      request.reply(status_codes::NotFound, "not found: try /healthz, /readyz, /metrics\n",
                    "text/plain");
    }
  });
  try {
    listener_->listener.open().wait();
  } catch (const std::exception& error) {
    throw std::runtime_error("cannot listen on " + address + ": " + error.what());
  }
}

HttpEndpoints::~HttpEndpoints() {
  if (!listener_) return;
  try {
    listener_->listener.close().wait();
  } catch (const std::exception&) {
    // Shutting down: nothing left to tell the client.
  }
}

}  // namespace podflow::server
