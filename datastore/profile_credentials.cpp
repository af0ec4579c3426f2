#include "datastore/profile_credentials.hpp"

#include <set>

#include "datastore/container_credentials.hpp"
#include "datastore/instance_metadata_credentials.hpp"
#include "datastore/static_credentials.hpp"
#include "datastore/store_error.hpp"
#include "datastore/sts_client.hpp"
#include "datastore/web_identity_credentials.hpp"

namespace podflow::datastore {
namespace {

using Profile = std::map<std::string, std::string>;

std::string setting(const Profile& profile, const char* key) {
  const auto found = profile.find(key);
  return found == profile.end() ? "" : found->second;
}

// Reads a shared file: nullopt when absent, a StoreError when it was named explicitly.
std::optional<IniSections> read_profiles(const std::filesystem::path& path, bool explicit_path,
                                         const char* variable) {
  const auto text = read_small_file(path);
  if (!text) {
    if (explicit_path) {
      throw StoreError("cannot read " + path.string() + " (" + variable +
                       "): fix the path or unset " + variable);
    }
    return std::nullopt;
  }
  return parse_aws_ini(*text);
}

class ProfileResolver {
 public:
  ProfileResolver(const EnvironmentLookup& environment, SharedProfiles files)
      : environment_(environment), files_(std::move(files)) {}

  AwsCredentials resolve(const std::string& name, const Profile& profile) {
    if (!visiting_.insert(name).second) {
      throw StoreError("profile " + name + " is part of a source_profile cycle in " +
                       files_.config_path + "; break the cycle");
    }
    const std::string source = "profile " + name + " of " + describe_files();
    const std::string role_arn = setting(profile, "role_arn");
    if (role_arn.empty()) return static_keys(name, profile, source);

    AssumeRoleRequest request{role_arn, setting(profile, "role_session_name"), std::nullopt,
                              setting(profile, "external_id")};
    if (request.session_name.empty()) request.session_name = role_session_name(environment_);
    if (const std::string duration = setting(profile, "duration_seconds"); !duration.empty()) {
      try {
        request.duration_seconds = std::stoi(duration);
      } catch (const std::exception&) {
        throw StoreError(source + ": duration_seconds='" + duration + "' is not a number");
      }
    }
    const std::string region = setting(profile, "region");
    const StsEndpoint endpoint = sts_endpoint(
        environment_, region.empty() ? std::nullopt : std::optional<std::string>(region));
    const std::string role_source = source + " (role " + role_arn + ")";

    const std::string source_profile = setting(profile, "source_profile");
    const std::string token_file = setting(profile, "web_identity_token_file");
    const std::string credential_source = setting(profile, "credential_source");
    const int ways = !source_profile.empty() + !token_file.empty() + !credential_source.empty();
    if (ways != 1) {
      throw StoreError(source +
                       ": role_arn needs exactly one of source_profile, "
                       "web_identity_token_file or credential_source (it has " +
                       std::to_string(ways) + ")");
    }
    if (!token_file.empty()) {
      return assume_role_with_token_file(endpoint, request, token_file, role_source);
    }
    AwsCredentials base;
    if (!source_profile.empty()) {
      if (source_profile == name) {
        try {
          base = static_keys(name, profile, source);  // a profile may be its own source
        } catch (const NoKeys&) {
          throw StoreError(source + ": it is its own source_profile but has no keys");
        }
      } else {
        const auto parent = merged_profile(files_, source_profile);
        if (!parent) {
          throw StoreError(source + ": its source_profile " + source_profile +
                           " is in neither file; add it or fix source_profile");
        }
        try {
          base = resolve(source_profile, *parent);
        } catch (const NoKeys&) {
          throw StoreError(source + ": its source_profile " + source_profile +
                           " has no credentials (keys or a role)");
        }
      }
    } else {
      base = from_credential_source(credential_source, source);
    }
    return assume_role(endpoint, request, base, role_source);
  }

  std::string describe_files() const {
    return files_.credentials_path + " / " + files_.config_path;
  }

