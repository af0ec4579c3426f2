// A REST client for the Kubernetes API over JSON, typed by ResourceRef (resource.hpp).
//
// Objects are nlohmann::json as the API server sends them. Every method is thread-safe, waits
// for the client-side rate limiter (default 5 QPS, burst 10, as client-go), counts into
// ClientMetrics by verb and code, and throws KubeError (kube_error.hpp) on failure, except where
// "not found" is an ordinary answer (get, remove), which is a return value.
//
//   Client client(load_default_config());
//   auto cm = client.get(resources::config_maps(), "default", "settings");   // optional<json>
//   ApplyOptions apply;  // field_manager "podflow-operator"
//   apply.force = true;
//   client.apply(resources::config_maps(), "default", "settings", desired, apply);
//
// Option structs are filled member by member: the build's -Wextra rejects designated
// initializers that leave members out.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/client_metrics.hpp"
#include "kube/kube_config.hpp"
#include "kube/kube_error.hpp"
#include "kube/rate_limiter.hpp"
#include "kube/resource.hpp"

namespace podflow::kube {

struct ClientOptions {
  double qps = 5;  // <= 0: no client-side limit
  int burst = 10;
  std::chrono::seconds request_timeout{30};  // for everything but watches
  std::string user_agent = "podflow-operator";
  // Shared with watchers and the operator's /metrics; created when null.
  std::shared_ptr<ClientMetrics> metrics;
  // How often a token_file is re-read (client-go: every minute).
  std::chrono::seconds token_refresh{60};
};

struct ListOptions {
  std::string label_selector;  // "a=b,c in (x,y)"
  std::string field_selector;  // "metadata.name=x", "spec.nodeName=n"
  std::int64_t limit = 0;      // page size; 0: the server's choice (everything)
  std::string continue_token;  // from the previous page
  // "" (default): a consistent read from etcd; "0": any (the watch cache); else "at least".
  std::string resource_version;
  std::string resource_version_match;  // "", "NotOlderThan", "Exact"
};

struct ListPage {
  std::vector<nlohmann::json> items;  // each with apiVersion and kind filled in
  std::string resource_version;       // of the list: where a watch starts
  std::string continue_token;         // empty on the last page
  std::optional<std::int64_t> remaining_item_count;
};

struct WriteOptions {
  std::string field_manager;  // recorded in managedFields; empty: the server's default
  bool dry_run = false;
};

struct ApplyOptions {
  std::string field_manager = "podflow-operator";  // required by server-side apply
  bool force = false;  // take ownership of fields other managers own (controllers do)
  bool dry_run = false;
};

enum class PropagationPolicy { server_default, background, foreground, orphan };

struct DeleteOptions {
  PropagationPolicy propagation = PropagationPolicy::server_default;
  std::optional<std::string> precondition_uid;  // delete only this incarnation of the name
  std::optional<std::string> precondition_resource_version;
  std::optional<std::int64_t> grace_period_seconds;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // start after this version (from a list or the last event)
  bool allow_bookmarks = true;
  // The server ends the watch after this long (client-go picks 5-10 min at random).
  std::chrono::seconds timeout{300};
};

struct PodLogOptions {
  std::string container;  // empty: the only container
  std::optional<std::int64_t> tail_lines;
  std::optional<std::int64_t> limit_bytes;
  bool previous = false;  // the previous (restarted) container's log
  bool timestamps = false;
};

class Client {
 public:
  // Throws ConfigError when the configuration cannot be used (e.g. a malformed certificate is
  // reported on the first request instead, as a connection_error naming TLS).
  explicit Client(KubeConfig config, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const KubeConfig& config() const { return config_; }
  ClientMetrics& metrics() { return *metrics_; }
  std::shared_ptr<ClientMetrics> shared_metrics() { return metrics_; }

  // ---- reads ----
  // The object; nullopt on 404.
  std::optional<nlohmann::json> get(const ResourceRef& resource, std::string_view namespace_,
                                    std::string_view name);
  // One page. namespace_ empty: all namespaces (or a cluster-scoped resource).
  ListPage list(const ResourceRef& resource, std::string_view namespace_,
                const ListOptions& options = {});
  // Every page, following continue tokens; options.limit is the page size (0: 500). The
  // resource_version is the first page's (a paginated list is a snapshot at that version).
  ListPage list_all(const ResourceRef& resource, std::string_view namespace_,
                    ListOptions options = {});

  // ---- writes (each returns the object as stored) ----
  nlohmann::json create(const ResourceRef& resource, std::string_view namespace_,
                        const nlohmann::json& object, const WriteOptions& options = {});
  // PUT: optimistic concurrency on metadata.resourceVersion (Conflict when stale).
  nlohmann::json replace(const ResourceRef& resource, std::string_view namespace_,
                         std::string_view name, const nlohmann::json& object,
                         const WriteOptions& options = {});
  // RFC 7386 JSON merge patch (application/merge-patch+json).
  nlohmann::json merge_patch(const ResourceRef& resource, std::string_view namespace_,
                             std::string_view name, const nlohmann::json& patch,
                             const WriteOptions& options = {});
  // Server-side apply (application/apply-patch+yaml; JSON is YAML). apiVersion, kind,
  // metadata.name and metadata.namespace are filled in from the arguments when missing.
  nlohmann::json apply(const ResourceRef& resource, std::string_view namespace_,
                       std::string_view name, const nlohmann::json& object,
                       const ApplyOptions& options = {});
  // The same three on the status subresource (/status).
  nlohmann::json replace_status(const ResourceRef& resource, std::string_view namespace_,
                                std::string_view name, const nlohmann::json& object,
                                const WriteOptions& options = {});
  nlohmann::json merge_patch_status(const ResourceRef& resource, std::string_view namespace_,
                                    std::string_view name, const nlohmann::json& patch,
                                    const WriteOptions& options = {});
  nlohmann::json apply_status(const ResourceRef& resource, std::string_view namespace_,
                              std::string_view name, const nlohmann::json& object,
                              const ApplyOptions& options = {});
  // DELETE. nullopt when there was nothing to delete (404); otherwise the server's answer: the
  // object (still there, with deletionTimestamp, under Foreground or finalizers) or a Status.
  // A failed precondition throws a Conflict.
  std::optional<nlohmann::json> remove(const ResourceRef& resource, std::string_view namespace_,
                                       std::string_view name, const DeleteOptions& options = {});

  // The text of a pod's container log (GET pods/<name>/log).
  std::string pod_log(std::string_view namespace_, std::string_view pod,
                      const PodLogOptions& options = {});

  // Streams a watch (GET ...?watch=true), calling on_event with each decoded event object
  // {"type": "ADDED|MODIFIED|DELETED|BOOKMARK", "object": {...}} in order. Returns when the
  // server ends the stream (its timeout; the caller re-watches from the last version) or when
  // `stop` is requested (the connection is closed at once). Throws KubeError when the request
  // fails, when the stream breaks (connection_error), and for an ERROR event (its Status: 410
  // Gone/Expired means re-list). Watches do not take rate-limiter tokens, as in client-go.
  void watch(const ResourceRef& resource, std::string_view namespace_, const WatchOptions& options,
             const std::function<void(const nlohmann::json& event)>& on_event,
             std::stop_token stop = {});

  // Any request, for what the typed methods do not cover. `path` starts with "/", `query` is
  // pairs of unencoded names and values. Returns the parsed JSON body (null when empty).
  nlohmann::json request(const std::string& method, const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& query = {},
                         const std::optional<nlohmann::json>& body = std::nullopt,
                         const std::string& content_type = "application/json");

 private:
  struct Response {
    int code = 0;
    std::string body;
  };
  struct Transport;

  // Sends one request and returns the answer, whatever its code; throws KubeError
  // (connection_error) when none arrived. `verb` is the metrics label.
  Response send(const std::string& verb, const std::string& method, const std::string& path,
                const std::vector<std::pair<std::string, std::string>>& query,
                const std::string* body, const std::string& content_type);
  // send(), then JSON-decodes a 2xx answer or throws error_from_response.
  nlohmann::json send_json(const std::string& verb, const std::string& method,
                           const std::string& path,
                           const std::vector<std::pair<std::string, std::string>>& query,
                           const std::optional<nlohmann::json>& body,
                           const std::string& content_type);
  nlohmann::json write(const std::string& verb, const std::string& method, const std::string& path,
                       const nlohmann::json& body, const std::string& content_type,
                       std::vector<std::pair<std::string, std::string>> query);
  std::string bearer_token();

  KubeConfig config_;
  ClientOptions options_;
  std::shared_ptr<ClientMetrics> metrics_;
  TokenBucket limiter_;
  std::unique_ptr<Transport> transport_;
  std::mutex token_mutex_;
  std::string cached_token_;
  std::chrono::steady_clock::time_point token_read_at_{};
};

}  // namespace podflow::kube
