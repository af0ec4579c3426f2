#include <doctest/doctest.h>

#include "kube/kube_time.hpp"
#include "kube/resource.hpp"

using namespace podflow::kube;
using namespace std::chrono_literals;

TEST_CASE("Kubernetes timestamps: Time and MicroTime round-trip") {
  auto time = std::chrono::system_clock::from_time_t(1795280005) + 123456us;
  CHECK(format_time(time) == "2026-11-21T16:53:25Z");
  CHECK(format_micro_time(time) == "2026-11-21T16:53:25.123456Z");
  CHECK(parse_time("2026-11-21T16:53:25.123456Z") == time);
  CHECK(parse_time("2026-11-21T16:53:25Z") == time - 123456us);
  CHECK(parse_time("2026-11-21T17:53:25.123456+01:00") == time);
  CHECK_FALSE(parse_time("yesterday").has_value());
  CHECK_FALSE(parse_time("2026-11-21T16:53:25").has_value());
}

TEST_CASE("resource paths and keys") {
  auto configmaps = resources::config_maps();
  CHECK(configmaps.collection_path("default") == "/api/v1/namespaces/default/configmaps");
  CHECK(configmaps.collection_path("") == "/api/v1/configmaps");
  CHECK(configmaps.object_path("a", "b") == "/api/v1/namespaces/a/configmaps/b");
  ResourceRef flowruns{"podflow.dev", "v1alpha1", "flowruns", true, "FlowRun"};
  CHECK(flowruns.api_version() == "podflow.dev/v1alpha1");
  CHECK(flowruns.object_path("ns", "r") == "/apis/podflow.dev/v1alpha1/namespaces/ns/flowruns/r");
  CHECK(flowruns.describe() == "flowruns.podflow.dev");
  CHECK(resources::namespaces().object_path("ignored", "x") == "/api/v1/namespaces/x");
  CHECK(make_key("ns", "n") == "ns/n");
  CHECK(make_key("", "n") == "n");
  CHECK(split_key("ns/n") == std::pair<std::string, std::string>{"ns", "n"});
  CHECK(split_key("n") == std::pair<std::string, std::string>{"", "n"});
  nlohmann::json owner = {{"apiVersion", "podflow.dev/v1alpha1"},
                          {"kind", "FlowRun"},
                          {"metadata", {{"name", "r"}, {"namespace", "ns"}, {"uid", "u1"}}}};
  CHECK(object_key(owner) == "ns/r");
  auto reference = controller_reference(owner);
  CHECK(reference["uid"] == "u1");
  CHECK(reference["controller"] == true);
  CHECK(reference["blockOwnerDeletion"] == true);
}
