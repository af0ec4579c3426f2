// Which kind of object a request is about, and the key of one object.
//
// The client is typed by ResourceRef rather than by C++ types: objects are nlohmann::json, so a
// custom resource needs no generated code, only its group, version and plural.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace podflow::kube {

struct ResourceRef {
  std::string group;    // "" for the core group ("v1" objects)
  std::string version;  // "v1", "v1alpha1"
  std::string plural;   // "configmaps", "flowruns"
  bool namespaced = true;
  std::string kind;  // "ConfigMap": for messages and for owner references; may be empty

  // "v1" for the core group, "<group>/<version>" otherwise: an object's apiVersion.
  std::string api_version() const;
  // "/api/v1/namespaces/<ns>/configmaps", "/apis/podflow.dev/v1alpha1/flowruns" (namespace_
  // empty: across all namespaces, or a cluster-scoped resource).
  std::string collection_path(std::string_view namespace_) const;
  // collection_path + "/<name>".
  std::string object_path(std::string_view namespace_, std::string_view name) const;
  // "configmaps" or "leases.coordination.k8s.io", as kubectl names it.
  std::string describe() const;
};

// The built-in kinds the operator and its tests use.
namespace resources {
ResourceRef config_maps();
ResourceRef pods();
ResourceRef events();
ResourceRef namespaces();
ResourceRef leases();
ResourceRef secrets();
ResourceRef service_accounts();
}  // namespace resources

// The cache and work-queue key of an object: "<namespace>/<name>", or "<name>" for a
// cluster-scoped object (client-go's MetaNamespaceKeyFunc).
std::string make_key(std::string_view namespace_, std::string_view name);
std::string object_key(const nlohmann::json& object);
// The inverse of make_key: {namespace, name}; namespace empty for a key without '/'.
std::pair<std::string, std::string> split_key(std::string_view key);

// Small accessors for the fields every object has; "" when absent.
std::string name_of(const nlohmann::json& object);
std::string namespace_of(const nlohmann::json& object);
std::string uid_of(const nlohmann::json& object);
std::string resource_version_of(const nlohmann::json& object);

// An ownerReference pointing at `owner` (apiVersion, kind, name, uid), with controller: true and
// blockOwnerDeletion: true as controllers set them, so Foreground deletion waits for the child.
nlohmann::json controller_reference(const nlohmann::json& owner);

}  // namespace podflow::kube
