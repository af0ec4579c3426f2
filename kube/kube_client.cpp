#include "kube/kube_client.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <cpprest/uri_builder.h>
#include <boost/asio/ssl.hpp>

#include "kube/kube_log.hpp"

namespace podflow::kube {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;
namespace http = web::http;

http::client::http_client_config transport_config(const KubeConfig& config,
                                                  std::chrono::seconds timeout) {
  http::client::http_client_config settings;
  settings.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  settings.set_validate_certificates(!config.insecure_skip_tls_verify);
  auto ca = config.ca_pem;
  auto certificate = config.client_certificate_pem;
  auto key = config.client_key_pem;
  settings.set_ssl_context_callback([ca, certificate, key](boost::asio::ssl::context& context) {
    if (!ca.empty()) context.add_certificate_authority(boost::asio::buffer(ca));
    if (!certificate.empty()) {
      context.use_certificate_chain(boost::asio::buffer(certificate));
      context.use_private_key(boost::asio::buffer(key), boost::asio::ssl::context::pem);
    }
  });
  return settings;
}

http::method method_of(const std::string& method) {
  if (method == "GET") return http::methods::GET;
  if (method == "POST") return http::methods::POST;
  if (method == "PUT") return http::methods::PUT;
  if (method == "PATCH") return http::methods::PATCH;
  if (method == "DELETE") return http::methods::DEL;
  return method;
}

std::string uri_of(const std::string& path, const Query& query) {
  web::uri_builder builder(path);
  for (const auto& [name, value] : query) builder.append_query(name, value, true);
  return builder.to_string();
}

void fill_identity(nlohmann::json& object, const ResourceRef& resource, std::string_view namespace_,
                   std::string_view name) {
  if (!object.contains("apiVersion")) object["apiVersion"] = resource.api_version();
  if (!object.contains("kind") && !resource.kind.empty()) object["kind"] = resource.kind;
  auto& metadata = object["metadata"];
  if (!name.empty() && !metadata.contains("name")) metadata["name"] = std::string(name);
  if (resource.namespaced && !namespace_.empty() && !metadata.contains("namespace")) {
    metadata["namespace"] = std::string(namespace_);
  }
}

Query write_query(const WriteOptions& options) {
  Query query;
  if (!options.field_manager.empty()) query.emplace_back("fieldManager", options.field_manager);
  if (options.dry_run) query.emplace_back("dryRun", "All");
  return query;
}

Query apply_query(const ApplyOptions& options) {
  Query query{{"fieldManager", options.field_manager}};
  if (options.force) query.emplace_back("force", "true");
  if (options.dry_run) query.emplace_back("dryRun", "All");
  return query;
}

constexpr const char* kMergePatch = "application/merge-patch+json";
constexpr const char* kApplyPatch = "application/apply-patch+yaml";

}  // namespace

struct Client::Transport {
  Transport(const KubeConfig& config, std::chrono::seconds timeout)
      : client(config.server, transport_config(config, timeout)) {}
  http::client::http_client client;
};

