// When an S3 request is tried again, and after how long: exponential backoff with jitter, within
// a total time budget per operation. Pure, so the policy is unit-tested without a server.
#pragma once

#include <string_view>

namespace podflow::datastore {

// 5xx, 429, 408 and the throttling / transient codes (SlowDown, RequestTimeout, InternalError,
// ConditionalRequestConflict, ...) are worth retrying; other 4xx answers are final.
bool is_retryable_s3_answer(int status, std::string_view error_code);

struct RetryBackoff {
  double base_seconds = 0.1;  // the first delay is in [base/2, base]
  double cap_seconds = 10;    // no delay is longer
  // The delay before retry number `retry` (1, 2, ...): "equal jitter", uniformly in
  // [d/2, d] with d = min(cap, base * 2^(retry-1)); `unit_random` is in [0, 1).
  double delay(int retry, double unit_random) const;
};

}  // namespace podflow::datastore
