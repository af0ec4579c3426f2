// Leader election, Events and a Controller end to end against the real kube-apiserver.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>

#include "cluster_env.hpp"
#include "kube/controller.hpp"
#include "kube/event_recorder.hpp"
#include "kube/leader_election.hpp"
#include "kube/reflector.hpp"

using namespace podflow::kube;
using namespace podflow::kube::testing;
using namespace std::chrono_literals;

namespace {

LeaderElectionOptions election(const std::string& ns, const std::string& identity,
                               std::atomic<int>& started, std::atomic<int>& stopped) {
  LeaderElectionOptions options;
  options.lease_namespace = ns;
  options.lease_name = "podflow-operator";
  options.identity = identity;
  options.lease_duration = 6s;
  options.renew_deadline = 4s;
  options.retry_period = 1s;
  options.on_started_leading = [&started] { ++started; };
  options.on_stopped_leading = [&stopped] { ++stopped; };
  return options;
}

}  // namespace

TEST_CASE("leader election: one of two leads and the other takes over when it stops") {
  auto& client = cluster_client();
  TestNamespace ns("lease");
  std::atomic<int> a_started{0}, a_stopped{0}, b_started{0}, b_stopped{0};
  LeaderElector a(client, election(ns.name(), "replica-a", a_started, a_stopped));
  a.start();
  REQUIRE(eventually([&] { return a.is_leader(); }, 10s));
  LeaderElector b(client, election(ns.name(), "replica-b", b_started, b_stopped));
  b.start();
  std::this_thread::sleep_for(8s);  // longer than the lease: a renews, b must not take it
  CHECK(a.is_leader());
  CHECK_FALSE(b.is_leader());
  CHECK(b.leader() == "replica-a");
  auto lease = client.get(resources::leases(), ns.name(), "podflow-operator");
  REQUIRE(lease);
  CHECK((*lease)["spec"]["holderIdentity"] == "replica-a");
  CHECK((*lease)["spec"]["leaseDurationSeconds"] == 6);

  // Graceful stop releases the lease: b takes over at its next retry.
  auto stopped_at = std::chrono::steady_clock::now();
  a.stop();
  CHECK(a_stopped == 1);
  CHECK_FALSE(a.is_leader());
  REQUIRE(eventually([&] { return b.is_leader(); }, 6s));
  CHECK(std::chrono::steady_clock::now() - stopped_at < 6s);  // within the lease duration
  CHECK(b_started == 1);
  lease = client.get(resources::leases(), ns.name(), "podflow-operator");
  CHECK((*lease)["spec"]["holderIdentity"] == "replica-b");
  CHECK((*lease)["spec"]["leaseTransitions"].get<int>() >= 1);
  b.stop();
  CHECK(a_started == 1);
}

TEST_CASE("leader election: a leader that dies without releasing is replaced after the lease") {
  auto& client = cluster_client();
  TestNamespace ns("lease-crash");
  std::atomic<int> a_started{0}, a_stopped{0}, b_started{0}, b_stopped{0};
  auto crash = election(ns.name(), "replica-a", a_started, a_stopped);
  crash.release_on_stop = false;  // as if the process were killed
  LeaderElector a(client, crash);
  a.start();
  REQUIRE(eventually([&] { return a.is_leader(); }, 10s));
  LeaderElector b(client, election(ns.name(), "replica-b", b_started, b_stopped));
  b.start();
  std::this_thread::sleep_for(2s);
  CHECK_FALSE(b.is_leader());
  auto died_at = std::chrono::steady_clock::now();
  a.stop();
  REQUIRE(eventually([&] { return b.is_leader(); }, 15s));
  auto takeover = std::chrono::steady_clock::now() - died_at;
  // Not before the lease (6 s) has run out as b observed it; not much after it either
  // (a retry period of up to 2.2 s plus the time b had already observed).
  CHECK(takeover >= 3s);
  CHECK(takeover <= 6s + 3s);
  b.stop();
}

