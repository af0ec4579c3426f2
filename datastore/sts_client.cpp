#include "datastore/sts_client.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "datastore/credential_http.hpp"
#include "datastore/s3_xml.hpp"
#include "datastore/sha256.hpp"
#include "datastore/sigv4.hpp"
#include "datastore/store_error.hpp"

namespace podflow::datastore {
namespace {

constexpr int kAttempts = 3;

std::string host_of(const std::string& url) {
  const auto start = url.find("://");
  const std::string rest = start == std::string::npos ? url : url.substr(start + 3);
  return rest.substr(0, rest.find('/'));
}

std::string path_of(const std::string& url) {
  const auto start = url.find("://");
  const auto slash = url.find('/', start == std::string::npos ? 0 : start + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

std::string hint_for(const std::string& code) {
  if (code == "InvalidIdentityToken" || code == "InvalidParameterValue") {
    return "; the role must trust the token's issuer (an OpenID provider, e.g. the cluster's "
           "service-account issuer) and audience (sts.amazonaws.com for IRSA)";
  }
  if (code == "ExpiredTokenException" || code == "ExpiredToken") {
    return "; the web identity token has expired: the kubelet rotates projected tokens, so "
           "check that the token file is a projected volume, not a copy";
  }
  if (code == "AccessDenied" || code == "AccessDeniedException") {
    return "; the role's trust policy must allow this identity to assume it";
  }
  if (code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch") {
    return "; the source credentials of the role are not valid at this STS endpoint";
  }
  return "";
}

bool worth_retrying(int status, const std::string& code) {
  return status >= 500 || status == 429 || code == "Throttling" ||
         code == "IDPCommunicationError" || code == "RequestLimitExceeded";
}

AwsCredentials call_sts(const StsEndpoint& endpoint, const std::string& action,
                        const AssumeRoleRequest& request,
                        const std::vector<std::pair<std::string, std::string>>& extra_fields,
                        const AwsCredentials* signer, const std::string& source) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Action", action},
      {"Version", "2011-06-15"},
      {"RoleArn", request.role_arn},
      {"RoleSessionName", request.session_name}};
  if (request.duration_seconds) {
    fields.emplace_back("DurationSeconds", std::to_string(*request.duration_seconds));
  }
  fields.insert(fields.end(), extra_fields.begin(), extra_fields.end());
  const std::string what = "STS " + action + " at " + endpoint.url + " (" + endpoint.origin +
                           ") for role " + request.role_arn;

  std::string problem;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    CredentialHttpRequest http;
    http.method = "POST";
    http.url = endpoint.url;
    http.body = form_encode(fields);
    http.ca_bundle = endpoint.ca_bundle;
    http.timeout_seconds = 10;
    http.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    if (signer != nullptr) {
      const auto now =
          std::chrono::duration_cast<std::chrono::seconds>(WallClock::now().time_since_epoch())
              .count();
      const std::string date = amz_date(now);
      SignedRequest signing{
          "POST", uri_encode_path(path_of(endpoint.url)), {}, {}, sha256_hex(http.body)};
      signing.headers = {{"host", host_of(endpoint.url)},
                         {"content-type", "application/x-www-form-urlencoded; charset=utf-8"},
                         {"x-amz-date", date}};
      if (!signer->keys.session_token.empty()) {
        signing.headers.emplace_back("x-amz-security-token", signer->keys.session_token);
      }
      for (const auto& [name, value] : signing.headers) {
        if (name != "host" && name != "content-type") http.headers.emplace_back(name, value);
      }
      http.headers.emplace_back(
          "Authorization",
          authorization_header(signing, date, endpoint.region, "sts", signer->keys));
    }
    CredentialHttpAnswer answer;
    try {
      answer = send_credential_request(http);
    } catch (const std::exception& error) {
      problem = error.what();
      if (attempt < kAttempts) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
        continue;
      }
      throw StoreError(what + ": cannot reach it: " + problem +
                       "; check the endpoint (AWS_ENDPOINT_URL_STS) and the network");
    }
    const auto error = parse_s3_error(answer.body);
    if (answer.status == 200 && error.code.empty()) {
      const auto id = xml_element(answer.body, "AccessKeyId");
      const auto secret = xml_element(answer.body, "SecretAccessKey");
      const auto token = xml_element(answer.body, "SessionToken");
      const auto expiration = xml_element(answer.body, "Expiration");
      if (!id || !secret || !token || id->empty() || secret->empty()) {
        throw StoreError(what +
                         ": the answer holds no Credentials (AccessKeyId, "
                         "SecretAccessKey, SessionToken)");
      }
      AwsCredentials credentials{
          {xml_unescape(*id), xml_unescape(*secret), xml_unescape(*token)}, source, std::nullopt};
      if (expiration) {
        credentials.expiration = parse_iso8601_utc(trim_whitespace(std::string(*expiration)));
        if (!credentials.expiration) {
          throw StoreError(what + ": unreadable Expiration '" + std::string(*expiration) + "'");
        }
      }
      return credentials;
    }
    problem = "HTTP " + std::to_string(answer.status) +
              (error.code.empty() ? "" : " " + error.code) +
              (error.message.empty() ? "" : ": " + error.message);
    if (attempt < kAttempts && worth_retrying(answer.status, error.code)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
      continue;
    }
    throw StoreError(what + " answered " + problem + hint_for(error.code));
  }
  throw StoreError(what + ": " + problem);
}

}  // namespace

StsEndpoint sts_endpoint(const EnvironmentLookup& environment,
                         const std::optional<std::string>& region) {
  StsEndpoint endpoint;
  endpoint.region =
      region
          ? *region
          : environment_value(environment, "AWS_REGION")
                .value_or(environment_value(environment, "AWS_DEFAULT_REGION")
                              .value_or(shared_config_region(environment).value_or("us-east-1")));
  endpoint.ca_bundle = environment_value(environment, "AWS_CA_BUNDLE").value_or("");
  for (const char* name : {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"}) {
    if (auto url = environment_value(environment, name)) {
      if (!url->starts_with("https://") && !url->starts_with("http://")) {
        throw StoreError("invalid " + std::string(name) + "='" + *url +
                         "': it must start with https:// (or http:// for a plain-HTTP server)");
      }
      endpoint.url = *url;
      endpoint.origin = name;
      return endpoint;
    }
  }
  endpoint.url = "https://sts." + endpoint.region + ".amazonaws.com";
  endpoint.origin = "the default for region " + endpoint.region;
  return endpoint;
}

AwsCredentials assume_role_with_web_identity(const StsEndpoint& endpoint,
                                             const AssumeRoleRequest& request,
                                             const std::string& web_identity_token,
                                             const std::string& source) {
  return call_sts(endpoint, "AssumeRoleWithWebIdentity", request,
                  {{"WebIdentityToken", web_identity_token}}, nullptr, source);
}

AwsCredentials assume_role(const StsEndpoint& endpoint, const AssumeRoleRequest& request,
                           const AwsCredentials& source_credentials, const std::string& source) {
  std::vector<std::pair<std::string, std::string>> extra;
  if (!request.external_id.empty()) extra.emplace_back("ExternalId", request.external_id);
  return call_sts(endpoint, "AssumeRole", request, extra, &source_credentials, source);
}

std::string role_session_name(const EnvironmentLookup& environment) {
  if (auto name = environment_value(environment, "AWS_ROLE_SESSION_NAME")) return *name;
  return "podflow-" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                         WallClock::now().time_since_epoch())
                                         .count());
}

}  // namespace podflow::datastore