Client::Client(KubeConfig config, ClientOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      metrics_(options_.metrics ? options_.metrics : std::make_shared<ClientMetrics>()),
      limiter_(options_.qps, options_.burst) {
  if (config_.server.empty()) throw ConfigError(config_.source + ": no server");
  try {
    transport_ = std::make_unique<Transport>(config_, options_.request_timeout);
  } catch (const std::exception& error) {
    throw ConfigError(config_.source + ": cannot use server \"" + config_.server +
                      "\": " + error.what());
  }
}

Client::~Client() = default;

std::string Client::bearer_token() {
  if (config_.token_file.empty()) return config_.token;
  std::lock_guard lock(token_mutex_);
  auto now = std::chrono::steady_clock::now();
  if (cached_token_.empty() || now - token_read_at_ >= options_.token_refresh) {
    std::ifstream in(config_.token_file);
    std::ostringstream text;
    text << in.rdbuf();
    std::string token = text.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    if (in && !token.empty()) {
      cached_token_ = token;
      token_read_at_ = now;
    } else if (cached_token_.empty()) {
      log(LogLevel::error, "cannot read the token file " + config_.token_file.string());
    }
  }
  return cached_token_;
}

Client::Response Client::send(const std::string& verb, const std::string& method,
                              const std::string& path, const Query& query, const std::string* body,
                              const std::string& content_type) {
  auto waited = limiter_.wait();
  metrics_->rate_limiter_wait_seconds.observe(std::chrono::duration<double>(waited).count());

  http::http_request request(method_of(method));
  request.set_request_uri(uri_of(path, query));
  request.headers().add("Accept", "application/json");
  request.headers().add("User-Agent", options_.user_agent);
  if (auto token = bearer_token(); !token.empty()) {
    request.headers().add("Authorization", "Bearer " + token);
  }
  if (body) request.set_body(*body, content_type);

  auto started = std::chrono::steady_clock::now();
  Response response;
  try {
    auto answer = transport_->client.request(request).get();
    response.code = answer.status_code();
    response.body = answer.extract_utf8string(true).get();
  } catch (const std::exception& error) {
    metrics_->requests.add({verb, "0"});
    throw connection_error(error.what(), verb, path);
  }
  metrics_->request_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  metrics_->requests.add({verb, std::to_string(response.code)});
  return response;
}

nlohmann::json Client::send_json(const std::string& verb, const std::string& method,
                                 const std::string& path, const Query& query,
                                 const std::optional<nlohmann::json>& body,
                                 const std::string& content_type) {
  std::string text;
  if (body) text = body->dump();
  auto response = send(verb, method, path, query, body ? &text : nullptr, content_type);
  if (response.code < 200 || response.code > 299) {
    throw error_from_response(response.code, response.body, verb, path);
  }
  if (response.body.empty()) return nullptr;
  auto parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (parsed.is_discarded()) {
    throw connection_error("the answer is not JSON: " + response.body.substr(0, 200), verb, path);
  }
  return parsed;
}

nlohmann::json Client::request(const std::string& method, const std::string& path,
                               const Query& query, const std::optional<nlohmann::json>& body,
                               const std::string& content_type) {
  return send_json(method, method, path, query, body, content_type);
}

std::optional<nlohmann::json> Client::get(const ResourceRef& resource, std::string_view namespace_,
                                          std::string_view name) {
  try {
    return send_json("GET", "GET", resource.object_path(namespace_, name), {}, std::nullopt,
                     "application/json");
  } catch (const KubeError& error) {
    if (error.code() == 404) return std::nullopt;
    throw;
  }
}

ListPage Client::list(const ResourceRef& resource, std::string_view namespace_,
                      const ListOptions& options) {
  Query query;
  if (!options.label_selector.empty()) query.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) query.emplace_back("fieldSelector", options.field_selector);
  if (options.limit > 0) query.emplace_back("limit", std::to_string(options.limit));
  if (!options.continue_token.empty()) query.emplace_back("continue", options.continue_token);
  if (!options.resource_version.empty()) {
    query.emplace_back("resourceVersion", options.resource_version);
  }
  if (!options.resource_version_match.empty()) {
    query.emplace_back("resourceVersionMatch", options.resource_version_match);
  }
  auto answer = send_json("LIST", "GET", resource.collection_path(namespace_), query, std::nullopt,
                          "application/json");
  ListPage page;
  const auto& metadata = answer["metadata"];
  if (metadata.is_object()) {
    page.resource_version = metadata.value("resourceVersion", "");
    page.continue_token = metadata.value("continue", "");
    if (metadata.contains("remainingItemCount") && metadata["remainingItemCount"].is_number()) {
      page.remaining_item_count = metadata["remainingItemCount"].get<std::int64_t>();
    }
  }
  if (answer.contains("items") && answer["items"].is_array()) {
    page.items.reserve(answer["items"].size());
    for (auto& item : answer["items"]) {
      // List items come without apiVersion and kind; fill them so an item looks like a get.
      if (!item.contains("apiVersion")) item["apiVersion"] = resource.api_version();
      if (!item.contains("kind") && !resource.kind.empty()) item["kind"] = resource.kind;
      page.items.push_back(std::move(item));
    }
  }
  return page;
}

ListPage Client::list_all(const ResourceRef& resource, std::string_view namespace_,
                          ListOptions options) {
  if (options.limit <= 0) options.limit = 500;
  options.continue_token.clear();
  ListPage all = list(resource, namespace_, options);
  auto token = all.continue_token;
  while (!token.empty()) {
    ListOptions next = options;
    next.continue_token = token;
    next.resource_version.clear();  // the continue token carries the version
    next.resource_version_match.clear();
    auto page = list(resource, namespace_, next);
    for (auto& item : page.items) all.items.push_back(std::move(item));
    token = page.continue_token;
  }
  all.continue_token.clear();
  all.remaining_item_count.reset();
  return all;
}

