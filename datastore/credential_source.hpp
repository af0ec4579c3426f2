// What one credential source answers: credentials, or why it has none (it is not configured
// here). A source that IS configured but fails (an unreadable token file, STS refusing the role,
// a container endpoint answering 500) throws StoreError instead, and the chain stops there, as
// the AWS SDKs do: falling through to another identity would hide the misconfiguration.
#pragma once

#include <optional>
#include <string>

#include "datastore/aws_credentials.hpp"

namespace podflow::datastore {

struct CredentialLookup {
  std::optional<AwsCredentials> credentials;
  std::string not_found;  // "AWS_ACCESS_KEY_ID is not set", when credentials is empty

  static CredentialLookup found(AwsCredentials credentials) { return {std::move(credentials), ""}; }
  static CredentialLookup missing(std::string why) { return {std::nullopt, std::move(why)}; }
};

}  // namespace podflow::datastore
