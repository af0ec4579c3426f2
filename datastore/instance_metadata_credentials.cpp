#include "datastore/instance_metadata_credentials.hpp"

#include "datastore/container_credentials.hpp"
#include "datastore/credential_http.hpp"
#include "datastore/store_error.hpp"

namespace podflow::datastore {
namespace {

constexpr const char* kDefaultEndpoint = "http://169.254.169.254";
constexpr const char* kCredentialsPath = "/latest/meta-data/iam/security-credentials/";
constexpr double kTimeoutSeconds = 1;  // IMDS answers in milliseconds when it is there at all

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

CredentialLookup instance_metadata_credentials(const EnvironmentLookup& environment) {
  if (lowercase(environment_value(environment, "AWS_EC2_METADATA_DISABLED").value_or("")) ==
      "true") {
    return CredentialLookup::missing("AWS_EC2_METADATA_DISABLED=true");
  }
  std::string endpoint = environment_value(environment, "AWS_EC2_METADATA_SERVICE_ENDPOINT")
                             .value_or(kDefaultEndpoint);
  while (endpoint.ends_with('/')) endpoint.pop_back();
  const std::string what = "IMDSv2 at " + endpoint;

  CredentialHttpRequest token_request;
  token_request.method = "PUT";
  token_request.url = endpoint + "/latest/api/token";
  token_request.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "300"}};
  token_request.timeout_seconds = kTimeoutSeconds;
  CredentialHttpAnswer token;
  try {
    token = send_credential_request(token_request);
  } catch (const std::exception& error) {
    return CredentialLookup::missing(what + " did not answer (" + error.what() +
                                     "): not an EC2 instance, or a hop limit of 1 keeps pods out");
  }
  if (token.status != 200 || token.body.empty()) {
    return CredentialLookup::missing(what + " gave no session token (HTTP " +
                                     std::to_string(token.status) + ")");
  }
  const auto get = [&](const std::string& path) {
    CredentialHttpRequest request;
    request.url = endpoint + path;
    request.headers = {{"X-aws-ec2-metadata-token", token.body}};
    request.timeout_seconds = kTimeoutSeconds * 2;
    try {
      return send_credential_request(request);
    } catch (const std::exception& error) {
      throw StoreError(what + ": GET " + path + " failed: " + error.what());
    }
  };
  const CredentialHttpAnswer roles = get(kCredentialsPath);
  if (roles.status == 404) {
    return CredentialLookup::missing(what + ": the instance has no IAM role (instance profile)");
  }
  if (roles.status != 200) {
    throw StoreError(what + ": GET " + kCredentialsPath + " answered HTTP " +
                     std::to_string(roles.status));
  }
  const std::string role = trim_whitespace(roles.body.substr(0, roles.body.find('\n')));
  if (role.empty()) {
    return CredentialLookup::missing(what + ": the instance has no IAM role (instance profile)");
  }
  const CredentialHttpAnswer answer = get(kCredentialsPath + role);
  if (answer.status != 200) {
    throw StoreError(what + ": GET " + kCredentialsPath + role + " answered HTTP " +
                     std::to_string(answer.status));
  }
  const std::string source = "instance role " + role + " (" + what + ")";
  return CredentialLookup::found(credentials_from_json(answer.body, what, source));
}

}  // namespace podflow::datastore
