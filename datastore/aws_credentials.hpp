// Where the S3 store's keys come from, in this order:
//   1. PODFLOW_S3_CREDENTIALS_DIR: a directory of files named AWS_ACCESS_KEY_ID,
//      AWS_SECRET_ACCESS_KEY and optionally AWS_SESSION_TOKEN (a Kubernetes Secret mounted as a
//      volume); when the variable is set, the files must be there.
//   2. The environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
//   3. The shared credentials file: AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile
//      AWS_PROFILE or "default" (aws_access_key_id, aws_secret_access_key, aws_session_token).
// The secret never appears in a message, a log or a description: only its source and the key id.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "datastore/sigv4.hpp"

namespace podflow::datastore {

// Reads one environment variable; tests substitute a map.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvironmentLookup process_environment();
EnvironmentLookup environment_from(std::map<std::string, std::string> variables);

struct AwsCredentials {
  SigningCredentials keys;
  // For messages: "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
  // "files in /var/run/secrets/s3 (PODFLOW_S3_CREDENTIALS_DIR)", "profile default of
  // /root/.aws/credentials".
  std::string source;
};

// Throws StoreError saying where it looked when no complete pair of keys is found.
AwsCredentials resolve_aws_credentials(const EnvironmentLookup& environment);

// The sections of an AWS-style INI file (credentials or config): section -> key -> value.
// Section headers keep their text ("default", "profile dev"). Comments start with '#' or ';'.
using IniSections = std::map<std::string, std::map<std::string, std::string>>;
IniSections parse_aws_ini(const std::string& text);

// The region of the profile in the shared config file (AWS_CONFIG_FILE or ~/.aws/config),
// if it names one.
std::optional<std::string> shared_config_region(const EnvironmentLookup& environment);

}  // namespace podflow::datastore