 private:
  AwsCredentials static_keys(const std::string& name, const Profile& profile,
                             const std::string& source) {
    const std::string id = setting(profile, "aws_access_key_id");
    const std::string secret = setting(profile, "aws_secret_access_key");
    if (id.empty() || secret.empty()) {
      if (!setting(profile, "credential_process").empty()) {
        throw StoreError(source +
                         ": credential_process is not supported by podflow; give the "
                         "profile keys or a role_arn, or use web identity");
      }
      if (!setting(profile, "sso_session").empty() || !setting(profile, "sso_start_url").empty()) {
        throw StoreError(source +
                         ": SSO profiles are not supported by podflow; use a profile "
                         "with keys or a role_arn");
      }
      if (id.empty() && secret.empty()) throw NoKeys("profile " + name + " has no credentials");
      throw StoreError("incomplete S3 credentials in " + source +
                       ": it needs aws_access_key_id and aws_secret_access_key");
    }
    return {{id, secret, setting(profile, "aws_session_token")}, source, std::nullopt};
  }

  AwsCredentials from_credential_source(const std::string& kind, const std::string& source) {
    CredentialLookup lookup;
    if (kind == "Environment") {
      lookup = credentials_from_environment(environment_);
    } else if (kind == "EcsContainer") {
      lookup = container_credentials(environment_);
    } else if (kind == "Ec2InstanceMetadata") {
      lookup = instance_metadata_credentials(environment_);
    } else {
      throw StoreError(source + ": credential_source='" + kind +
                       "' is not one of Environment, EcsContainer, Ec2InstanceMetadata");
    }
    if (!lookup.credentials) {
      throw StoreError(source + ": its credential_source " + kind + " has no credentials (" +
                       lookup.not_found + ")");
    }
    return *lookup.credentials;
  }

 public:
  // A profile without any credentials setting (only a region, say): the chain goes on.
  class NoKeys : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
  };

 private:
  const EnvironmentLookup& environment_;
  SharedProfiles files_;
  std::set<std::string> visiting_;
};

}  // namespace

std::optional<Profile> merged_profile(const SharedProfiles& files, const std::string& name) {
  std::optional<Profile> merged;
  const std::vector<std::string> config_names =
      name == "default" ? std::vector<std::string>{"default", "profile default"}
                        : std::vector<std::string>{"profile " + name};
  for (const auto& section_name : config_names) {
    if (auto section = files.config.find(section_name); section != files.config.end()) {
      if (!merged) merged.emplace();
      for (const auto& [key, value] : section->second) (*merged)[key] = value;
    }
  }
  if (auto section = files.credentials.find(name); section != files.credentials.end()) {
    if (!merged) merged.emplace();
    for (const auto& [key, value] : section->second) (*merged)[key] = value;
  }
  return merged;
}

CredentialLookup profile_credentials(const EnvironmentLookup& environment) {
  const auto credentials_variable = environment_value(environment, "AWS_SHARED_CREDENTIALS_FILE");
  const auto config_variable = environment_value(environment, "AWS_CONFIG_FILE");
  SharedProfiles files;
  files.credentials_path = credentials_variable
                               ? *credentials_variable
                               : home_file(environment, ".aws/credentials").string();
  files.config_path =
      config_variable ? *config_variable : home_file(environment, ".aws/config").string();
  const auto credentials = read_profiles(files.credentials_path, credentials_variable.has_value(),
                                         "AWS_SHARED_CREDENTIALS_FILE");
  const auto config =
      read_profiles(files.config_path, config_variable.has_value(), "AWS_CONFIG_FILE");
  if (!credentials && !config) {
    return CredentialLookup::missing("neither " + files.credentials_path + " nor " +
                                     files.config_path + " exists");
  }
  files.credentials = credentials.value_or(IniSections{});
  files.config = config.value_or(IniSections{});

  const auto profile_variable = environment_value(environment, "AWS_PROFILE");
  const std::string name = profile_variable.value_or("default");
  const auto profile = merged_profile(files, name);
  ProfileResolver resolver(environment, files);
  if (!profile) {
    if (profile_variable) {
      throw StoreError("no profile " + name + " in " + resolver.describe_files() +
                       " (AWS_PROFILE): add a [" + name + "] section to the credentials file or " +
                       "a [profile " + name + "] section to the config file, or change " +
                       "AWS_PROFILE");
    }
    return CredentialLookup::missing("no profile default in " + resolver.describe_files());
  }
  try {
    return CredentialLookup::found(resolver.resolve(name, *profile));
  } catch (const ProfileResolver::NoKeys& none) {
    return CredentialLookup::missing(std::string(none.what()) + " in " + resolver.describe_files());
  }
}

}  // namespace podflow::datastore
