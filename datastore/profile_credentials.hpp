// The shared credentials and config files (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
// AWS_CONFIG_FILE or ~/.aws/config), profile AWS_PROFILE or "default". A profile's settings are
// those of its config section ([profile NAME], [default]) overlaid by its credentials section
// ([NAME]). A profile gives:
//   - role_arn + source_profile: the source profile's credentials (static keys, or its own role),
//     then STS AssumeRole with them (external_id, role_session_name, duration_seconds honoured);
//   - role_arn + web_identity_token_file: STS AssumeRoleWithWebIdentity with that token;
//   - role_arn + credential_source (Environment, EcsContainer, Ec2InstanceMetadata): that
//     source's credentials, then AssumeRole;
//   - aws_access_key_id + aws_secret_access_key (+ aws_session_token): those keys.
// credential_process and SSO profiles are refused with a message saying so.
#pragma once

#include "datastore/credential_source.hpp"

namespace podflow::datastore {

CredentialLookup profile_credentials(const EnvironmentLookup& environment);

// One profile's merged settings (config file first, credentials file over it), or nullopt when
// neither file has it. Exposed for tests.
struct SharedProfiles {
  IniSections config;       // as parsed
  IniSections credentials;  // as parsed
  std::string config_path;
  std::string credentials_path;
};
std::optional<std::map<std::string, std::string>> merged_profile(const SharedProfiles& files,
                                                                 const std::string& name);

}  // namespace podflow::datastore
