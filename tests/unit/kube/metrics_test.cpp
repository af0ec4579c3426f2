#include <doctest/doctest.h>

#include "kube/client_metrics.hpp"
#include "kube/metrics.hpp"

using namespace podflow::kube;

TEST_CASE("counter vectors render in the Prometheus text format") {
  CounterVec requests("requests_total", "API requests", {"verb", "code"});
  requests.add({"GET", "200"});
  requests.add({"GET", "200"});
  requests.add({"LIST", "5\"0\\0"}, 3);
  CHECK(requests.value({"GET", "200"}) == 2);
  CHECK(requests.total() == 5);
  std::string out;
  requests.write_prometheus(out);
  CHECK(out ==
        "# HELP requests_total API requests\n"
        "# TYPE requests_total counter\n"
        "requests_total{verb=\"GET\",code=\"200\"} 2\n"
        "requests_total{verb=\"LIST\",code=\"5\\\"0\\\\0\"} 3\n");
}

TEST_CASE("histograms have cumulative buckets, sum and count") {
  Histogram latency("latency_seconds", "Latency", {0.1, 1});
  latency.observe(0.05);
  latency.observe(0.1);
  latency.observe(0.5);
  latency.observe(3);
  CHECK(latency.count() == 4);
  CHECK(latency.cumulative_counts() == std::vector<std::uint64_t>{2, 3});
  std::string out;
  latency.write_prometheus(out);
  CHECK(out ==
        "# HELP latency_seconds Latency\n"
        "# TYPE latency_seconds histogram\n"
        "latency_seconds_bucket{le=\"0.10000000000000001\"} 2\n"
        "latency_seconds_bucket{le=\"1\"} 3\n"
        "latency_seconds_bucket{le=\"+Inf\"} 4\n"
        "latency_seconds_sum 3.6499999999999999\n"
        "latency_seconds_count 4\n");
}

TEST_CASE("gauges and the client metrics bundle") {
  Gauge depth("depth", "Depth");
  depth.set(3);
  depth.add(-1);
  CHECK(depth.value() == 2);
  ClientMetrics metrics;
  metrics.requests.add({"GET", "404"});
  metrics.watch_starts.add({"configmaps", "initial"});
  std::string out;
  metrics.write_prometheus(out);
  CHECK(out.find("podflow_kube_requests_total{verb=\"GET\",code=\"404\"} 1\n") !=
        std::string::npos);
  CHECK(out.find("podflow_kube_watch_starts_total{resource=\"configmaps\",reason=\"initial\"} 1") !=
        std::string::npos);
}
