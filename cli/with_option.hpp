// Metaflow's --with: `--with kubernetes` runs the flow on the cluster of the current kubeconfig;
// `--with kubernetes:cpu=4,memory=10000,disk=20000,gpu=1,gpu_vendor=amd.com,namespace=foo,
// image=ubuntu:latest,service_account=sa,secrets=a;b` also sets run-wide step settings (the
// larger of step and override wins for resources, as in Metaflow).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace podflow::cli {

struct WithOptions {
  bool kubernetes = false;
  // The settings as a Flow's spec.defaults would write them (FlowRun spec.overrides).
  nlohmann::json overrides = nlohmann::json::object();
};

struct WithParse {
  WithOptions options;
  std::vector<std::string> problems;  // one message each, naming the value and the fix
};

// `specs` are the values given after --with (repeatable).
WithParse parse_with(const std::vector<std::string>& specs);

}  // namespace podflow::cli
