#include "kube/resource.hpp"

namespace podflow::kube {

std::string ResourceRef::api_version() const {
  return group.empty() ? version : group + "/" + version;
}

std::string ResourceRef::collection_path(std::string_view namespace_) const {
  std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !namespace_.empty()) {
    path += "/namespaces/";
    path += namespace_;
  }
  path += "/" + plural;
  return path;
}

std::string ResourceRef::object_path(std::string_view namespace_, std::string_view name) const {
  return collection_path(namespace_) + "/" + std::string(name);
}

std::string ResourceRef::describe() const {
  return group.empty() ? plural : plural + "." + group;
}

namespace resources {
ResourceRef config_maps() {
  return {"", "v1", "configmaps", true, "ConfigMap"};
}
ResourceRef pods() {
  return {"", "v1", "pods", true, "Pod"};
}
ResourceRef events() {
  return {"", "v1", "events", true, "Event"};
}
ResourceRef namespaces() {
  return {"", "v1", "namespaces", false, "Namespace"};
}
ResourceRef leases() {
  return {"coordination.k8s.io", "v1", "leases", true, "Lease"};
}
ResourceRef secrets() {
  return {"", "v1", "secrets", true, "Secret"};
}
ResourceRef service_accounts() {
  return {"", "v1", "serviceaccounts", true, "ServiceAccount"};
}
}  // namespace resources

std::string make_key(std::string_view namespace_, std::string_view name) {
  if (namespace_.empty()) return std::string(name);
  std::string key(namespace_);
  key += '/';
  key += name;
  return key;
}

std::string object_key(const nlohmann::json& object) {
  return make_key(namespace_of(object), name_of(object));
}

std::pair<std::string, std::string> split_key(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

namespace {
std::string metadata_field(const nlohmann::json& object, const char* field) {
  if (!object.is_object()) return "";
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  auto value = metadata->find(field);
  if (value == metadata->end() || !value->is_string()) return "";
  return value->get<std::string>();
}
}  // namespace

std::string name_of(const nlohmann::json& object) {
  return metadata_field(object, "name");
}
std::string namespace_of(const nlohmann::json& object) {
  return metadata_field(object, "namespace");
}
std::string uid_of(const nlohmann::json& object) {
  return metadata_field(object, "uid");
}
std::string resource_version_of(const nlohmann::json& object) {
  return metadata_field(object, "resourceVersion");
}

nlohmann::json controller_reference(const nlohmann::json& owner) {
  return {{"apiVersion", owner.value("apiVersion", "")},
          {"kind", owner.value("kind", "")},
          {"name", name_of(owner)},
          {"uid", uid_of(owner)},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

}  // namespace podflow::kube
