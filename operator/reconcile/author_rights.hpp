// A FlowRun's author gets no more through the operator than they could get by creating the pods
// themselves (docs/operations.md, "Security model"). The admission policies of the chart record
// who created each FlowRun (annotations kAuthorAnnotation, kAuthorGroupsAnnotation, which only
// admission can set); before a run starts, the operator asks the API server, with one
// LocalSubjectAccessReview per right, whether that user may do what the run's pods would do.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flow/flow_spec.hpp"
#include "kube/kube_client.hpp"

namespace podflow::reconcile {

inline constexpr const char* kAuthorAnnotation = "podflow.dev/created-by";
inline constexpr const char* kAuthorGroupsAnnotation = "podflow.dev/created-by-groups";

// The pseudo-resource an admin grants (verb `use`) to let a user place pods: nodeSelector and
// tolerations (ClusterRole podflow-node-placement of the chart).
inline constexpr const char* kPlacementGroup = "podflow.dev";
inline constexpr const char* kPlacementResource = "nodeplacements";

struct Author {
  std::string user;
  std::vector<std::string> groups;
};

// The author recorded by admission; nullopt when the FlowRun carries none (the policies are not
// installed, or the run was created before they were).
std::optional<Author> recorded_author(const nlohmann::json& run);

// One right the author must have, and why the run needs it.
struct Right {
  std::string verb;
  std::string group;  // "" for the core group
  std::string resource;
  std::string name;  // "" for any object of the resource
  std::string why;   // "step 'train' uses Secret db"
  std::string fix;   // what to grant, as a kubectl command
};

// The rights a run of `flow` (with run-wide `overrides`) in `namespace_` needs: create pods; get
// each Secret the steps read; impersonate each ServiceAccount the pods run as; and `use`
// nodeplacements.podflow.dev when a step sets a nodeSelector, tolerations or a priorityClassName
// and `placement_requires_grant`. Deduplicated, in a stable order.
std::vector<Right> rights_needed(const flow::FlowSpec& flow, const flow::StepSettings& overrides,
                                 const std::string& namespace_, bool placement_requires_grant);

// The rights `author` lacks in `namespace_`, one message per right (empty: all granted). Throws
// kube::KubeError when the API server cannot answer.
std::vector<std::string> missing_rights(kube::Client& client, const Author& author,
                                        const std::string& namespace_,
                                        const std::vector<Right>& rights);

}  // namespace podflow::reconcile