nlohmann::json Client::write(const std::string& verb, const std::string& method,
                             const std::string& path, const nlohmann::json& body,
                             const std::string& content_type, Query query) {
  return send_json(verb, method, path, query, body, content_type);
}

nlohmann::json Client::create(const ResourceRef& resource, std::string_view namespace_,
                              const nlohmann::json& object, const WriteOptions& options) {
  auto body = object;
  fill_identity(body, resource, namespace_, "");
  return write("CREATE", "POST", resource.collection_path(namespace_), body, "application/json",
               write_query(options));
}

nlohmann::json Client::replace(const ResourceRef& resource, std::string_view namespace_,
                               std::string_view name, const nlohmann::json& object,
                               const WriteOptions& options) {
  auto body = object;
  fill_identity(body, resource, namespace_, name);
  return write("UPDATE", "PUT", resource.object_path(namespace_, name), body, "application/json",
               write_query(options));
}

nlohmann::json Client::merge_patch(const ResourceRef& resource, std::string_view namespace_,
                                   std::string_view name, const nlohmann::json& patch,
                                   const WriteOptions& options) {
  return write("PATCH", "PATCH", resource.object_path(namespace_, name), patch, kMergePatch,
               write_query(options));
}

nlohmann::json Client::apply(const ResourceRef& resource, std::string_view namespace_,
                             std::string_view name, const nlohmann::json& object,
                             const ApplyOptions& options) {
  auto body = object;
  fill_identity(body, resource, namespace_, name);
  return write("APPLY", "PATCH", resource.object_path(namespace_, name), body, kApplyPatch,
               apply_query(options));
}

nlohmann::json Client::replace_status(const ResourceRef& resource, std::string_view namespace_,
                                      std::string_view name, const nlohmann::json& object,
                                      const WriteOptions& options) {
  auto body = object;
  fill_identity(body, resource, namespace_, name);
  return write("UPDATE", "PUT", resource.object_path(namespace_, name) + "/status", body,
               "application/json", write_query(options));
}

nlohmann::json Client::merge_patch_status(const ResourceRef& resource, std::string_view namespace_,
                                          std::string_view name, const nlohmann::json& patch,
                                          const WriteOptions& options) {
  return write("PATCH", "PATCH", resource.object_path(namespace_, name) + "/status", patch,
               kMergePatch, write_query(options));
}

nlohmann::json Client::apply_status(const ResourceRef& resource, std::string_view namespace_,
                                    std::string_view name, const nlohmann::json& object,
                                    const ApplyOptions& options) {
  auto body = object;
  fill_identity(body, resource, namespace_, name);
  return write("APPLY", "PATCH", resource.object_path(namespace_, name) + "/status", body,
               kApplyPatch, apply_query(options));
}

std::optional<nlohmann::json> Client::remove(const ResourceRef& resource,
                                             std::string_view namespace_, std::string_view name,
                                             const DeleteOptions& options) {
  nlohmann::json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  switch (options.propagation) {
    case PropagationPolicy::server_default:
      break;
    case PropagationPolicy::background:
      body["propagationPolicy"] = "Background";
      break;
    case PropagationPolicy::foreground:
      body["propagationPolicy"] = "Foreground";
      break;
    case PropagationPolicy::orphan:
      body["propagationPolicy"] = "Orphan";
      break;
  }
  if (options.precondition_uid) body["preconditions"]["uid"] = *options.precondition_uid;
  if (options.precondition_resource_version) {
    body["preconditions"]["resourceVersion"] = *options.precondition_resource_version;
  }
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  try {
    return send_json("DELETE", "DELETE", resource.object_path(namespace_, name), {}, body,
                     "application/json");
  } catch (const KubeError& error) {
    if (error.code() == 404) return std::nullopt;
    throw;
  }
}