TEST_CASE("events are recorded, aggregated, and listed by kubectl") {
  auto& client = cluster_client();
  TestNamespace ns("events");
  auto subject = client.create(resources::config_maps(), ns.name(), config_map("subject", {}));
  EventRecorder recorder(client, "podflow-operator", "test-host");
  CHECK(recorder.record(subject, EventType::normal, "Created", "made by the test"));
  CHECK(recorder.record(subject, EventType::warning, "Failing", "step train failed: OOMKilled"));
  CHECK(recorder.record(subject, EventType::warning, "Failing", "step train failed: OOMKilled"));
  CHECK(recorder.created() == 2);
  CHECK(recorder.aggregated() == 1);
  CHECK(recorder.failed() == 0);

  auto listed = run_command("kubectl get events -n " + ns.name() + " -o json 2>&1");
  INFO(listed.second);
  REQUIRE(listed.first == 0);
  nlohmann::json events = nlohmann::json::array();
  auto all_events = nlohmann::json::parse(listed.second);
  for (const auto& event : all_events["items"]) {
    if (event["involvedObject"].value("name", "") == "subject") events.push_back(event);
  }
  REQUIRE(events.size() == 2);
  bool saw_warning = false;
  for (const auto& event : events) {
    CHECK(event["involvedObject"]["name"] == "subject");
    CHECK(event["involvedObject"]["uid"] == uid_of(subject));
    CHECK(event["source"]["component"] == "podflow-operator");
    if (event["reason"] == "Failing") {
      saw_warning = true;
      CHECK(event["type"] == "Warning");
      CHECK(event["count"] == 2);
      CHECK(event["message"] == "step train failed: OOMKilled");
    }
  }
  CHECK(saw_warning);
  auto described = run_command("kubectl describe configmap subject -n " + ns.name() + " 2>&1");
  CHECK(described.first == 0);
  CHECK(described.second.find("OOMKilled") != std::string::npos);
}

TEST_CASE("a controller reconciles owners when their owned objects change") {
  auto& client = cluster_client();
  TestNamespace ns("controller");
  auto cm = resources::config_maps();
  Reflector owners(client, cm, ns.name(), [] {
    WatcherOptions options;
    options.label_selector = "role=owner";
    return options;
  }());
  Reflector children(client, cm, ns.name(), [] {
    WatcherOptions options;
    options.label_selector = "role=child";
    return options;
  }());
  children.cache().add_index("owner", owner_uid_index);

  // The reconciler keeps the owner's data.children equal to the number of its children, read
  // from the cache: level-triggered, idempotent, writes only when something changed.
  std::atomic<int> reconciles{0}, writes{0};
  ControllerOptions options;
  options.name = "counter";
  options.workers = 2;
  Controller controller(
      [&](const std::string& key) {
        ++reconciles;
        auto owner = owners.cache().get(key);
        if (!owner) return Action::await_change();
        auto count = std::to_string(children.cache().by_index("owner", uid_of(*owner)).size());
        const auto& data = (*owner)["data"];
        if (!data.is_object() || data.value("children", "") != count) {
          auto [namespace_, name] = split_key(key);
          client.merge_patch(resources::config_maps(), namespace_, name,
                             {{"data", {{"children", count}}}});
          ++writes;
        }
        return Action::await_change();
      },
      options);
  controller.watches(owners.cache());
  OwnerKind owner_kind;
  owner_kind.kind = "ConfigMap";
  controller.owns(children.cache(), owner_kind);
  owners.start();
  children.start();
  REQUIRE(owners.cache().wait_synced(10s));
  REQUIRE(children.cache().wait_synced(10s));
  controller.start();

  auto owner = client.create(cm, ns.name(), config_map("parent", {}, {{"role", "owner"}}));
  for (int i = 0; i < 3; ++i) {
    auto child = config_map("kid-" + std::to_string(i), {}, {{"role", "child"}});
    child["metadata"]["ownerReferences"] = {controller_reference(owner)};
    client.create(cm, ns.name(), child);
  }
  auto children_count = [&] {
    auto current = client.get(cm, ns.name(), "parent");
    if (!current || !(*current)["data"].is_object()) return std::string();
    return (*current)["data"].value("children", "");
  };
  CHECK(eventually([&] { return children_count() == "3"; }, 15s));
  client.remove(cm, ns.name(), "kid-0");
  CHECK(eventually([&] { return children_count() == "2"; }, 15s));
  controller.stop();
  CHECK(reconciles >= 2);
  CHECK(writes >= 2);
  CHECK(controller.metrics().reconciles.value({"error"}) == 0);
  children.stop();
  owners.stop();
}
