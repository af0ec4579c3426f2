// Records core/v1 Events about objects, for `kubectl describe` and `kubectl get events`
// (client-go's record.EventRecorder, without the broadcaster goroutines).
//
// The same (object, type, reason, message) seen again within ten minutes increments the
// existing Event's count and lastTimestamp instead of creating another, as client-go's
// EventCorrelator does. Recording is best effort: a failure is logged and counted, never thrown,
// so a reconcile never fails because an Event could not be written.
//
//   EventRecorder events(client, "podflow-operator", hostname);
//   events.record(*task, EventType::warning, "OOMKilled", "step train used more than 4096 MB");
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "kube/kube_client.hpp"
#include "kube/metrics.hpp"

namespace podflow::kube {

enum class EventType { normal, warning };

class EventRecorder {
 public:
  // `component` is source.component and reportingComponent ("podflow-operator"); `instance`
  // is reportingInstance (the pod or host name).
  EventRecorder(Client& client, std::string component, std::string instance = "");

  // `object` is the involved object as read from the API or the cache (apiVersion, kind,
  // metadata.name/namespace/uid). Returns false when the Event could not be written.
  // `reason` is UpperCamelCase ("TaskCreated"); `message` is for a person.
  bool record(const nlohmann::json& object, EventType type, const std::string& reason,
              const std::string& message, const std::string& action = "");

  std::uint64_t created() const;     // Events created
  std::uint64_t aggregated() const;  // repeats folded into an existing Event's count
  std::uint64_t failed() const;

 private:
  struct Seen {
    std::string name;
    std::string namespace_;
    std::int64_t count = 0;
    std::chrono::steady_clock::time_point last;
  };
  using Key = std::tuple<std::string, std::string, std::string, std::string>;

  Client& client_;
  std::string component_, instance_;
  mutable std::mutex mutex_;
  std::map<Key, Seen> seen_;
  std::uint64_t created_ = 0, aggregated_ = 0, failed_ = 0;
  std::uint64_t sequence_ = 0;
};

}  // namespace podflow::kube
