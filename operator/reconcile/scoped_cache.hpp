// The operator's view of one resource in the namespaces it manages: one watch-fed cache for all
// namespaces, or one per namespace when --namespace restricts it (a namespaced Role needs
// per-namespace watches).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kube/reflector.hpp"

namespace podflow::reconcile {

class ScopedCache {
 public:
  // `namespaces` empty: every namespace.
  ScopedCache(kube::Client& client, kube::ResourceRef resource,
              const std::vector<std::string>& namespaces, kube::WatcherOptions options = {});

  void add_index(const std::string& name, kube::ObjectCache::IndexFunction function);
  void set_transform(const kube::ObjectCache::Transform& transform);
  void set_keep(const kube::ObjectCache::Keep& keep);
  void start();
  void stop();
  bool wait_synced(std::chrono::milliseconds timeout) const;
  bool synced() const;

  kube::ObjectPtr get(std::string_view key) const;
  std::vector<kube::ObjectPtr> by_index(const std::string& name, const std::string& value) const;
  std::vector<kube::ObjectPtr> list(std::string_view namespace_ = {}) const;
  std::size_t size() const;
  // The underlying caches, for Controller::watches / owns.
  std::vector<kube::ObjectCache*> caches();

 private:
  const kube::ObjectCache* cache_for(std::string_view namespace_) const;

  std::vector<std::string> namespaces_;  // parallel to reflectors_; {""} for all
  std::vector<std::unique_ptr<kube::Reflector>> reflectors_;
};

}  // namespace podflow::reconcile
