// The REST client against the real kube-apiserver of tests/cluster.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "cluster_env.hpp"
#include "kube/kube_client.hpp"

using namespace podflow::kube;
using namespace podflow::kube::testing;
using namespace std::chrono_literals;

TEST_CASE("configmap CRUD, and errors classified from the server's answers") {
  auto& client = cluster_client();
  TestNamespace ns("crud");
  auto cm = resources::config_maps();

  auto created = client.create(cm, ns.name(), config_map("settings", {{"a", "1"}}));
  CHECK(name_of(created) == "settings");
  CHECK_FALSE(uid_of(created).empty());

  auto got = client.get(cm, ns.name(), "settings");
  REQUIRE(got);
  CHECK((*got)["data"]["a"] == "1");
  CHECK_FALSE(client.get(cm, ns.name(), "missing").has_value());

  try {
    client.create(cm, ns.name(), config_map("settings", {{"a", "2"}}));
    FAIL("a second create must fail");
  } catch (const KubeError& error) {
    CHECK(error.code() == 409);
    CHECK(is_already_exists(error));
    CHECK_FALSE(is_conflict(error));
  }

  auto updated = *got;
  updated["data"]["a"] = "2";
  auto replaced = client.replace(cm, ns.name(), "settings", updated);
  CHECK(replaced["data"]["a"] == "2");
  CHECK(resource_version_of(replaced) != resource_version_of(*got));

  // The stale resourceVersion of `got`: optimistic concurrency says Conflict.
  auto stale = *got;
  stale["data"]["a"] = "3";
  try {
    client.replace(cm, ns.name(), "settings", stale);
    FAIL("a stale update must fail");
  } catch (const KubeError& error) {
    CHECK(error.code() == 409);
    CHECK(is_conflict(error));
    CHECK(error.reason() == Reason::conflict);
    CHECK_FALSE(is_retryable(error));
  }

  auto patched = client.merge_patch(cm, ns.name(), "settings", {{"data", {{"b", "x"}}}});
  CHECK(patched["data"] == nlohmann::json({{"a", "2"}, {"b", "x"}}));

  try {
    client.create(cm, ns.name(), config_map("Bad_Name", {{"a", "1"}}));
    FAIL("an invalid name must fail");
  } catch (const KubeError& error) {
    CHECK(error.code() == 422);
    CHECK(is_invalid(error));
    REQUIRE_FALSE(error.causes().empty());
    CHECK(error.causes()[0].field == "metadata.name");
    CHECK(describe_causes(error).find("metadata.name: ") == 0);
  }

  auto removed = client.remove(cm, ns.name(), "settings");
  CHECK(removed.has_value());
  CHECK_FALSE(client.get(cm, ns.name(), "settings").has_value());
  CHECK_FALSE(client.remove(cm, ns.name(), "settings").has_value());

  auto& metrics = client.metrics();
  CHECK(metrics.requests.value({"CREATE", "409"}) >= 1);
  CHECK(metrics.requests.value({"UPDATE", "409"}) >= 1);
  CHECK(metrics.requests.value({"GET", "404"}) >= 1);
  CHECK(metrics.requests.value({"CREATE", "422"}) >= 1);
}

