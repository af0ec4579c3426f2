#include <doctest/doctest.h>

#include "flow/flow_spec.hpp"
#include "test_flows.hpp"

TEST_CASE("a step's settings layer over spec.defaults and the run's overrides") {
  const auto flow = podflow::test::valid_flow(podflow::test::flow_yaml(
      {{"start",
        {"end"},
        "resources: {cpu: 2}\n      env: [{name: MODE, value: step}]\n      labels: {a: step}"},
       {"end", {}, "image: custom:1"}},
      "  image: base:1\n  defaults:\n    resources: {memory: \"8Gi\"}\n    timeoutSeconds: 60\n"
      "    env: [{name: MODE, value: default}, {name: OTHER, value: x}]\n"
      "    labels: {a: default, b: default}\n"));
  podflow::flow::StepSettings overrides;
  overrides.resources.cpu = podflow::flow::Quantity{"4", 4};
  overrides.resources.memory = podflow::flow::Quantity{"1000M", 1e9};
  overrides.namespace_ = "foo";
  const auto start = podflow::flow::effective_settings(flow, flow.steps[0], overrides);
  CHECK(start.cpu.text == "4");        // the larger of step and --with, as Metaflow does
  CHECK(start.memory.text == "8Gi");   // the default is larger than the override
  CHECK(start.disk.text == "10240M");  // built-in default
  CHECK(start.timeoutSeconds == 60);
  CHECK(start.image == "base:1");
  CHECK(start.namespace_ == "foo");
  REQUIRE(start.env.size() == 2);
  CHECK(start.env[0].name == "MODE");
  CHECK(start.env[0].value == "step");
  CHECK(start.labels.at("a") == "step");
  CHECK(start.labels.at("b") == "default");
  const auto end = podflow::flow::effective_settings(flow, flow.steps[1]);
  CHECK(end.image == "custom:1");
  CHECK(end.cpu.text == "1");
}

TEST_CASE("Metaflow's other @kubernetes options: defaults, a step's own, and tmpfs's defaults") {
  const auto flow = podflow::test::valid_flow(podflow::test::flow_yaml(
      {{"start",
        {"end"},
        "resources: {memory: 2048}\n      tmpfs: {path: /scratch}\n      qos: Guaranteed\n"
        "      persistentVolumeClaims: {models: /models}\n      port: 8080"},
       {"end", {}, ""}},
      "  defaults:\n    sharedMemory: 1024\n    persistentVolumeClaims: {data: /data}\n"
      "    priorityClassName: batch-low\n"));
  const auto start = podflow::flow::effective_settings(flow, flow.steps[0]);
  CHECK(start.sharedMemory->text == "1024M");
  REQUIRE(start.tmpfs);
  CHECK(start.tmpfsPath == "/scratch");
  CHECK(start.tmpfsSize.value == doctest::Approx(1024e6));  // half of 2048 MB, as Metaflow
  CHECK(start.tmpfsTempdir);
  CHECK(start.qos == "Guaranteed");
  CHECK(start.port == 8080);
  CHECK(start.priorityClassName == "batch-low");
  CHECK(start.persistentVolumeClaims ==
        std::map<std::string, std::string>{{"data", "/data"}, {"models", "/models"}});
  const auto end = podflow::flow::effective_settings(flow, flow.steps[1]);
  CHECK_FALSE(end.tmpfs);
  CHECK(end.qos == "Burstable");
  CHECK_FALSE(end.port);
  CHECK(end.persistentVolumeClaims.size() == 1);
}

TEST_CASE(
    "parallelism: a step's own, then the run's overrides, then spec.defaults, unset is none") {
  const auto flow = podflow::test::valid_flow(podflow::test::flow_yaml(
      {{"start", {"middle"}, "parallelism: 2"}, {"middle", {"end"}, ""}, {"end", {}, ""}},
      "  defaults:\n    parallelism: 5\n"));
  const auto middle = *flow.find_step("middle");
  CHECK(podflow::flow::effective_settings(flow, flow.steps[0]).parallelism == 2);
  CHECK(podflow::flow::effective_settings(flow, middle).parallelism == 5);
  podflow::flow::StepSettings overrides;
  overrides.parallelism = 3;
  CHECK(podflow::flow::effective_settings(flow, flow.steps[0], overrides).parallelism == 2);
  CHECK(podflow::flow::effective_settings(flow, middle, overrides).parallelism == 3);

  const auto plain = podflow::test::valid_flow(
      podflow::test::flow_yaml({{"start", {"end"}, ""}, {"end", {}, ""}}));
  CHECK_FALSE(podflow::flow::effective_settings(plain, plain.steps[0]).parallelism.has_value());
  CHECK(podflow::flow::effective_settings(plain, plain.steps[0], overrides).parallelism == 3);
}
