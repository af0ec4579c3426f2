// The EC2 instance role through IMDSv2 (the node's role, for pods without an identity of their
// own): PUT /latest/api/token for a session token, then GET
// /latest/meta-data/iam/security-credentials/ (the role's name) and .../<role> (JSON credentials)
// with that token. AWS_EC2_METADATA_SERVICE_ENDPOINT moves the service (tests, IPv6);
// AWS_EC2_METADATA_DISABLED=true turns it off. The last source of the chain: when nothing
// answers within a second it reports "not available" rather than failing, since most machines
// that are not EC2 instances land here. IMDSv1 (no token) is not used.
#pragma once

#include "datastore/credential_source.hpp"

namespace podflow::datastore {

CredentialLookup instance_metadata_credentials(const EnvironmentLookup& environment);

}  // namespace podflow::datastore
