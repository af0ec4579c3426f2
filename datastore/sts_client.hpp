// The two STS calls a credential chain makes: AssumeRoleWithWebIdentity (unsigned: the token is
// the proof) and AssumeRole (signed with the source credentials), over the Query API (POST, form
// body, XML answer), as documented in the AWS STS API reference. Any STS-compatible server works
// (MinIO's STS in the tests): AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL, else AWS's regional
// endpoint.
#pragma once

#include <optional>
#include <string>

#include "datastore/aws_credentials.hpp"

namespace podflow::datastore {

struct StsEndpoint {
  std::string url;     // "https://sts.eu-west-1.amazonaws.com", "http://127.0.0.1:28210"
  std::string origin;  // for messages: "AWS_ENDPOINT_URL_STS", "the default for region eu-west-1"
  std::string region;  // signs AssumeRole
  std::string ca_bundle;
};
// `region`: the profile's, when a profile names one; otherwise AWS_REGION, AWS_DEFAULT_REGION,
// the shared config's, us-east-1.
StsEndpoint sts_endpoint(const EnvironmentLookup& environment,
                         const std::optional<std::string>& region = std::nullopt);

struct AssumeRoleRequest {
  std::string role_arn;
  std::string session_name;
  std::optional<int> duration_seconds;  // STS's default (1 h) when unset
  std::string external_id;              // AssumeRole only; "" when none
};

// Throws StoreError naming the endpoint, the role and STS's error code and message, with the
// usual fix; never the token.
AwsCredentials assume_role_with_web_identity(const StsEndpoint& endpoint,
                                             const AssumeRoleRequest& request,
                                             const std::string& web_identity_token,
                                             const std::string& source);
AwsCredentials assume_role(const StsEndpoint& endpoint, const AssumeRoleRequest& request,
                           const AwsCredentials& source_credentials, const std::string& source);

// AWS_ROLE_SESSION_NAME, else "podflow-<seconds since the epoch>".
std::string role_session_name(const EnvironmentLookup& environment);

}  // namespace podflow::datastore
