// Container credentials, as ECS tasks and the EKS Pod Identity agent serve them: a GET of
// AWS_CONTAINER_CREDENTIALS_FULL_URI (or http://169.254.170.2 + AWS_CONTAINER_CREDENTIALS_
// RELATIVE_URI) with the Authorization header from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read
// at every fetch: the agent rotates it) or AWS_CONTAINER_AUTHORIZATION_TOKEN, answering JSON
// {AccessKeyId, SecretAccessKey, Token, Expiration}. A plain-http full URI must point at a
// loopback address or one of the agents' link-local addresses, so a token is never sent across a
// network in clear.
#pragma once

#include "datastore/credential_source.hpp"

namespace podflow::datastore {

CredentialLookup container_credentials(const EnvironmentLookup& environment);

// Exposed for tests: may a plain-http container endpoint live on this host?
bool is_allowed_container_http_host(const std::string& host);

// {AccessKeyId, SecretAccessKey, Token, Expiration} (IMDS's answer has the same fields); throws
// StoreError naming `what` when a field is missing.
AwsCredentials credentials_from_json(const std::string& body, const std::string& what,
                                     const std::string& source);

}  // namespace podflow::datastore
