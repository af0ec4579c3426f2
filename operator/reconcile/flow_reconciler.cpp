#include "operator/reconcile/flow_reconciler.hpp"

#include <chrono>

#include "kube/kube_time.hpp"
#include "operator/reconcile/api_resources.hpp"
#include "operator/reconcile/conditions.hpp"
#include "operator/reconcile/flow_document.hpp"

namespace podflow::reconcile {

kube::Action FlowReconciler::reconcile(const std::string& key) {
  const kube::ObjectPtr cached = context_.flows.get(key);
  if (!cached || (*cached)["metadata"].contains("deletionTimestamp")) {
    return kube::Action::await_change();
  }
  const nlohmann::json& flow = *cached;
  const std::int64_t generation = flow["metadata"].value("generation", std::int64_t{1});
  const nlohmann::json status = flow.value("status", nlohmann::json::object());
  if (status.value("observedGeneration", std::int64_t{0}) == generation) {
    return kube::Action::await_change();  // this spec was judged already
  }
  const DecodedFlow decoded =
      decode_flow_spec(kube::name_of(flow), flow.value("spec", nlohmann::json::object()));
  nlohmann::json next = status;
  next["observedGeneration"] = generation;
  const std::string now = kube::format_time(std::chrono::system_clock::now());
  if (decoded.flow) {
    set_condition(next["conditions"], {"Valid", true, "Valid", ""}, generation, now);
  } else {
    const std::string message = join_problems(decoded.problems);
    set_condition(next["conditions"], {"Valid", false, "Invalid", message}, generation, now);
    context_.events.record(flow, kube::EventType::warning, "Invalid", message);
  }
  context_.client.merge_patch_status(flows(), kube::namespace_of(flow), kube::name_of(flow),
                                     {{"status", next}});
  return kube::Action::await_change();
}

}  // namespace podflow::reconcile
