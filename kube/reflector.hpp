// A Watcher feeding an ObjectCache: the usual way to get a cache of one kind (client-go's
// informer, kube-rs `reflector(store, watcher(...))`).
//
//   WatcherOptions options;
//   options.label_selector = "podflow.dev/run";
//   Reflector pods(client, resources::pods(), "podflow-runs", options);
//   pods.cache().add_index("owner", owner_uid_index);
//   pods.start();
//   pods.cache().wait_synced(std::chrono::seconds(30));
#pragma once

#include <string>

#include "kube/object_cache.hpp"
#include "kube/watcher.hpp"

namespace podflow::kube {

class Reflector {
 public:
  Reflector(Client& client, ResourceRef resource, std::string namespace_,
            WatcherOptions options = {})
      : watcher_(
            client, std::move(resource), std::move(namespace_),
            [this](const WatchEvent& event) { cache_.apply(event); }, std::move(options)) {}

  ObjectCache& cache() { return cache_; }
  const ObjectCache& cache() const { return cache_; }
  Watcher& watcher() { return watcher_; }
  void start() { watcher_.start(); }
  void stop() { watcher_.stop(); }

 private:
  ObjectCache cache_;  // declared first: the watcher's thread feeds it until stopped
  Watcher watcher_;
};

}  // namespace podflow::kube
