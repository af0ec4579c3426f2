#include <doctest/doctest.h>

#include <map>
#include <stdexcept>

#include "kube/label_selector.hpp"

using namespace podflow::kube;

namespace {
const std::map<std::string, std::string> kLabels{
    {"podflow.dev/run", "r1"}, {"podflow.dev/step", "train"}, {"tier", "gpu"}};
bool match(const char* selector) {
  return LabelSelector::parse(selector).matches(kLabels);
}
}  // namespace

TEST_CASE("label selector: equality, inequality, existence") {
  CHECK(match(""));
  CHECK(match("podflow.dev/run=r1"));
  CHECK(match("podflow.dev/run==r1"));
  CHECK_FALSE(match("podflow.dev/run=r2"));
  CHECK(match("podflow.dev/run=r1,podflow.dev/step=train"));
  CHECK_FALSE(match("podflow.dev/run=r1,podflow.dev/step=join"));
  CHECK(match("tier!=cpu"));
  CHECK(match("absent!=x"));  // != matches a missing label, as the API server does
  CHECK(match("tier"));
  CHECK_FALSE(match("absent"));
  CHECK(match("!absent"));
  CHECK_FALSE(match("!tier"));
}

TEST_CASE("label selector: set-based") {
  CHECK(match("tier in (gpu, tpu)"));
  CHECK_FALSE(match("tier in (cpu)"));
  CHECK_FALSE(match("absent in (x)"));
  CHECK(match("tier notin (cpu,tpu)"));
  CHECK(match("absent notin (x)"));
  CHECK_FALSE(match("tier notin (gpu)"));
  CHECK(match(" podflow.dev/run = r1 , tier in (gpu) , !absent "));
}

TEST_CASE("label selector: errors say where") {
  CHECK_THROWS_WITH_AS(LabelSelector::parse("a=b,"),
                       "label selector \"a=b,\": expected a label key at position 5",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(LabelSelector::parse("a in b"),
                       "label selector \"a in b\": expected '(' at position 6",
                       std::invalid_argument);
  CHECK_THROWS_AS(LabelSelector::parse("a in (x"), std::invalid_argument);
  CHECK_THROWS_AS(LabelSelector::parse("a > 3"), std::invalid_argument);
}

TEST_CASE("label selector: JSON labels, matchLabels/matchExpressions and to_string") {
  nlohmann::json labels = {{"app", "web"}, {"env", "prod"}};
  CHECK(LabelSelector::parse("app=web").matches(labels));
  CHECK_FALSE(LabelSelector::parse("app=web").matches(nlohmann::json()));
  CHECK(LabelSelector::parse("!app").matches(nlohmann::json()));
  auto selector = LabelSelector::from_json(
      {{"matchLabels", {{"app", "web"}}},
       {"matchExpressions",
        {{{"key", "env"}, {"operator", "In"}, {"values", {"prod", "staging"}}},
         {{"key", "canary"}, {"operator", "DoesNotExist"}}}}});
  CHECK(selector.matches(labels));
  CHECK(selector.to_string() == "app=web,env in (prod,staging),!canary");
  CHECK(LabelSelector::parse(selector.to_string()).matches(labels));
  CHECK(LabelSelector::from_map({{"a", "1"}, {"b", "2"}}).to_string() == "a=1,b=2");
}
