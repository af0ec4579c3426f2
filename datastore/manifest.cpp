#include "datastore/manifest.hpp"

#include <nlohmann/json.hpp>

#include "datastore/sha256.hpp"

namespace podflow::datastore {
namespace {

using nlohmann::json;

const json& required(const json& object, const std::string& field, const std::string& where) {
  const auto found = object.find(field);
  if (found == object.end()) throw ManifestError("manifest: missing field '" + where + field + "'");
  return *found;
}

std::string required_string(const json& object, const std::string& field,
                            const std::string& where = "") {
  const json& value = required(object, field, where);
  if (!value.is_string()) {
    throw ManifestError("manifest: field '" + where + field + "' must be a string");
  }
  return value.get<std::string>();
}

std::uint64_t required_unsigned(const json& object, const std::string& field,
                                const std::string& where = "") {
  const json& value = required(object, field, where);
  if (!value.is_number_unsigned()) {
    throw ManifestError("manifest: field '" + where + field + "' must be a non-negative integer");
  }
  return value.get<std::uint64_t>();
}

std::string required_sha256(const json& object, const std::string& field,
                            const std::string& where) {
  std::string text = required_string(object, field, where);
  if (!is_sha256_hex(text)) {
    throw ManifestError("manifest: field '" + where + field + "' must be 64 lowercase hex digits");
  }
  return text;
}

}  // namespace

std::string manifest_to_json(const Manifest& manifest) {
  json artifacts = json::object();
  for (const auto& [name, blob] : manifest.artifacts) {
    artifacts[name] = {{"sha256", blob.sha256}, {"size", blob.size}};
  }
  json document = {
      {"flow", manifest.id.flow},       {"run", manifest.id.run},
      {"step", manifest.id.step},       {"task", manifest.id.task},
      {"attempt", manifest.id.attempt}, {"artifacts", std::move(artifacts)},
  };
  if (manifest.foreach) {
    document["foreach"] = {{"artifact", manifest.foreach->artifact},
                           {"count", manifest.foreach->count},
                           {"index", manifest.foreach->index}};
  }
  document["startedAt"] = manifest.startedAt;
  document["finishedAt"] = manifest.finishedAt;
  document["exitCode"] = manifest.exitCode;
  // Artifact names are file names, which need not be UTF-8; never throw on them.
  return document.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

Manifest manifest_from_json(std::string_view text) {
  const json document = json::parse(text, nullptr, false);
  if (document.is_discarded()) throw ManifestError("manifest: not valid JSON");
  if (!document.is_object()) throw ManifestError("manifest: not a JSON object");
  Manifest manifest;
  manifest.id.flow = required_string(document, "flow");
  manifest.id.run = required_string(document, "run");
  manifest.id.step = required_string(document, "step");
  manifest.id.task = required_string(document, "task");
  manifest.id.attempt = static_cast<std::int64_t>(required_unsigned(document, "attempt"));
  const json& artifacts = required(document, "artifacts", "");
  if (!artifacts.is_object()) throw ManifestError("manifest: field 'artifacts' must be an object");
  for (const auto& [name, blob] : artifacts.items()) {
    const std::string where = "artifacts." + name + ".";
    if (!blob.is_object()) {
      throw ManifestError("manifest: field 'artifacts." + name + "' must be an object");
    }
    manifest.artifacts[name] = {required_sha256(blob, "sha256", where),
                                required_unsigned(blob, "size", where)};
  }
  if (const auto foreach = document.find("foreach"); foreach != document.end()) {
    if (!foreach->is_object()) throw ManifestError("manifest: field 'foreach' must be an object");
    manifest.foreach = ForeachIndex{required_string(*foreach, "artifact", "foreach."),
                                    required_unsigned(*foreach, "count", "foreach."),
                                    required_sha256(*foreach, "index", "foreach.")};
  }
  manifest.startedAt = required_string(document, "startedAt");
  manifest.finishedAt = required_string(document, "finishedAt");
  const json& exit_code = required(document, "exitCode", "");
  if (!exit_code.is_number_integer()) {
    throw ManifestError("manifest: field 'exitCode' must be an integer");
  }
  manifest.exitCode = exit_code.get<int>();
  return manifest;
}

}  // namespace podflow::datastore