TEST_CASE("list pagination past 500 items with limit and continue") {
  auto& client = cluster_client();
  TestNamespace ns("pages");
  auto cm = resources::config_maps();
  constexpr int kCount = 520;
  for (int i = 0; i < kCount; ++i) {
    client.create(cm, ns.name(),
                  config_map("item-" + std::to_string(i), {{"i", std::to_string(i)}},
                             {{"batch", "pages"}, {"parity", i % 2 ? "odd" : "even"}}));
  }
  ListOptions options;
  options.label_selector = "batch=pages";
  options.limit = 200;
  auto first = client.list(cm, ns.name(), options);
  CHECK(first.items.size() == 200);
  CHECK_FALSE(first.continue_token.empty());
  // remainingItemCount is not given for a list with a label selector.
  CHECK_FALSE(first.remaining_item_count.has_value());

  int pages = 1;
  std::set<std::string> names;
  for (const auto& item : first.items) names.insert(name_of(item));
  auto token = first.continue_token;
  while (!token.empty()) {
    ListOptions next = options;
    next.continue_token = token;
    auto page = client.list(cm, ns.name(), next);
    for (const auto& item : page.items) names.insert(name_of(item));
    token = page.continue_token;
    ++pages;
  }
  CHECK(pages == 3);
  CHECK(names.size() == kCount);

  ListOptions all_options;
  all_options.label_selector = "batch=pages";
  auto all = client.list_all(cm, ns.name(), all_options);  // pages of 500
  CHECK(all.items.size() == kCount);
  CHECK(all.continue_token.empty());
  CHECK(all.items.front()["kind"] == "ConfigMap");  // filled in for list items
  ListOptions odd;
  odd.label_selector = "batch=pages,parity=odd";
  CHECK(client.list_all(cm, ns.name(), odd).items.size() == kCount / 2);
  ListOptions by_field;
  by_field.field_selector = "metadata.name=item-7";
  CHECK(client.list(cm, ns.name(), by_field).items.size() == 1);
}

TEST_CASE("server-side apply: create, update, field ownership conflicts and force") {
  auto& client = cluster_client();
  TestNamespace ns("apply");
  auto cm = resources::config_maps();
  ApplyOptions mine;
  mine.field_manager = "podflow-test";
  auto applied = client.apply(cm, ns.name(), "applied", {{"data", {{"owner", "me"}}}}, mine);
  CHECK(applied["data"]["owner"] == "me");
  applied =
      client.apply(cm, ns.name(), "applied", {{"data", {{"owner", "me"}, {"more", "1"}}}}, mine);
  CHECK(applied["data"]["more"] == "1");
  bool managed = false;
  for (const auto& entry : applied["metadata"]["managedFields"]) {
    if (entry["manager"] == "podflow-test" && entry["operation"] == "Apply") managed = true;
  }
  CHECK(managed);

  ApplyOptions other;
  other.field_manager = "someone-else";
  try {
    client.apply(cm, ns.name(), "applied", {{"data", {{"owner", "them"}}}}, other);
    FAIL("applying a field another manager owns must conflict");
  } catch (const KubeError& error) {
    CHECK(error.code() == 409);
    CHECK(is_conflict(error));
    CHECK_FALSE(error.causes().empty());  // names the conflicting field and manager
  }
  other.force = true;
  auto forced = client.apply(cm, ns.name(), "applied", {{"data", {{"owner", "them"}}}}, other);
  CHECK(forced["data"]["owner"] == "them");
  CHECK(client.metrics().requests.value({"APPLY", "200"}) +
            client.metrics().requests.value({"APPLY", "201"}) >=
        3);
}

TEST_CASE("delete with Foreground propagation waits for the dependents") {
  auto& client = cluster_client();
  TestNamespace ns("foreground");
  auto cm = resources::config_maps();
  auto owner = client.create(cm, ns.name(), config_map("owner", {{"x", "1"}}));
  auto child = config_map("child", {{"y", "1"}});
  child["metadata"]["ownerReferences"] = {controller_reference(owner)};
  client.create(cm, ns.name(), child);

  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  CHECK_THROWS_AS(client.remove(cm, ns.name(), "owner", wrong_uid), KubeError);

  DeleteOptions options;
  options.propagation = PropagationPolicy::foreground;
  options.precondition_uid = uid_of(owner);
  auto answer = client.remove(cm, ns.name(), "owner", options);
  REQUIRE(answer.has_value());
  // Foreground: the owner stays, marked for deletion, until the garbage collector removed the
  // child (blockOwnerDeletion).
  CHECK((*answer)["metadata"].contains("deletionTimestamp"));
  auto finalizers = (*answer)["metadata"].value("finalizers", nlohmann::json::array());
  CHECK(std::find(finalizers.begin(), finalizers.end(), "foregroundDeletion") != finalizers.end());
  CHECK(eventually([&] { return !client.get(cm, ns.name(), "child").has_value(); }, 60s));
  CHECK(eventually([&] { return !client.get(cm, ns.name(), "owner").has_value(); }, 60s));
}

