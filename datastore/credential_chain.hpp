// Where the S3 store's credentials come from: the AWS SDKs' default chain, in their order, after
// podflow's own mounted-Secret directory:
//   1. PODFLOW_S3_CREDENTIALS_DIR        static_credentials.hpp
//   2. the environment (AWS_ACCESS_KEY_ID, ...)
//   3. web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE: IRSA)   web_identity_credentials
//   4. the shared config and credentials files, profile AWS_PROFILE       profile_credentials
//   5. container credentials (ECS, EKS Pod Identity)                      container_credentials
//   6. the EC2 instance role through IMDSv2                               instance_metadata_...
// The first source that is configured answers; one that is configured but fails stops the chain
// with its error. When none is configured, the error lists every source and why it had nothing.
#pragma once

#include "datastore/aws_credentials.hpp"

namespace podflow::datastore {

// Throws StoreError naming each source tried and why it failed; never a secret or a token.
AwsCredentials resolve_aws_credentials(const EnvironmentLookup& environment);

}  // namespace podflow::datastore
