// status.conditions as the Kubernetes API conventions define them (metav1.Condition): one entry
// per type; lastTransitionTime moves only when the status flips, so `kubectl wait` and humans see
// when something actually changed.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace podflow::reconcile {

struct Condition {
  std::string type;
  bool status = false;
  std::string reason;  // CamelCase, one word
  std::string message;
};

// Sets `condition` in the array `conditions` (created when null). `now` is RFC 3339.
void set_condition(nlohmann::json& conditions, const Condition& condition,
                   std::int64_t observed_generation, const std::string& now);

// The condition of that type, or null.
const nlohmann::json* find_condition(const nlohmann::json& conditions, const std::string& type);

}  // namespace podflow::reconcile
