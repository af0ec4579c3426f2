// The podflow.dev/v1alpha1 resources (crds/, docs/api.md) as the Kubernetes client names them.
#pragma once

#include "kube/resource.hpp"

namespace podflow::reconcile {

inline kube::ResourceRef flows() {
  return {"podflow.dev", "v1alpha1", "flows", true, "Flow"};
}
inline kube::ResourceRef flowruns() {
  return {"podflow.dev", "v1alpha1", "flowruns", true, "FlowRun"};
}
inline kube::ResourceRef tasks() {
  return {"podflow.dev", "v1alpha1", "tasks", true, "Task"};
}

// Phases a Task or FlowRun ends in.
inline bool is_terminal_phase(const std::string& phase) {
  return phase == "Succeeded" || phase == "Failed";
}

}  // namespace podflow::reconcile
