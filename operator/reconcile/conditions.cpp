#include "operator/reconcile/conditions.hpp"

namespace podflow::reconcile {

void set_condition(nlohmann::json& conditions, const Condition& condition,
                   std::int64_t observed_generation, const std::string& now) {
  if (!conditions.is_array()) conditions = nlohmann::json::array();
  const std::string status = condition.status ? "True" : "False";
  nlohmann::json* entry = nullptr;
  for (auto& existing : conditions) {
    if (existing.value("type", "") == condition.type) entry = &existing;
  }
  if (!entry) {
    conditions.push_back({{"type", condition.type}});
    entry = &conditions.back();
  }
  if (entry->value("status", "") != status || !entry->contains("lastTransitionTime")) {
    (*entry)["lastTransitionTime"] = now;
  }
  (*entry)["status"] = status;
  // The API server requires a reason matching ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$.
  (*entry)["reason"] =
      condition.reason.empty() ? (condition.status ? "True" : "False") : condition.reason;
  // metav1.Condition caps the message at 32768 bytes.
  (*entry)["message"] = condition.message.substr(0, 32768);
  (*entry)["observedGeneration"] = observed_generation;
}

const nlohmann::json* find_condition(const nlohmann::json& conditions, const std::string& type) {
  if (!conditions.is_array()) return nullptr;
  for (const auto& entry : conditions) {
    if (entry.value("type", "") == type) return &entry;
  }
  return nullptr;
}

}  // namespace podflow::reconcile
