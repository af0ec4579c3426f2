#include "datastore/container_credentials.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "datastore/credential_http.hpp"
#include "datastore/s3_config.hpp"
#include "datastore/store_error.hpp"

namespace podflow::datastore {
namespace {

constexpr const char* kRelativeHost = "http://169.254.170.2";
constexpr int kAttempts = 3;

std::string authorization(const EnvironmentLookup& environment) {
  if (auto file = environment_value(environment, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    const auto text = read_small_file(*file);
    if (!text) {
      throw StoreError("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + *file +
                       ": on EKS Pod Identity it is a projected token; check the pod's volume");
    }
    return trim_whitespace(*text);
  }
  return environment_value(environment, "AWS_CONTAINER_AUTHORIZATION_TOKEN").value_or("");
}

}  // namespace

bool is_allowed_container_http_host(const std::string& host) {
  if (host == "localhost" || host == "[::1]" || host == "::1") return true;
  if (host == "169.254.170.2" || host == "169.254.170.23") return true;  // ECS, EKS agents
  if (host == "[fd00:ec2::23]" || host == "fd00:ec2::23") return true;
  return host.starts_with("127.") && host.find_first_not_of("0123456789.") == std::string::npos;
}

AwsCredentials credentials_from_json(const std::string& body, const std::string& what,
                                     const std::string& source) {
  const auto document = nlohmann::json::parse(body, nullptr, false);
  if (!document.is_object()) throw StoreError(what + ": the answer is not a JSON object");
  const auto text = [&](const char* name) -> std::string {
    const auto found = document.find(name);
    return found != document.end() && found->is_string() ? found->get<std::string>() : "";
  };
  if (text("AccessKeyId").empty() || text("SecretAccessKey").empty()) {
    const std::string message = text("message").empty() ? text("Message") : text("message");
    throw StoreError(what + ": the answer has no AccessKeyId and SecretAccessKey" +
                     (message.empty() ? "" : " (it says: " + message + ")"));
  }
  AwsCredentials credentials{
      {text("AccessKeyId"), text("SecretAccessKey"), text("Token")}, source, std::nullopt};
  if (!text("Expiration").empty()) {
    credentials.expiration = parse_iso8601_utc(text("Expiration"));
    if (!credentials.expiration) {
      throw StoreError(what + ": unreadable Expiration '" + text("Expiration") + "'");
    }
  }
  return credentials;
}

CredentialLookup container_credentials(const EnvironmentLookup& environment) {
  std::string url;
  std::string origin;
  if (auto relative = environment_value(environment, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    url = std::string(kRelativeHost) + (relative->starts_with("/") ? "" : "/") + *relative;
    origin = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
  } else if (auto full = environment_value(environment, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    url = *full;
    origin = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
    const S3Endpoint parsed = parse_s3_endpoint(url, origin);
    if (parsed.scheme == "http" && !is_allowed_container_http_host(parsed.host)) {
      throw StoreError("AWS_CONTAINER_CREDENTIALS_FULL_URI=" + url +
                       ": a plain-http credentials endpoint must be on a loopback address, "
                       "169.254.170.2 or 169.254.170.23 (the ECS and EKS agents); use https:// "
                       "for any other host");
    }
  } else {
    return CredentialLookup::missing(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_CREDENTIALS_RELATIVE_URI are not "
        "set");
  }
  const std::string what = "container credentials at " + url + " (" + origin + ")";
  CredentialHttpRequest request;
  request.url = url;
  request.timeout_seconds = 5;
  request.ca_bundle = environment_value(environment, "AWS_CA_BUNDLE").value_or("");
  const std::string token = authorization(environment);
  if (token.find_first_of("\r\n") != std::string::npos) {
    throw StoreError(what +
                     ": the authorization token holds a line break; fix its file or "
                     "variable");
  }
  if (!token.empty()) request.headers.emplace_back("Authorization", token);

  std::string problem;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    try {
      const CredentialHttpAnswer answer = send_credential_request(request);
      if (answer.status == 200) {
        return CredentialLookup::found(credentials_from_json(answer.body, what, what));
      }
      problem = "HTTP " + std::to_string(answer.status);
      if (answer.status < 500 && answer.status != 429) {
        throw StoreError(what + " answered " + problem +
                         (answer.status == 401 || answer.status == 403
                              ? ": the authorization token was refused; check "
                                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
                              : ""));
      }
    } catch (const StoreError&) {
      throw;
    } catch (const std::exception& error) {
      problem = error.what();
    }
    if (attempt < kAttempts) std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
  }
  throw StoreError(what + ": failed " + std::to_string(kAttempts) + " times: " + problem);
}

}  // namespace podflow::datastore
