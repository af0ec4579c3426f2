// IRSA and its kin: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (a projected service-account
// token, which the kubelet rotates) exchanged at STS with AssumeRoleWithWebIdentity for
// temporary credentials. The file is read again at every refresh, so a rotated token is used.
#pragma once

#include <optional>

#include "datastore/credential_source.hpp"
#include "datastore/sts_client.hpp"

namespace podflow::datastore {

CredentialLookup web_identity_credentials(const EnvironmentLookup& environment);

// The exchange itself, shared with profiles that name web_identity_token_file.
AwsCredentials assume_role_with_token_file(const StsEndpoint& endpoint,
                                           const AssumeRoleRequest& request,
                                           const std::filesystem::path& token_file,
                                           const std::string& source);

}  // namespace podflow::datastore
