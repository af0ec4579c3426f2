#include "operator/reconcile/author_rights.hpp"

#include <set>
#include <sstream>
#include <tuple>

#include "kube/resource.hpp"

namespace podflow::reconcile {
namespace {

using nlohmann::json;

kube::ResourceRef local_subject_access_reviews() {
  return {"authorization.k8s.io", "v1", "localsubjectaccessreviews", true,
          "LocalSubjectAccessReview"};
}

std::string describe(const Right& right) {
  std::string what = right.resource;
  if (!right.group.empty()) what += "." + right.group;
  if (!right.name.empty()) what += "/" + right.name;
  return right.verb + " " + what;
}

}  // namespace

std::optional<Author> recorded_author(const json& run) {
  // value(), not operator[]: on a const object a missing key would be undefined behaviour.
  const json metadata = run.value("metadata", json::object());
  const json annotations = metadata.value("annotations", json::object());
  if (!annotations.is_object()) return std::nullopt;
  const std::string user = annotations.value(kAuthorAnnotation, "");
  if (user.empty()) return std::nullopt;
  Author author{user, {}};
  std::stringstream groups(annotations.value(kAuthorGroupsAnnotation, ""));
  for (std::string group; std::getline(groups, group, ',');) {
    if (!group.empty()) author.groups.push_back(group);
  }
  return author;
}

std::vector<Right> rights_needed(const flow::FlowSpec& flow, const flow::StepSettings& overrides,
                                 const std::string& namespace_, bool placement_requires_grant) {
  std::vector<Right> rights;
  std::set<std::tuple<std::string, std::string, std::string>> seen;  // verb, resource, name
  auto need = [&](Right right) {
    if (seen.insert({right.verb, right.resource, right.name}).second) {
      rights.push_back(std::move(right));
    }
  };
  const std::string in = " -n " + namespace_;
  need({"create", "", "pods", "", "a run creates pods",
        "kubectl create rolebinding ... --clusterrole=edit" + in});
  for (const auto& step : flow.steps) {
    const auto settings = flow::effective_settings(flow, step, overrides);
    const std::string who = "step '" + step.name + "'";
    for (const auto& secret : settings.secrets) {
      need({"get", "", "secrets", secret, who + " reads Secret " + secret,
            "kubectl create role read-" + secret +
                " --verb=get --resource=secrets --resource-name=" + secret + in + " and bind it"});
    }
    if (!settings.serviceAccount.empty()) {
      // Any pod creator may name any ServiceAccount of its namespace; `impersonate` is the
      // right that says "may act as this account" (ClusterRole edit has it).
      need({"impersonate", "", "serviceaccounts", settings.serviceAccount,
            who + " runs as ServiceAccount " + settings.serviceAccount,
            "kubectl create role use-" + settings.serviceAccount +
                " --verb=impersonate --resource=serviceaccounts --resource-name=" +
                settings.serviceAccount + in + " and bind it"});
    }
    // A priority class decides whom the step's pods may preempt: placement as much as a node.
    if (placement_requires_grant &&
        (!settings.nodeSelector.empty() || !settings.tolerations.empty() ||
         !settings.priorityClassName.empty())) {
      need({"use", kPlacementGroup, kPlacementResource, "",
            who + " sets a nodeSelector, tolerations or a priorityClassName",
            "a RoleBinding" + in +
                " to a ClusterRole with `use` on nodeplacements.podflow.dev (the chart's "
                "<release>-<namespace>-node-placement)"});
    }
  }
  return rights;
}

std::vector<std::string> missing_rights(kube::Client& client, const Author& author,
                                        const std::string& namespace_,
                                        const std::vector<Right>& rights) {
  std::vector<std::string> missing;
  for (const auto& right : rights) {
    json attributes = {{"namespace", namespace_},
                       {"verb", right.verb},
                       {"group", right.group},
                       {"resource", right.resource}};
    if (!right.name.empty()) attributes["name"] = right.name;
    json spec = {{"user", author.user}, {"resourceAttributes", attributes}};
    if (!author.groups.empty()) spec["groups"] = author.groups;
    const json review = {{"apiVersion", "authorization.k8s.io/v1"},
                         {"kind", "LocalSubjectAccessReview"},
                         {"metadata", {{"namespace", namespace_}}},
                         {"spec", spec}};
    const json answer = client.create(local_subject_access_reviews(), namespace_, review);
    const json status = answer.value("status", json::object());
    if (status.value("allowed", false) && !status.value("denied", false)) continue;
    missing.push_back(right.why + ", but " + author.user + " may not " + describe(right) +
                      " in namespace " + namespace_ + " (grant it: " + right.fix + ")");
  }
  return missing;
}

}  // namespace podflow::reconcile
