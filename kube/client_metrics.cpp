#include "kube/client_metrics.hpp"

namespace podflow::kube {

void ClientMetrics::write_prometheus(std::string& out) const {
  requests.write_prometheus(out);
  request_seconds.write_prometheus(out);
  watch_starts.write_prometheus(out);
  watch_events.write_prometheus(out);
  rate_limiter_wait_seconds.write_prometheus(out);
}

}  // namespace podflow::kube
