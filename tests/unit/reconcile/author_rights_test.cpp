#include "operator/reconcile/author_rights.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include "flow/lint.hpp"

namespace {

using nlohmann::json;

podflow::flow::FlowSpec flow_of(const std::string& steps, const std::string& defaults = "") {
  const std::string text =
      "apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata: {name: f}\n"
      "spec:\n" +
      defaults + "  steps:\n" + steps;
  auto result = podflow::flow::validate_flow(text);
  REQUIRE(result.flow.has_value());
  return *result.flow;
}

std::vector<std::string> described(const std::vector<podflow::reconcile::Right>& rights) {
  std::vector<std::string> lines;
  for (const auto& right : rights) {
    lines.push_back(right.verb + " " + right.resource +
                    (right.group.empty() ? "" : "." + right.group) +
                    (right.name.empty() ? "" : "/" + right.name));
  }
  return lines;
}

}  // namespace

TEST_CASE("author rights: a plain flow needs only to create pods") {
  const auto flow = flow_of(
      "    - {name: start, command: [\"true\"], next: [end]}\n"
      "    - {name: end, command: [\"true\"]}\n");
  const auto rights = podflow::reconcile::rights_needed(flow, {}, "team-a", true);
  CHECK(described(rights) == std::vector<std::string>{"create pods"});
  CHECK(rights[0].fix.find("-n team-a") != std::string::npos);
}

TEST_CASE("author rights: Secrets, ServiceAccounts and placement, once each, from defaults too") {
  const auto flow = flow_of(
      "    - {name: start, command: [\"true\"], secrets: [db, api], next: [end],\n"
      "       serviceAccount: trainer, nodeSelector: {pool: gpu}}\n"
      "    - {name: end, command: [\"true\"], secrets: [db]}\n",
      "  defaults: {secrets: [shared]}\n");
  const auto rights = podflow::reconcile::rights_needed(flow, {}, "team-a", true);
  const auto lines = described(rights);
  CHECK(lines.front() == "create pods");
  CHECK(std::count(lines.begin(), lines.end(), "get secrets/db") == 1);
  CHECK(std::count(lines.begin(), lines.end(), "get secrets/api") == 1);
  CHECK(std::count(lines.begin(), lines.end(), "impersonate serviceaccounts/trainer") == 1);
  CHECK(std::count(lines.begin(), lines.end(), "use nodeplacements.podflow.dev") == 1);
  // Lists merge with the defaults' (the flow spec's rule): every step reads shared too.
  CHECK(std::count(lines.begin(), lines.end(), "get secrets/shared") == 1);
  for (const auto& right : rights) {
    if (right.name == "db") CHECK(right.why == "step 'start' reads Secret db");
  }
}

TEST_CASE("author rights: placement needs no grant when the install says so") {
  const auto flow = flow_of(
      "    - {name: start, command: [\"true\"], next: [end],\n"
      "       tolerations: [{key: gpu, operator: Exists}]}\n"
      "    - {name: end, command: [\"true\"]}\n");
  CHECK(described(podflow::reconcile::rights_needed(flow, {}, "ns", false)) ==
        std::vector<std::string>{"create pods"});
  CHECK(described(podflow::reconcile::rights_needed(flow, {}, "ns", true)).size() == 2);
}

TEST_CASE("author rights: a priority class is placement: whom the step's pods may preempt") {
  const auto flow = flow_of(
      "    - {name: start, command: [\"true\"], next: [end], priorityClassName: urgent}\n"
      "    - {name: end, command: [\"true\"]}\n");
  const auto rights = podflow::reconcile::rights_needed(flow, {}, "ns", true);
  REQUIRE(described(rights) ==
          std::vector<std::string>{"create pods", "use nodeplacements.podflow.dev"});
  CHECK(rights[1].why == "step 'start' sets a nodeSelector, tolerations or a priorityClassName");
}

TEST_CASE("author rights: run-wide overrides count as the run's own settings") {
  const auto flow = flow_of(
      "    - {name: start, command: [\"true\"], next: [end]}\n"
      "    - {name: end, command: [\"true\"]}\n");
  podflow::flow::StepSettings overrides;
  overrides.secrets = {"override-secret"};
  const auto lines = described(podflow::reconcile::rights_needed(flow, overrides, "ns", true));
  CHECK(std::count(lines.begin(), lines.end(), "get secrets/override-secret") == 1);
}

TEST_CASE("author rights: the recorded author, with groups; none without the annotation") {
  json run = {{"metadata",
               {{"annotations",
                 {{"podflow.dev/created-by", "alice"},
                  {"podflow.dev/created-by-groups", "team-a,system:authenticated"}}}}}};
  const auto author = podflow::reconcile::recorded_author(run);
  REQUIRE(author.has_value());
  CHECK(author->user == "alice");
  CHECK(author->groups == std::vector<std::string>{"team-a", "system:authenticated"});
  CHECK_FALSE(podflow::reconcile::recorded_author(json{{"metadata", json::object()}}));
  CHECK_FALSE(podflow::reconcile::recorded_author(json::object()));
  CHECK_FALSE(podflow::reconcile::recorded_author(
      json{{"metadata", {{"annotations", {{"podflow.dev/created-by", ""}}}}}}));
}
