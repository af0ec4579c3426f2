#include "datastore/refreshing_credentials.hpp"

#include "datastore/credential_chain.hpp"
#include "datastore/store_error.hpp"

namespace podflow::datastore {
namespace {

// A source whose credentials are shorter-lived than the window would otherwise be asked again
// on every request.
constexpr std::chrono::seconds kMinimumRetryInterval{1};

}  // namespace

RefreshingCredentials::RefreshingCredentials(Resolve resolve,
                                             std::chrono::duration<double> refresh_window)
    : resolve_(std::move(resolve)),
      refresh_window_(refresh_window),
      credentials_(resolve_()),
      last_attempt_(WallClock::now()) {}

std::shared_ptr<RefreshingCredentials> RefreshingCredentials::fixed(AwsCredentials credentials) {
  return std::make_shared<RefreshingCredentials>(
      [credentials = std::move(credentials)] { return credentials; },
      std::chrono::duration<double>(0));
}

std::shared_ptr<RefreshingCredentials> RefreshingCredentials::from_chain(
    EnvironmentLookup environment) {
  const auto window = credentials_refresh_window(environment);
  return std::make_shared<RefreshingCredentials>(
      [environment = std::move(environment)] { return resolve_aws_credentials(environment); },
      window);
}

bool RefreshingCredentials::is_stale(WallClock::time_point now) const {
  if (!credentials_.expiration) return false;
  return now + std::chrono::duration_cast<WallClock::duration>(refresh_window_) >=
         *credentials_.expiration;
}

AwsCredentials RefreshingCredentials::current() {
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto now = WallClock::now();
    const bool due = is_stale(now) && (now - last_attempt_ >= kMinimumRetryInterval ||
                                       now >= *credentials_.expiration);
    if (!due) return credentials_;
    if (refreshing_) {
      // Another thread is fetching: the current credentials serve until they expire.
      if (now < *credentials_.expiration) return credentials_;
      refreshed_.wait(lock, [&] { return !refreshing_; });
      continue;
    }
    refreshing_ = true;
    last_attempt_ = now;
    lock.unlock();  // the fetch (STS, an endpoint) must not hold up the other threads
    std::optional<AwsCredentials> fresh;
    std::string problem;
    try {
      fresh = resolve_();
    } catch (const StoreError& error) {
      problem = error.what();
    }
    lock.lock();
    refreshing_ = false;
    refreshed_.notify_all();
    if (fresh) {
      credentials_ = std::move(*fresh);
      ++refreshes_;
      return credentials_;
    }
    if (WallClock::now() < *credentials_.expiration) return credentials_;  // try again later
    throw StoreError("the S3 credentials from " + credentials_.source +
                     " have expired and cannot be refreshed: " + problem);
  }
}

bool RefreshingCredentials::refresh_after_rejection(const AwsCredentials& used) {
  std::lock_guard lock(mutex_);
  if (!credentials_.expiration && !used.expiration) return false;
  if (credentials_.keys.access_key_id != used.keys.access_key_id ||
      credentials_.keys.session_token != used.keys.session_token) {
    return true;  // another thread refreshed already
  }
  const auto now = WallClock::now();
  try {
    credentials_ = resolve_();
    ++refreshes_;
    last_attempt_ = now;
  } catch (const StoreError&) {
    return false;
  }
  return true;
}

AwsCredentials RefreshingCredentials::last() const {
  std::lock_guard lock(mutex_);
  return credentials_;
}

int RefreshingCredentials::refreshes() const {
  std::lock_guard lock(mutex_);
  return refreshes_;
}

std::chrono::duration<double> credentials_refresh_window(const EnvironmentLookup& environment) {
  const auto text = environment_value(environment, "PODFLOW_S3_CREDENTIALS_REFRESH_SECONDS");
  if (!text) return std::chrono::duration<double>(kDefaultRefreshWindowSeconds);
  try {
    std::size_t used = 0;
    const double value = std::stod(*text, &used);
    if (used == text->size() && value >= 0) return std::chrono::duration<double>(value);
  } catch (const std::exception&) {
  }
  throw StoreError("invalid PODFLOW_S3_CREDENTIALS_REFRESH_SECONDS='" + *text +
                   "': expected seconds (>= 0) before expiry at which credentials are refreshed");
}

}  // namespace podflow::datastore
