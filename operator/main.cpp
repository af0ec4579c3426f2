// podflow-operator: runs FlowRuns as Tasks and Pods (docs/api.md, docs/operations.md).
//
//   podflow-operator --datastore s3://bucket/runs --s3-endpoint http://minio:9000
//       --s3-credentials-secret podflow-s3 [--namespace team-a ...] [--leader-elect]
//
// Exit codes: 0 after SIGTERM/SIGINT, 1 when it cannot start (configuration, CRDs missing) or lost
// its leadership, 2 for a bad command line.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <thread>

#include "flow/names.hpp"
#include "kube/controller.hpp"
#include "kube/event_recorder.hpp"
#include "kube/kube_client.hpp"
#include "kube/kube_config.hpp"
#include "kube/kube_log.hpp"
#include "kube/leader_election.hpp"
#include "operator/reconcile/api_resources.hpp"
#include "operator/reconcile/flow_reconciler.hpp"
#include "operator/reconcile/flowrun_reconciler.hpp"
#include "operator/server/http_endpoints.hpp"
#include "operator/server/json_log.hpp"

namespace {

using namespace podflow;
using kube::LogLevel;

struct Options {
  std::string kubeconfig;
  std::string context;
  std::vector<std::string> namespaces;
  reconcile::OperatorSettings settings;
  int flowrun_workers = 4;
  double qps = 100;
  int burst = 200;
  std::string metrics_address = ":8080";
  std::string probe_address = ":8081";
  bool leader_elect = false;
  std::string lease_namespace;
  std::string lease_name = "podflow-operator";
  std::string log_format = "json";
  std::string log_level = "info";
  std::vector<std::string> task_env;  // NAME=VALUE
};

std::string identity() {
  if (const char* pod = std::getenv("POD_NAME"); pod && *pod) return pod;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "_" + std::to_string(getpid());
}

// Tasks by phase, counted from the cache when /metrics is scraped.
std::string task_phase_metrics(reconcile::ScopedCache& tasks) {
  std::map<std::string, std::size_t> counts{
      {"Pending", 0}, {"Running", 0}, {"Retrying", 0}, {"Succeeded", 0}, {"Failed", 0}};
  for (const auto& task : tasks.list()) {
    std::string phase = task->contains("status") ? (*task)["status"].value("phase", "") : "";
    ++counts[phase.empty() ? "Pending" : phase];
  }
  std::string out =
      "# HELP podflow_tasks Tasks the operator sees, by phase.\n# TYPE podflow_tasks gauge\n";
  for (const auto& [phase, count] : counts) {
    out += "podflow_tasks{phase=\"" + phase + "\"} " + std::to_string(count) + "\n";
  }
  return out;
}

void add_flags(CLI::App& app, Options& options) {
  app.add_option("--kubeconfig", options.kubeconfig,
                 "kubeconfig file; default: $KUBECONFIG, the in-cluster service account, "
                 "~/.kube/config");
  app.add_option("--context", options.context, "kubeconfig context; default: its current one");
  app.add_option("--namespace", options.namespaces,
                 "namespace to manage (repeat for several); default: all namespaces")
      ->envname("PODFLOW_NAMESPACES")
      ->delimiter(',');
  app.add_option("--datastore", options.settings.datastore,
                 "where tasks keep artifacts and logs: s3://bucket/prefix")
      ->envname("PODFLOW_DATASTORE")
      ->required();
  app.add_option("--s3-endpoint", options.settings.pod.s3_endpoint,
                 "S3 endpoint URL for the tasks (MinIO, Ceph, R2, ...); default: AWS")
      ->envname("PODFLOW_S3_ENDPOINT");
  app.add_option("--s3-region", options.settings.pod.s3_region, "S3 region for the tasks")
      ->envname("AWS_REGION");
  app.add_option("--s3-credentials-secret", options.settings.pod.s3_credentials_secret,
                 "Secret (in each run's namespace) with the tasks' S3 credentials: keys "
                 "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY[, AWS_SESSION_TOKEN]")
      ->envname("PODFLOW_S3_CREDENTIALS_SECRET");
  app.add_option("--default-image", options.settings.default_image,
                 "image of steps whose flow names none")
      ->envname("PODFLOW_DEFAULT_IMAGE")
      ->default_val("podflow/podflow:latest");
  app.add_option("--runtime-image", options.settings.pod.runtime_image,
                 "image whose podflow-runtime an init container copies into every task pod, "
                 "so that a step's image needs nothing of podflow (the chart sets its own "
                 "image); empty: step images must have --runtime-command on their PATH")
      ->envname("PODFLOW_RUNTIME_IMAGE");
  app.add_option("--runtime-command", options.settings.pod.runtime_command,
                 "podflow-runtime in the --runtime-image (run with --install by the init "
                 "container), or, without --runtime-image, the program each task pod runs")
      ->default_val("podflow-runtime");
  app.add_flag("--read-only-root-filesystem", options.settings.pod.read_only_root_filesystem,
               "task pods' containers get a read-only root filesystem (readOnlyRootFilesystem); "
               "/tmp is then an emptyDir");
  app.add_option("--task-env", options.task_env,
                 "NAME=VALUE (repeatable): an environment variable of every task pod's "
                 "podflow-runtime and step, e.g. AWS_ENDPOINT_URL_STS, AWS_CA_BUNDLE or "
                 "HTTPS_PROXY (a flow's env reaches only its step's command)");
  app.add_option("--run-as-user", options.settings.pod.run_as_user,
                 "uid (and gid) of task pods' processes")
      ->default_val(65532);
  app.add_flag("--cpu-limits", options.settings.pod.cpu_limits,
               "set cpu limit = request (Guaranteed QoS); default: no cpu limit");
  app.add_option("--grace-seconds", options.settings.grace_seconds,
                 "a timed-out step gets SIGTERM, then SIGKILL after this long")
      ->default_val(10)
      ->check(CLI::Range(0, 3600));
  app.add_option("--max-starting-tasks", options.settings.max_starting_tasks,
                 "per FlowRun, Tasks whose pod has not started yet (none, or Pending), at most; "
                 "more would only queue in the API server, the scheduler and the nodes")
      ->default_val(1000)
      ->check(CLI::Range(1, 1000000));
  // Tenancy: docs/operations.md, "Security model".
  app.add_option("--author-checks", options.settings.check_author_rights,
                 "before a run starts, check (SubjectAccessReview) that the FlowRun's creator, "
                 "recorded by the chart's admission policies, may create its pods, read its "
                 "Secrets, impersonate its ServiceAccounts and place pods; false: no checks "
                 "(only where every user is trusted)")
      ->default_val(true);
  app.add_option("--placement-needs-grant", options.settings.placement_requires_grant,
                 "a step's nodeSelector, tolerations or priorityClassName need `use` on "
                 "nodeplacements.podflow.dev")
      ->default_val(true);
  app.add_option("--operator-namespace", options.settings.operator_namespace,
                 "the operator's own namespace, where runs are refused (their pods could run as "
                 "its ServiceAccount); default: the pod's namespace")
      ->envname("POD_NAMESPACE");
  app.add_flag("--allow-operator-namespace", options.settings.allow_operator_namespace,
               "run FlowRuns of the operator's own namespace too");
  app.add_flag("--datastore-per-namespace", options.settings.datastore_per_namespace,
               "keep each namespace's runs under <datastore>/<namespace> (and resume only from "
               "there), so each namespace's S3 credentials can be limited to its prefix");
  app.add_option("--flowrun-workers", options.flowrun_workers, "FlowRuns reconciled at once")
      ->default_val(4)
      ->check(CLI::Range(1, 256));
  app.add_option("--kube-api-qps", options.qps,
                 "API requests per second (client-side limit); <= 0: no client-side limit, "
                 "the API server's priority and fairness alone")
      ->default_val(100)
      ->check(CLI::Validator(
          [](std::string& value) {
            // strtod also takes "nan" and "inf", which would make the token bucket's arithmetic
            // meaningless; -1 is how a user says "no limit"
            double qps = 0;
            if (CLI::detail::lexical_cast(value, qps) && std::isfinite(qps)) return std::string();
            return "'" + value + "' is not a finite number (use -1 for no client-side limit)";
          },
          "NUMBER"));
  app.add_option("--kube-api-burst", options.burst, "API requests allowed in a burst")
      ->default_val(200)
      ->check(CLI::Range(1, 100000));
  app.add_option("--metrics-bind-address", options.metrics_address,
                 "host:port for /metrics; 0: off")
      ->default_val(":8080");
  app.add_option("--health-probe-bind-address", options.probe_address,
                 "host:port for /healthz and /readyz; 0: off")
      ->default_val(":8081");
  app.add_flag("--leader-elect", options.leader_elect,
               "elect a leader on a Lease, so several replicas are safe");
  app.add_option("--leader-election-namespace", options.lease_namespace,
                 "namespace of the Lease; default: the pod's namespace, else default")
      ->envname("POD_NAMESPACE");
  app.add_option("--leader-election-id", options.lease_name, "name of the Lease")
      ->default_val("podflow-operator");
  app.add_option("--log-format", options.log_format, "json or text")
      ->default_val("json")
      ->check(CLI::IsMember({"json", "text"}));
  app.add_option("--log-level", options.log_level, "debug, info, warning or error")
      ->default_val("info")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
}

int run(const Options& options, const sigset_t& stop_signals) {
  kube::ClientOptions client_options;
  client_options.qps = options.qps;
  client_options.burst = options.burst;
  std::optional<std::filesystem::path> path;
  if (!options.kubeconfig.empty()) path = options.kubeconfig;
  std::optional<std::string> kube_context;
  if (!options.context.empty()) kube_context = options.context;
  kube::Client client(kube::load_default_config(path, kube_context), client_options);

  // Refuse to start without the CRDs: every watch would fail forever otherwise.
  try {
    kube::ListOptions probe;
    probe.limit = 1;
    client.list(reconcile::flowruns(), options.namespaces.empty() ? "" : options.namespaces[0],
                probe);
  } catch (const kube::KubeError& error) {
    if (kube::is_not_found(error)) {
      kube::log(LogLevel::error,
                "the podflow CRDs are not installed in this cluster: kubectl apply -f crds/ "
                "(or helm install podflow charts/podflow)");
      return 1;
    }
    throw;
  }

  reconcile::ScopedCache flows(client, reconcile::flows(), options.namespaces);
  reconcile::ScopedCache flowruns(client, reconcile::flowruns(), options.namespaces);
  reconcile::ScopedCache tasks(client, reconcile::tasks(), options.namespaces);
  kube::WatcherOptions pod_watch;
  pod_watch.label_selector =
      std::string(reconcile::kManagedByLabel) + "=" + reconcile::kManagedByValue;
  reconcile::ScopedCache pods(client, kube::resources::pods(), options.namespaces, pod_watch);
  // The caches keep what the reconcilers read, no more: at 100,000 tasks every byte counts.
  // managedFields are never read; a Task's runtime spec only until the Task has a status;
  // of a Pod's spec only the node and the deadline are.
  auto trim = [](nlohmann::json& object) { object["metadata"].erase("managedFields"); };
  flows.set_transform(trim);
  flowruns.set_transform(trim);
  tasks.set_transform(trim);
  // Pods that ended are not kept: their outcome is read once, from the watch event.
  pods.set_keep(reconcile::FlowRunReconciler::keep_pod);
  pods.set_transform([trim](nlohmann::json& pod) {
    trim(pod);
    pod["metadata"].erase("annotations");
    nlohmann::json kept = nlohmann::json::object();
    for (const char* field : {"nodeName", "activeDeadlineSeconds"}) {
      if (pod["spec"].contains(field)) kept[field] = pod["spec"][field];
    }
    pod["spec"] = std::move(kept);
    if (!pod.contains("status")) return;
    auto& status = pod["status"];
    for (const char* field : {"podIP", "podIPs", "hostIP", "hostIPs", "qosClass"}) {
      status.erase(field);
    }
    for (const char* list : {"containerStatuses", "initContainerStatuses"}) {
      if (!status.contains(list)) continue;
      for (auto& container : status[list]) {
        for (const char* field : {"image", "imageID", "containerID", "volumeMounts", "user"}) {
          container.erase(field);
        }
      }
    }
  });
  tasks.add_index(reconcile::kOwnerIndex, kube::owner_uid_index);
  pods.add_index(reconcile::kOwnerIndex, kube::owner_uid_index);

  kube::EventRecorder events(client, "podflow-operator", identity());
  reconcile::OperatorContext context{client, flows,  flowruns,        tasks,
                                     pods,   events, options.settings};
  reconcile::FlowReconciler flow_reconciler(context);
  reconcile::FlowRunReconciler flowrun_reconciler(context);

  kube::ControllerOptions flow_options;
  flow_options.name = "flow";
  flow_options.workers = 1;
  kube::Controller flow_controller(
      [&](const std::string& key) { return flow_reconciler.reconcile(key); }, flow_options);
  kube::ControllerOptions flowrun_options;
  flowrun_options.name = "flowrun";
  flowrun_options.workers = options.flowrun_workers;
  kube::Controller flowrun_controller(
      [&](const std::string& key) { return flowrun_reconciler.reconcile(key); }, flowrun_options);

  kube::OwnerKind flowrun_owner;
  flowrun_owner.kind = "FlowRun";
  flowrun_owner.group = "podflow.dev";
  for (auto* cache : flows.caches()) {
    flow_controller.watches(*cache);
    flowrun_controller.watches_mapped(*cache, [&](const kube::CacheEvent& event) {
      return flowrun_reconciler.runs_referencing(event.key);
    });
  }
  for (auto* cache : flowruns.caches()) flowrun_controller.watches(*cache);
  std::vector<std::pair<kube::ObjectCache*, int>> change_subscriptions;
  for (auto* cache : tasks.caches()) flowrun_controller.owns(*cache, flowrun_owner);
  for (auto* cache : pods.caches()) {
    // First: the change is kept before the FlowRun controller's mapping wakes the run.
    change_subscriptions.emplace_back(cache, cache->subscribe([&](const kube::CacheEvent& event) {
      flowrun_reconciler.pod_changed(event);
    }));
    flowrun_controller.watches_mapped(*cache, [&](const kube::CacheEvent& event) {
      return flowrun_reconciler.run_of_pod(event);
    });
  }

  std::atomic<bool> leading{!options.leader_elect};
  std::atomic<bool> lost_leadership{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> controllers_started{false};
  auto start_controllers = [&] {
    if (controllers_started.exchange(true)) return;
    kube::log(LogLevel::info, "starting the controllers");
    flow_controller.start();
    flowrun_controller.start();
  };

  server::EndpointHandlers handlers;
  handlers.ready = [&](std::string& why) {
    if (!flows.synced() || !flowruns.synced() || !tasks.synced() || !pods.synced()) {
      why = "caches not synced yet";
      return false;
    }
    return true;
  };
  handlers.metrics = [&] {
    std::string out;
    client.metrics().write_prometheus(out);
    for (auto* controller : {&flow_controller, &flowrun_controller}) {
      controller->metrics().write_prometheus(out);
      controller->queue().metrics().write_prometheus(out);
    }
    out += task_phase_metrics(tasks);
    out += "# HELP podflow_leader 1 when this replica leads.\n# TYPE podflow_leader gauge\n";
    out += std::string("podflow_leader ") + (leading ? "1" : "0") + "\n";
    return out;
  };
  server::HttpEndpoints metrics_server(options.metrics_address, handlers);
  std::unique_ptr<server::HttpEndpoints> probe_server;
  if (options.probe_address != options.metrics_address) {
    probe_server = std::make_unique<server::HttpEndpoints>(options.probe_address, handlers);
  }

  flows.start();
  flowruns.start();
  tasks.start();
  pods.start();
  kube::log(LogLevel::info, "waiting for the caches to sync");
  while (!flows.wait_synced(std::chrono::seconds(1)) ||
         !flowruns.wait_synced(std::chrono::seconds(1)) ||
         !tasks.wait_synced(std::chrono::seconds(1)) ||
         !pods.wait_synced(std::chrono::seconds(1))) {
    timespec zero{0, 0};
    if (sigtimedwait(&stop_signals, nullptr, &zero) > 0) return 0;
  }

  std::unique_ptr<kube::LeaderElector> elector;
  if (options.leader_elect) {
    kube::LeaderElectionOptions election;
    election.lease_namespace =
        options.lease_namespace.empty() ? "default" : options.lease_namespace;
    election.lease_name = options.lease_name;
    election.identity = identity();
    election.on_started_leading = [&] {
      leading = true;
      start_controllers();
    };
    election.on_stopped_leading = [&] {
      leading = false;
      if (stopping) return;  // we gave the Lease up ourselves
      // Another replica may act now: stop at once rather than race it (client-go exits too).
      lost_leadership = true;
      kill(getpid(), SIGTERM);
    };
    election.on_new_leader = [](const std::string& holder) {
      kube::log(LogLevel::info, "the leader is " + holder);
    };
    elector = std::make_unique<kube::LeaderElector>(client, election);
    elector->start();
  } else {
    start_controllers();
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  kube::log(LogLevel::info, lost_leadership
                                ? "lost the leadership; stopping"
                                : "stopping on signal " + std::to_string(signal_number));
  // Finish the reconciles under way, then give the Lease up so a standby takes over at once.
  stopping = true;
  flowrun_controller.stop();
  flow_controller.stop();
  if (elector) elector->stop();
  pods.stop();
  tasks.stop();
  for (auto& [cache, id] : change_subscriptions) cache->unsubscribe(id);
  flowruns.stop();
  flows.stop();
  return lost_leadership ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"podflow-operator: runs podflow FlowRuns on Kubernetes as Tasks and Pods"};
  Options options;
  add_flags(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  for (const auto& assignment : options.task_env) {
    const auto equals = assignment.find('=');
    const std::string variable = assignment.substr(0, equals);
    if (equals == std::string::npos || !flow::is_env_name(variable) ||
        variable.starts_with("PODFLOW_")) {
      std::cerr << "podflow-operator: --task-env '" << assignment
                << "' is not NAME=VALUE with a variable name of letters, digits and _ (names "
                   "starting with PODFLOW_ are podflow's own)\n";
      return 2;
    }
    const bool twice =
        std::any_of(options.settings.pod.extra_env.begin(), options.settings.pod.extra_env.end(),
                    [&](const auto& other) { return other.first == variable; });
    if (twice || (variable == "AWS_REGION" && !options.settings.pod.s3_region.empty())) {
      std::cerr << "podflow-operator: --task-env " << variable
                << " is given twice, or set by the operator itself (--s3-region sets "
                   "AWS_REGION); give it once\n";
      return 2;
    }
    options.settings.pod.extra_env.emplace_back(variable, assignment.substr(equals + 1));
  }
  server::install_log_sink(options.log_format, server::parse_log_level(options.log_level));
  // The operator reads the datastore itself to resume a run (spec.resumeFrom), with the
  // settings it gives the tasks; the S3 store reads them from the environment.
  if (!options.settings.pod.s3_endpoint.empty()) {
    setenv("PODFLOW_S3_ENDPOINT", options.settings.pod.s3_endpoint.c_str(), 1);
  }
  if (!options.settings.pod.s3_region.empty()) {
    setenv("AWS_REGION", options.settings.pod.s3_region.c_str(), 1);
  }
  if (options.settings.datastore.rfind("s3://", 0) != 0 &&
      options.settings.datastore.rfind("/", 0) != 0) {
    std::cerr << "podflow-operator: --datastore '" << options.settings.datastore
              << "' must be s3://bucket/prefix (or an absolute directory every node mounts)\n";
    return 2;
  }
  // Every thread inherits this mask: SIGTERM and SIGINT are taken by sigwait in run().
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    return run(options, stop_signals);
  } catch (const std::exception& error) {
    kube::log(LogLevel::error, std::string("cannot run: ") + error.what());
    return 1;
  }
}
