#include "datastore/static_credentials.hpp"

#include "datastore/store_error.hpp"

namespace podflow::datastore {

CredentialLookup credentials_from_directory(const EnvironmentLookup& environment) {
  const auto directory = environment_value(environment, "PODFLOW_S3_CREDENTIALS_DIR");
  if (!directory) return CredentialLookup::missing("PODFLOW_S3_CREDENTIALS_DIR is not set");
  const std::filesystem::path root(*directory);
  const std::string source = "files in " + root.string() + " (PODFLOW_S3_CREDENTIALS_DIR)";
  const auto key_file = [&](const char* name) -> std::optional<std::string> {
    auto text = read_small_file(root / name);
    if (!text) return std::nullopt;
    return trim_whitespace(*text);
  };
  const auto id = key_file("AWS_ACCESS_KEY_ID");
  const auto secret = key_file("AWS_SECRET_ACCESS_KEY");
  if (!id || id->empty() || !secret || secret->empty()) {
    throw StoreError("no S3 credentials in " + source + ": it needs non-empty files " +
                     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (mount the Secret's keys " +
                     "there, or unset PODFLOW_S3_CREDENTIALS_DIR)");
  }
  return CredentialLookup::found(
      {{*id, *secret, key_file("AWS_SESSION_TOKEN").value_or("")}, source, std::nullopt});
}

CredentialLookup credentials_from_environment(const EnvironmentLookup& environment) {
  const auto id = environment_value(environment, "AWS_ACCESS_KEY_ID");
  const auto secret = environment_value(environment, "AWS_SECRET_ACCESS_KEY");
  if (!id && !secret) return CredentialLookup::missing("AWS_ACCESS_KEY_ID is not set");
  if (!id || !secret) {
    throw StoreError(std::string("incomplete S3 credentials in the environment: ") +
                     (id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
                     " is not set; set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  return CredentialLookup::found(
      {{*id, *secret, environment_value(environment, "AWS_SESSION_TOKEN").value_or("")},
       "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
       std::nullopt});
}

}  // namespace podflow::datastore