std::string Client::pod_log(std::string_view namespace_, std::string_view pod,
                            const PodLogOptions& options) {
  Query query;
  if (!options.container.empty()) query.emplace_back("container", options.container);
  if (options.tail_lines) query.emplace_back("tailLines", std::to_string(*options.tail_lines));
  if (options.limit_bytes) query.emplace_back("limitBytes", std::to_string(*options.limit_bytes));
  if (options.previous) query.emplace_back("previous", "true");
  if (options.timestamps) query.emplace_back("timestamps", "true");
  auto path = resources::pods().object_path(namespace_, pod) + "/log";
  auto response = send("LOG", "GET", path, query, nullptr, "");
  if (response.code < 200 || response.code > 299) {
    throw error_from_response(response.code, response.body, "LOG", path);
  }
  return response.body;
}

void Client::watch(const ResourceRef& resource, std::string_view namespace_,
                   const WatchOptions& options,
                   const std::function<void(const nlohmann::json& event)>& on_event,
                   std::stop_token stop) {
  Query query{{"watch", "true"}};
  if (!options.label_selector.empty()) query.emplace_back("labelSelector", options.label_selector);
  if (!options.field_selector.empty()) query.emplace_back("fieldSelector", options.field_selector);
  if (!options.resource_version.empty()) {
    query.emplace_back("resourceVersion", options.resource_version);
  }
  if (options.allow_bookmarks) query.emplace_back("allowWatchBookmarks", "true");
  query.emplace_back("timeoutSeconds", std::to_string(options.timeout.count()));
  const std::string path = resource.collection_path(namespace_);
  const std::string verb = "WATCH";
  if (stop.stop_requested()) return;

  // A connection of its own, with a transport timeout beyond the server's, so a watch never
  // holds one of the shared connections.
  http::client::http_client client(
      config_.server, transport_config(config_, options.timeout + std::chrono::seconds(60)));
  http::http_request request(http::methods::GET);
  request.set_request_uri(uri_of(path, query));
  request.headers().add("Accept", "application/json");
  request.headers().add("User-Agent", options_.user_agent);
  if (auto token = bearer_token(); !token.empty()) {
    request.headers().add("Authorization", "Bearer " + token);
  }

  pplx::cancellation_token_source cancel;
  std::stop_callback on_stop(stop, [&cancel] { cancel.cancel(); });

  http::http_response response;
  try {
    response = client.request(request, cancel.get_token()).get();
  } catch (const std::exception& error) {
    if (stop.stop_requested()) return;
    metrics_->requests.add({verb, "0"});
    throw connection_error(error.what(), verb, path);
  }
  metrics_->requests.add({verb, std::to_string(response.status_code())});
  if (response.status_code() != 200) {
    std::string body;
    try {
      body = response.extract_utf8string(true).get();
    } catch (const std::exception&) {
    }
    throw error_from_response(response.status_code(), body, verb, path);
  }

  // One event per line. Read what has arrived in one call and split it here: istream::read_line
  // takes the buffer's lock once per byte (~10-15% of the operator's CPU at 20 pods a second).
  auto body = response.body().streambuf();
  std::string pending;
  std::vector<std::uint8_t> chunk(64 * 1024);
  const auto handle = [&](std::string_view text) {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.empty()) return;
    auto event = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (event.is_discarded() || !event.is_object()) {
      throw connection_error("watch stream: not a JSON event: " + std::string(text.substr(0, 200)),
                             verb, path);
    }
    if (event.value("type", "") == "ERROR") {
      const auto& status = event["object"];
      int code = status.is_object() ? status.value("code", 500) : 500;
      throw error_from_response(code, status.dump(), verb, path);
    }
    on_event(event);
  };
  for (;;) {
    if (stop.stop_requested()) return;
    // What is there, at least one byte: asking for more would wait for more.
    const std::size_t want =
        std::clamp<std::size_t>(static_cast<std::size_t>(body.in_avail()), 1, chunk.size());
    std::size_t got = 0;
    try {
      got = body.getn(chunk.data(), want).get();
    } catch (const std::exception& error) {
      if (stop.stop_requested()) return;
      throw connection_error(std::string("watch stream broken: ") + error.what(), verb, path);
    }
    if (stop.stop_requested()) return;
    if (got == 0) {
      if (!body.is_eof()) continue;
      handle(pending);  // the server ended the watch
      return;
    }
    pending.append(reinterpret_cast<const char*>(chunk.data()), got);
    std::size_t start = 0;
    for (std::size_t end; (end = pending.find('\n', start)) != std::string::npos; start = end + 1) {
      handle(std::string_view(pending).substr(start, end - start));
      if (stop.stop_requested()) return;
    }
    pending.erase(0, start);
  }
}

}  // namespace podflow::kube
