#include "kube/controller.hpp"

#include <algorithm>

#include "kube/kube_error.hpp"
#include "kube/kube_log.hpp"
#include "kube/resource.hpp"

namespace podflow::kube {
namespace {

WorkQueueOptions queue_options(const ControllerOptions& options) {
  auto queue = options.queue;
  if (queue.name == "controller") queue.name = options.name;
  return queue;
}

std::string group_of(const std::string& api_version) {
  auto slash = api_version.find('/');
  return slash == std::string::npos ? "" : api_version.substr(0, slash);
}

}  // namespace

ControllerMetrics::ControllerMetrics(const std::string& name)
    : reconciles("podflow_reconciles_total_" + name, "Reconciles of the controller " + name,
                 {"result"}),
      reconcile_seconds("podflow_reconcile_duration_seconds_" + name,
                        "Reconcile latency of the controller " + name,
                        Histogram::latency_buckets()) {}

void ControllerMetrics::write_prometheus(std::string& out) const {
  reconciles.write_prometheus(out);
  reconcile_seconds.write_prometheus(out);
}

std::vector<std::string> owner_keys(const nlohmann::json& object, const OwnerKind& owner) {
  std::vector<std::string> keys;
  if (!object.is_object() || !object.contains("metadata")) return keys;
  const auto& metadata = object["metadata"];
  if (!metadata.is_object() || !metadata.contains("ownerReferences")) return keys;
  for (const auto& reference : metadata["ownerReferences"]) {
    if (!reference.is_object()) continue;
    if (!owner.any_owner && !reference.value("controller", false)) continue;
    if (reference.value("kind", "") != owner.kind) continue;
    if (!owner.group.empty() && group_of(reference.value("apiVersion", "")) != owner.group) {
      continue;
    }
    keys.push_back(
        make_key(owner.cluster_scoped ? "" : namespace_of(object), reference.value("name", "")));
  }
  return keys;
}

Controller::Controller(Reconcile reconcile, ControllerOptions options)
    : reconcile_(std::move(reconcile)),
      options_(std::move(options)),
      queue_(queue_options(options_)),
      metrics_(options_.name) {}

Controller::~Controller() {
  stop();
  for (auto& [cache, id] : subscriptions_) cache->unsubscribe(id);
}

void Controller::set_error_policy(ErrorPolicy policy) {
  error_policy_ = std::move(policy);
}

void Controller::watches(ObjectCache& cache) {
  subscriptions_.emplace_back(
      &cache, cache.subscribe([this](const CacheEvent& event) { queue_.add(event.key); }));
}

void Controller::owns(ObjectCache& cache, OwnerKind owner) {
  subscriptions_.emplace_back(&cache, cache.subscribe([this, owner](const CacheEvent& event) {
    // An update that moved the object to another owner wakes both.
    for (const auto& key : owner_keys(*event.object, owner)) queue_.add(key);
    if (event.old_object && event.old_object != event.object) {
      for (const auto& key : owner_keys(*event.old_object, owner)) queue_.add(key);
    }
  }));
}

void Controller::watches_mapped(
    ObjectCache& cache, std::function<std::vector<std::string>(const CacheEvent& event)> mapper) {
  subscriptions_.emplace_back(&cache, cache.subscribe([this, mapper](const CacheEvent& event) {
    for (const auto& key : mapper(event)) queue_.add(key);
  }));
}

void Controller::start() {
  if (!workers_.empty()) return;
  int count = options_.workers < 1 ? 1 : options_.workers;
  for (int i = 0; i < count; ++i) workers_.emplace_back([this] { work(); });
}

void Controller::stop() {
  queue_.shut_down();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

void Controller::work() {
  while (auto key = queue_.get()) {
    process(*key);
    queue_.done(*key);
  }
}

void Controller::process(const std::string& key) {
  auto started = std::chrono::steady_clock::now();
  auto observe = [&] {
    metrics_.reconcile_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  };
  try {
    Action action = reconcile_(key);
    observe();
    queue_.forget(key);
    if (action.requeue) {
      metrics_.reconciles.add({"requeue"});
      queue_.add_after(key, *action.requeue);
    } else {
      metrics_.reconciles.add({"success"});
    }
  } catch (const std::exception& error) {
    observe();
    metrics_.reconciles.add({"error"});
    int requeues = queue_.num_requeues(key);
    std::optional<Action> action;
    if (error_policy_) {
      try {
        action = error_policy_(key, error, requeues);
      } catch (const std::exception& policy_error) {
        log(LogLevel::error, options_.name + ": the error policy failed: " + policy_error.what());
      }
    }
    // A conflict is the ordinary outcome of a write from a cache that was one event behind.
    const auto* kube_error = dynamic_cast<const KubeError*>(&error);
    const LogLevel level =
        kube_error && is_conflict(*kube_error) ? LogLevel::debug : LogLevel::warning;
    log(level, options_.name + ": reconcile " + key + " failed (attempt " +
                   std::to_string(requeues + 1) + "): " + error.what());
    if (action && action->requeue) {
      queue_.add_after(key, *action->requeue);
    } else if (action) {
      queue_.forget(key);
    } else if (auto wait = retry_after(error)) {
      // The server said when; still count the failure so the backoff keeps growing.
      auto delay = std::max(queue_.rate_limit_delay(key),
                            std::chrono::duration_cast<std::chrono::milliseconds>(*wait));
      queue_.add_after(key, delay);
    } else {
      queue_.add_rate_limited(key);
    }
  }
}

}  // namespace podflow::kube
