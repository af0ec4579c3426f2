#include "kube/event_recorder.hpp"

#include <cstdio>

#include "kube/kube_log.hpp"
#include "kube/kube_time.hpp"
#include "kube/resource.hpp"

namespace podflow::kube {
namespace {
constexpr auto kAggregationWindow = std::chrono::minutes(10);
constexpr std::size_t kMaxRemembered = 4096;
}  // namespace

EventRecorder::EventRecorder(Client& client, std::string component, std::string instance)
    : client_(client), component_(std::move(component)), instance_(std::move(instance)) {}

bool EventRecorder::record(const nlohmann::json& object, EventType type, const std::string& reason,
                           const std::string& message, const std::string& action) {
  const std::string type_text = type == EventType::warning ? "Warning" : "Normal";
  const std::string name = name_of(object);
  std::string namespace_ = namespace_of(object);
  if (namespace_.empty()) namespace_ = "default";  // events about cluster-scoped objects
  const std::string uid = uid_of(object);
  const auto system_now = std::chrono::system_clock::now();
  const auto now = std::chrono::steady_clock::now();
  const auto now_text = format_time(system_now);
  Key key{uid.empty() ? namespace_ + "/" + name : uid, type_text, reason, message};

  std::optional<Seen> previous;
  std::uint64_t sequence;
  {
    std::lock_guard lock(mutex_);
    sequence = ++sequence_;
    if (auto it = seen_.find(key);
        it != seen_.end() && now - it->second.last < kAggregationWindow) {
      previous = it->second;
    }
  }

  if (previous) {
    nlohmann::json patch = {{"count", previous->count + 1}, {"lastTimestamp", now_text}};
    try {
      client_.merge_patch(resources::events(), previous->namespace_, previous->name, patch);
      std::lock_guard lock(mutex_);
      auto& seen = seen_[key];
      seen.count = previous->count + 1;
      seen.last = now;
      ++aggregated_;
      return true;
    } catch (const std::exception& error) {
      if (!is_not_found(error)) {
        log(LogLevel::warning, "cannot update event " + previous->name + ": " + error.what());
        std::lock_guard lock(mutex_);
        ++failed_;
        return false;
      }
      // The Event expired (the API server's event TTL); create a new one.
    }
  }

  char suffix[32];
  std::snprintf(
      suffix, sizeof suffix, ".%llx",
      static_cast<unsigned long long>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(system_now.time_since_epoch())
              .count() +
          static_cast<long long>(sequence)));
  std::string event_name = name + suffix;
  nlohmann::json involved = {{"apiVersion", object.value("apiVersion", "")},
                             {"kind", object.value("kind", "")},
                             {"name", name},
                             {"namespace", namespace_of(object)},
                             {"uid", uid},
                             {"resourceVersion", resource_version_of(object)}};
  nlohmann::json event = {
      {"metadata", {{"name", event_name}, {"namespace", namespace_}}},
      {"involvedObject", involved},
      {"reason", reason},
      {"message", message},
      {"type", type_text},
      {"count", 1},
      {"firstTimestamp", now_text},
      {"lastTimestamp", now_text},
      {"source", {{"component", component_}}},
      {"reportingComponent", component_},
      {"reportingInstance", instance_},
  };
  if (!instance_.empty()) event["source"]["host"] = instance_;
  if (!action.empty()) event["action"] = action;
  try {
    client_.create(resources::events(), namespace_, event);
  } catch (const std::exception& error) {
    log(LogLevel::warning, "cannot record event " + reason + " on " + name + ": " + error.what());
    std::lock_guard lock(mutex_);
    ++failed_;
    return false;
  }
  std::lock_guard lock(mutex_);
  if (seen_.size() >= kMaxRemembered) seen_.clear();
  seen_[key] = Seen{event_name, namespace_, 1, now};
  ++created_;
  return true;
}

std::uint64_t EventRecorder::created() const {
  std::lock_guard lock(mutex_);
  return created_;
}

std::uint64_t EventRecorder::aggregated() const {
  std::lock_guard lock(mutex_);
  return aggregated_;
}

std::uint64_t EventRecorder::failed() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

}  // namespace podflow::kube