TEST_CASE("status subresource and pods/log of a pod the process node ran") {
  auto& client = cluster_client();
  TestNamespace ns("podlog");
  CHECK(eventually(
      [&] { return client.get(resources::service_accounts(), ns.name(), "default").has_value(); },
      30s));
  nlohmann::json pod = {
      {"metadata", {{"name", "hello"}}},
      {"spec",
       {{"restartPolicy", "Never"},
        {"nodeSelector", {{"type", "process"}}},
        {"containers",
         {{{"name", "main"}, {"image", "busybox"}, {"command", {"echo", "hello"}}}}}}}};
  client.create(resources::pods(), ns.name(), pod);
  std::string phase;
  CHECK(eventually(
      [&] {
        auto current = client.get(resources::pods(), ns.name(), "hello");
        phase = current ? (*current)["status"].value("phase", "") : "";
        return phase == "Succeeded" || phase == "Failed";
      },
      90s));
  CHECK(phase == "Succeeded");
  CHECK(client.pod_log(ns.name(), "hello") == "hello\n");
  PodLogOptions tail;
  tail.tail_lines = 1;
  tail.container = "main";
  CHECK(client.pod_log(ns.name(), "hello", tail) == "hello\n");
  try {
    client.pod_log(ns.name(), "missing");
    FAIL("the log of a missing pod must fail");
  } catch (const KubeError& error) {
    CHECK(is_not_found(error));
  }
  // The status subresource: a merge patch of status only touches status.
  auto patched = client.merge_patch_status(
      resources::pods(), ns.name(), "hello",
      {{"status", {{"conditions", {{{"type", "podflow.dev/Checked"}, {"status", "True"}}}}}}});
  bool found = false;
  for (const auto& condition : patched["status"]["conditions"]) {
    if (condition["type"] == "podflow.dev/Checked") found = true;
  }
  CHECK(found);
}

TEST_CASE("the client-side rate limiter holds requests to QPS after the burst") {
  ClientOptions options;
  options.qps = 10;
  options.burst = 5;
  Client client(load_default_config(), options);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 15; ++i) client.get(resources::namespaces(), "", "default");
  auto elapsed = std::chrono::steady_clock::now() - start;
  // 5 free, 10 more at 10 QPS: at least ~1 s.
  CHECK(elapsed >= 950ms);
  CHECK(client.metrics().rate_limiter_wait_seconds.count() == 15);
  CHECK(client.metrics().requests.value({"GET", "200"}) == 15);
}

TEST_CASE("a bad token is Unauthorized, and an unreachable server a retryable connection error") {
  auto config = load_default_config();
  config.client_certificate_pem.clear();
  config.client_key_pem.clear();
  config.token = "not-a-token";
  Client anonymous(config);
  try {
    anonymous.get(resources::namespaces(), "", "default");
    FAIL("must be rejected");
  } catch (const KubeError& error) {
    CHECK(error.code() == 401);
    CHECK(error.reason() == Reason::unauthorized);
  }
  auto nowhere = load_default_config();
  nowhere.server = "https://127.0.0.1:1";
  Client unreachable(nowhere);
  try {
    unreachable.get(resources::namespaces(), "", "default");
    FAIL("must fail");
  } catch (const KubeError& error) {
    CHECK(error.reason() == Reason::connection_error);
    CHECK(is_retryable(error));
  }
  CHECK(unreachable.metrics().requests.value({"GET", "0"}) == 1);
}
