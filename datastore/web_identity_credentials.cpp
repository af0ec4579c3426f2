#include "datastore/web_identity_credentials.hpp"

#include "datastore/store_error.hpp"

namespace podflow::datastore {

AwsCredentials assume_role_with_token_file(const StsEndpoint& endpoint,
                                           const AssumeRoleRequest& request,
                                           const std::filesystem::path& token_file,
                                           const std::string& source) {
  const auto token = read_small_file(token_file);
  if (!token) {
    throw StoreError("cannot read the web identity token file " + token_file.string() +
                     " (for role " + request.role_arn +
                     "): on Kubernetes it is a projected service-account token; check the pod's "
                     "volume and that the path is right");
  }
  const std::string trimmed = trim_whitespace(*token);
  if (trimmed.empty()) {
    throw StoreError("the web identity token file " + token_file.string() + " is empty");
  }
  return assume_role_with_web_identity(endpoint, request, trimmed, source);
}

CredentialLookup web_identity_credentials(const EnvironmentLookup& environment) {
  const auto role = environment_value(environment, "AWS_ROLE_ARN");
  const auto token_file = environment_value(environment, "AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!role && !token_file) {
    return CredentialLookup::missing("AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are not set");
  }
  if (!token_file) {
    // AWS_ROLE_ARN alone is not web identity (a profile may use it); SDKs skip it too.
    return CredentialLookup::missing("AWS_WEB_IDENTITY_TOKEN_FILE is not set (AWS_ROLE_ARN is)");
  }
  if (!role) {
    throw StoreError(
        "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not: set the role "
        "to assume with that token (on EKS the ServiceAccount's "
        "eks.amazonaws.com/role-arn annotation sets both)");
  }
  const StsEndpoint endpoint = sts_endpoint(environment);
  const std::string source =
      "web identity (role " + *role + ", token " + *token_file + ", " + endpoint.url + ")";
  AssumeRoleRequest request{*role, role_session_name(environment), std::nullopt, ""};
  return CredentialLookup::found(
      assume_role_with_token_file(endpoint, request, *token_file, source));
}

}  // namespace podflow::datastore
