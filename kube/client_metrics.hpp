// What the Kubernetes client counts: API requests by verb and HTTP code, their latency, watch
// (re)starts by resource and reason, and rate-limiter waits. One instance is shared by a Client
// and every Watcher built on it; the operator renders it on /metrics.
#pragma once

#include <string>

#include "kube/metrics.hpp"

namespace podflow::kube {

struct ClientMetrics {
  // podflow_kube_requests_total{verb="GET|LIST|WATCH|CREATE|UPDATE|PATCH|APPLY|DELETE",code}
  // code "0" when no answer arrived.
  CounterVec requests{"podflow_kube_requests_total",
                      "Kubernetes API requests by verb and HTTP status code",
                      {"verb", "code"}};
  Histogram request_seconds{"podflow_kube_request_duration_seconds",
                            "Kubernetes API request latency (to the response headers)",
                            Histogram::latency_buckets()};
  // reason: "initial", "relist_gone" (410), "reconnect" (stream ended or failed)
  CounterVec watch_starts{"podflow_kube_watch_starts_total",
                          "Watches (re)started, by resource and reason",
                          {"resource", "reason"}};
  CounterVec watch_events{"podflow_kube_watch_events_total",
                          "Watch events received, by resource and type",
                          {"resource", "type"}};
  Histogram rate_limiter_wait_seconds{"podflow_kube_rate_limiter_wait_seconds",
                                      "Time requests waited for the client-side rate limiter",
                                      Histogram::latency_buckets()};

  void write_prometheus(std::string& out) const;
};

}  // namespace podflow::kube
