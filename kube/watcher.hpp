// The list+watch state machine (kube-rs `watcher`, client-go's Reflector.ListAndWatch).
//
// On its own thread: list every object (paginated), hand the full set over as one `restarted`
// event, then watch from the list's resourceVersion with bookmarks. When the stream ends (the
// server's timeout) it watches again from the last version seen; when it breaks (the API server
// went away, a 5xx) it waits with capped, jittered exponential backoff and watches again; when
// the server says the version is too old (410 Gone / Expired) it lists again and emits another
// `restarted` event, so a cache replaces its contents instead of missing deletes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/kube_client.hpp"
#include "kube/resource.hpp"

namespace podflow::kube {

struct WatchEvent {
  enum class Type { added, modified, deleted, bookmark, restarted };
  Type type = Type::added;
  nlohmann::json object;                // added, modified, deleted, bookmark (metadata only)
  std::vector<nlohmann::json> objects;  // restarted: every object that exists now
  std::string resource_version;         // the version this event brings the watcher to
};

std::string_view type_name(WatchEvent::Type type);  // "added", ..., "restarted"

struct WatcherOptions {
  std::string label_selector;
  std::string field_selector;
  std::int64_t page_size = 500;
  std::chrono::milliseconds backoff_initial{800};  // kube-rs: 0.8 s doubling to 30 s
  std::chrono::milliseconds backoff_max{30000};
  // Each watch request asks the server to end it after a random time in [min, 2*min]
  // (client-go: 5-10 min), spreading reconnects of many watchers.
  std::chrono::seconds watch_timeout_min{300};
  // Skip the initial list and watch from this version (resuming from a version stored
  // elsewhere). If it is too old, the 410 answer leads to a list as usual.
  std::string start_resource_version;
};

class Watcher {
 public:
  // Called on the watcher's thread, in order. An exception from it is logged and ignored.
  using Handler = std::function<void(const WatchEvent& event)>;

  // `namespace_` empty: all namespaces. Nothing happens until start().
  Watcher(Client& client, ResourceRef resource, std::string namespace_, Handler handler,
          WatcherOptions options = {});
  ~Watcher();  // stop()
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  void start();
  // Closes the connection and joins the thread; prompt (no waiting for the server). Idempotent.
  void stop();

  // The last resourceVersion seen (list, event or bookmark); "" before the first list.
  std::string resource_version() const;
  std::uint64_t lists() const;    // complete lists done (1 after the initial one)
  std::uint64_t watches() const;  // watch requests started
  std::uint64_t bookmarks() const;

 private:
  void run(std::stop_token stop);
  bool list_everything(std::stop_token stop);
  // Sleeps up to `duration`; false when stopped meanwhile.
  bool sleep_for(std::stop_token stop, std::chrono::milliseconds duration);
  void deliver(const WatchEvent& event);
  void set_resource_version(const std::string& version);

  Client& client_;
  ResourceRef resource_;
  std::string namespace_;
  Handler handler_;
  WatcherOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  std::string resource_version_;
  std::uint64_t lists_ = 0, watches_ = 0, bookmarks_ = 0;
  std::jthread thread_;
};

}  // namespace podflow::kube
