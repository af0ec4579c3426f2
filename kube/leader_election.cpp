#include "kube/leader_election.hpp"

#include <random>

#include "kube/kube_log.hpp"
#include "kube/kube_time.hpp"

namespace podflow::kube {

LeaderElector::LeaderElector(Client& client, LeaderElectionOptions options)
    : client_(client), options_(std::move(options)) {
  if (options_.lease_name.empty() || options_.identity.empty()) {
    throw std::invalid_argument("leader election needs a lease name and an identity");
  }
  if (options_.renew_deadline >= options_.lease_duration) {
    throw std::invalid_argument("leader election: renew_deadline must be below lease_duration");
  }
}

LeaderElector::~LeaderElector() {
  stop();
}

void LeaderElector::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void LeaderElector::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  {
    std::lock_guard lock(mutex_);
    wake_.notify_all();
  }
  thread_.join();
}

std::string LeaderElector::leader() const {
  std::lock_guard lock(mutex_);
  return observed_leader_;
}

bool LeaderElector::sleep_for(std::stop_token stop, std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

void LeaderElector::observe_leader(const std::string& holder) {
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    changed = holder != observed_leader_;
    observed_leader_ = holder;
  }
  if (changed && !holder.empty() && options_.on_new_leader) options_.on_new_leader(holder);
}

bool LeaderElector::try_acquire_or_renew() {
  const auto resource = resources::leases();
  auto now = std::chrono::system_clock::now();
  auto now_text = format_micro_time(now);
  nlohmann::json spec = {{"holderIdentity", options_.identity},
                         {"leaseDurationSeconds", options_.lease_duration.count()},
                         {"acquireTime", now_text},
                         {"renewTime", now_text},
                         {"leaseTransitions", 0}};
  std::optional<nlohmann::json> lease;
  try {
    lease = client_.get(resource, options_.lease_namespace, options_.lease_name);
  } catch (const std::exception& error) {
    log(LogLevel::warning, "leader election: cannot read lease " + options_.lease_namespace + "/" +
                               options_.lease_name + ": " + error.what());
    return false;
  }
  if (!lease) {
    try {
      client_.create(resource, options_.lease_namespace,
                     {{"metadata", {{"name", options_.lease_name}}}, {"spec", spec}});
    } catch (const std::exception& error) {
      if (!is_already_exists(error)) {
        log(LogLevel::warning,
            std::string("leader election: cannot create the lease: ") + error.what());
      }
      return false;
    }
    std::lock_guard lock(mutex_);
    observed_spec_ = spec;
    observed_at_ = std::chrono::steady_clock::now();
    observed_leader_ = options_.identity;
    return true;
  }

  const auto& current = lease->contains("spec") ? (*lease)["spec"] : nlohmann::json::object();
  std::string holder = current.value("holderIdentity", "");
  bool valid;
  {
    std::lock_guard lock(mutex_);
    // Expiry is judged on our clock from when we saw the record change, never from the
    // timestamps written by another host.
    if (current != observed_spec_) {
      observed_spec_ = current;
      observed_at_ = std::chrono::steady_clock::now();
    }
    auto duration = std::chrono::seconds(current.value("leaseDurationSeconds", 15));
    valid = std::chrono::steady_clock::now() < observed_at_ + duration;
  }
  observe_leader(holder);
  bool mine = holder == options_.identity;
  if (!holder.empty() && !mine && valid) return false;

  if (mine) {
    spec["acquireTime"] = current.value("acquireTime", now_text);
    spec["leaseTransitions"] = current.value("leaseTransitions", 0);
  } else {
    spec["leaseTransitions"] = current.value("leaseTransitions", 0) + 1;
  }
  auto updated = *lease;
  updated["spec"] = spec;
  try {
    auto stored = client_.replace(resource, options_.lease_namespace, options_.lease_name, updated);
    std::lock_guard lock(mutex_);
    observed_spec_ = stored.contains("spec") ? stored["spec"] : spec;
    observed_at_ = std::chrono::steady_clock::now();
  } catch (const std::exception& error) {
    if (!is_conflict(error)) {
      log(LogLevel::warning,
          std::string("leader election: cannot update the lease: ") + error.what());
    }
    return false;
  }
  observe_leader(options_.identity);
  return true;
}

void LeaderElector::release() {
  const auto resource = resources::leases();
  try {
    auto lease = client_.get(resource, options_.lease_namespace, options_.lease_name);
    if (!lease || !lease->contains("spec")) return;
    if ((*lease)["spec"].value("holderIdentity", "") != options_.identity) return;
    auto now_text = format_micro_time(std::chrono::system_clock::now());
    auto& spec = (*lease)["spec"];
    spec["holderIdentity"] = "";
    spec["leaseDurationSeconds"] = 1;
    spec["renewTime"] = now_text;
    spec["acquireTime"] = now_text;
    client_.replace(resource, options_.lease_namespace, options_.lease_name, *lease);
  } catch (const std::exception& error) {
    log(LogLevel::warning,
        std::string("leader election: cannot release the lease: ") + error.what());
  }
}

void LeaderElector::run(std::stop_token stop) {
  std::mt19937_64 random(std::random_device{}());
  // client-go's JitterUntil with factor 1.2: retry_period * [1, 2.2).
  std::uniform_real_distribution<double> jitter(1.0, 2.2);
  const auto retry = std::chrono::duration_cast<std::chrono::milliseconds>(options_.retry_period);

  // Campaign.
  while (!stop.stop_requested()) {
    if (try_acquire_or_renew()) break;
    auto delay = std::chrono::milliseconds(
        static_cast<long long>(static_cast<double>(retry.count()) * jitter(random)));
    if (!sleep_for(stop, delay)) return;
  }
  if (stop.stop_requested()) return;
  leading_ = true;
  log(LogLevel::info, "leader election: " + options_.identity + " is now the leader of " +
                          options_.lease_namespace + "/" + options_.lease_name);
  if (options_.on_started_leading) options_.on_started_leading();

  // Lead: renew every retry_period; give up when no renewal succeeded for renew_deadline.
  auto last_renewal = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    if (!sleep_for(stop, retry)) break;
    if (try_acquire_or_renew()) {
      last_renewal = std::chrono::steady_clock::now();
      continue;
    }
    if (std::chrono::steady_clock::now() - last_renewal >= options_.renew_deadline) {
      log(LogLevel::error, "leader election: " + options_.identity + " lost the lease " +
                               options_.lease_namespace + "/" + options_.lease_name);
      break;
    }
  }
  bool released = stop.stop_requested();
  if (released && options_.release_on_stop) release();
  leading_ = false;
  if (options_.on_stopped_leading) options_.on_stopped_leading();
}

}  // namespace podflow::kube
