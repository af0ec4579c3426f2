#include "datastore/s3_retry.hpp"

#include <algorithm>
#include <cmath>

namespace podflow::datastore {

bool is_retryable_s3_answer(int status, std::string_view error_code) {
  if (status >= 500 || status == 429 || status == 408) return true;
  for (std::string_view transient :
       {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError",
        "ServiceUnavailable", "ConditionalRequestConflict", "OperationAborted",
        "XMinioServerNotInitialized", "XMinioReadQuorum", "XMinioWriteQuorum"}) {
    if (error_code == transient) return true;
  }
  return false;
}

double RetryBackoff::delay(int retry, double unit_random) const {
  const double exponential = base_seconds * std::pow(2.0, std::max(0, retry - 1));
  const double ceiling = std::min(cap_seconds, exponential);
  return ceiling / 2 + ceiling / 2 * std::clamp(unit_random, 0.0, 1.0);
}

}  // namespace podflow::datastore
