#include "datastore/credential_chain.hpp"

#include "datastore/container_credentials.hpp"
#include "datastore/instance_metadata_credentials.hpp"
#include "datastore/profile_credentials.hpp"
#include "datastore/static_credentials.hpp"
#include "datastore/store_error.hpp"
#include "datastore/web_identity_credentials.hpp"

namespace podflow::datastore {
namespace {

struct Source {
  const char* name;
  CredentialLookup (*lookup)(const EnvironmentLookup&);
};

constexpr Source kChain[] = {
    {"secret directory", credentials_from_directory},
    {"environment", credentials_from_environment},
    {"web identity", web_identity_credentials},
    {"shared config/credentials files", profile_credentials},
    {"container credentials", container_credentials},
    {"EC2 instance metadata (IMDSv2)", instance_metadata_credentials},
};

}  // namespace

AwsCredentials resolve_aws_credentials(const EnvironmentLookup& environment) {
  std::string tried;
  for (const Source& source : kChain) {
    CredentialLookup lookup;
    try {
      lookup = source.lookup(environment);
    } catch (const StoreError& error) {
      throw StoreError("cannot get S3 credentials from " + std::string(source.name) + ": " +
                       error.what() + (tried.empty() ? "" : " (sources before it: " + tried + ")"));
    }
    if (lookup.credentials) return std::move(*lookup.credentials);
    tried += (tried.empty() ? "" : "; ") + std::string(source.name) + ": " + lookup.not_found;
  }
  throw StoreError(
      "no S3 credentials found (tried " + tried +
      "). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or PODFLOW_S3_CREDENTIALS_DIR (a "
      "directory holding files of those names, e.g. a mounted Kubernetes Secret), or "
      "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (IRSA), or write a profile to " +
      home_file(environment, ".aws/credentials").string() +
      " (AWS_SHARED_CREDENTIALS_FILE); docs/datastore.md, \"Credentials\", has the whole chain");
}

}  // namespace podflow::datastore
