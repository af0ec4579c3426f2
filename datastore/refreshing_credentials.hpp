// The credentials an S3 client signs with, kept fresh: temporary credentials (STS, container,
// IMDS) are fetched again once they are within `refresh_window` of their expiration, so a
// request is never signed with credentials about to lapse mid-transfer. Thread-safe: many
// transfer threads call current() at once; one of them refreshes, without holding the others
// up, which keep using the old credentials unless those have expired (then they wait for it).
// When a refresh fails while the old credentials are still valid, those are used and the refresh
// is tried again a second later; once they have expired, the refresh's error is thrown.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

#include "datastore/aws_credentials.hpp"

namespace podflow::datastore {

// The default refresh window, and its variable: PODFLOW_S3_CREDENTIALS_REFRESH_SECONDS.
inline constexpr double kDefaultRefreshWindowSeconds = 300;

class RefreshingCredentials {
 public:
  using Resolve = std::function<AwsCredentials()>;
  // Resolves once now (so a missing identity is reported at once).
  RefreshingCredentials(Resolve resolve, std::chrono::duration<double> refresh_window);
  // Long-term keys that never need refreshing.
  static std::shared_ptr<RefreshingCredentials> fixed(AwsCredentials credentials);
  // The chain of credential_chain.hpp over `environment`, with the window it sets.
  static std::shared_ptr<RefreshingCredentials> from_chain(EnvironmentLookup environment);

  AwsCredentials current();
  // After the server refused the session token as expired: fetch new credentials now, unless
  // another thread already did since `used` was handed out. False for long-term keys.
  bool refresh_after_rejection(const AwsCredentials& used);

  // The credentials handed out last, without refreshing (for messages).
  AwsCredentials last() const;
  int refreshes() const;  // how many times credentials were fetched again (tests, diagnostics)

 private:
  bool is_stale(WallClock::time_point now) const;

  Resolve resolve_;
  std::chrono::duration<double> refresh_window_;
  mutable std::mutex mutex_;
  std::condition_variable refreshed_;
  bool refreshing_ = false;
  AwsCredentials credentials_;
  WallClock::time_point last_attempt_{};
  int refreshes_ = 0;
};

// PODFLOW_S3_CREDENTIALS_REFRESH_SECONDS (positive seconds) or the default; throws StoreError
// naming the variable when malformed.
std::chrono::duration<double> credentials_refresh_window(const EnvironmentLookup& environment);

}  // namespace podflow::datastore
