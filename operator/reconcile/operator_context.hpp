// What every reconciler shares: the API client, the caches, the Event recorder and the operator's
// settings. Owned by main; the reconcilers hold a reference.
#pragma once

#include <cstdint>
#include <string>

#include "kube/event_recorder.hpp"
#include "kube/kube_client.hpp"
#include "operator/reconcile/scoped_cache.hpp"
#include "pod/pod_builder.hpp"

namespace podflow::reconcile {

struct OperatorSettings {
  std::string datastore;            // s3://bucket/prefix (or a directory every node shares)
  std::string default_image;        // for steps whose flow names no image
  pod::PodSettings pod;             // how Task pods are built
  std::int64_t grace_seconds = 10;  // the runtime's SIGTERM -> SIGKILL grace for a timed-out step
  // Per FlowRun, Tasks whose pod has not started (no pod yet, or a Pending one), at most: more
  // would only queue in the API server, the scheduler and the nodes (--max-starting-tasks).
  std::int64_t max_starting_tasks = 1000;

  // Tenancy (docs/operations.md, "Security model").
  // Check, before a run starts, that its author (recorded by the admission policies) may do what
  // its pods will do; a run without a recorded author is refused (--skip-author-checks: off).
  bool check_author_rights = true;
  // nodeSelector and tolerations need `use` on nodeplacements.podflow.dev (--placement-grant).
  bool placement_requires_grant = true;
  // The operator's own namespace (POD_NAMESPACE): runs there are refused unless
  // allow_operator_namespace (--allow-operator-namespace), since its pods could run as the
  // operator's ServiceAccount.
  std::string operator_namespace;
  bool allow_operator_namespace = false;
  // Each namespace's runs live under <datastore>/<namespace> (--datastore-per-namespace), so a
  // namespace's S3 credentials can be limited to its prefix and a resume never reads another's.
  bool datastore_per_namespace = false;
};

struct OperatorContext {
  kube::Client& client;
  ScopedCache& flows;
  ScopedCache& flowruns;
  ScopedCache& tasks;  // indexed by "owner" (owner_uid_index)
  ScopedCache& pods;   // the operator's pods only (label app.kubernetes.io/managed-by)
  kube::EventRecorder& events;
  const OperatorSettings& settings;
};

// The label every pod the operator makes carries, and its watch selector.
inline constexpr const char* kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedByValue = "podflow-operator";
inline constexpr const char* kOwnerIndex = "owner";

// Whether one of `object`'s ownerReferences is the object with that uid.
inline bool owned_by(const nlohmann::json& object, const std::string& uid) {
  const auto& metadata = object["metadata"];
  if (!metadata.contains("ownerReferences")) return false;
  for (const auto& reference : metadata["ownerReferences"]) {
    if (reference.value("uid", "") == uid) return true;
  }
  return false;
}

}  // namespace podflow::reconcile
