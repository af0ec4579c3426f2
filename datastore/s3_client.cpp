#include "datastore/s3_client.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "datastore/s3_retry.hpp"
#include "datastore/s3_xml.hpp"
#include "datastore/sha256.hpp"
#include "datastore/sigv4.hpp"
#include "datastore/store_error.hpp"

namespace podflow::datastore {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kErrorBodyLimit = 64 * 1024;

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

double unit_random() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

long long now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_expired_token_code(const std::string& code) {
  return code == "ExpiredToken" || code == "TokenRefreshRequired" || code == "InvalidToken";
}

bool looks_like_tls_failure(const std::string& message) {
  const std::string text = lowercase(message);
  return text.find("certificate") != std::string::npos ||
         text.find("handshake") != std::string::npos || text.find("ssl") != std::string::npos;
}

}  // namespace

std::string S3Response::header(const std::string& lowercase_name) const {
  const auto found = headers.find(lowercase_name);
  return found == headers.end() ? "" : found->second;
}

std::string S3Response::error_code() const {
  if (!body.empty()) {
    const auto parsed = parse_s3_error(body);
    if (!parsed.code.empty()) return parsed.code;
  }
  return header("x-minio-error-code");
}

namespace {

HttpEndpoint http_endpoint(const S3Settings& settings) {
  if (!settings.ca_bundle.empty() && !std::ifstream(settings.ca_bundle)) {
    throw StoreError("cannot read the CA bundle AWS_CA_BUNDLE=" + settings.ca_bundle);
  }
  const bool tls = settings.endpoint.scheme == "https";
  return {tls, settings.endpoint.host,
          settings.endpoint.port != 0 ? settings.endpoint.port : (tls ? 443 : 80),
          settings.ca_bundle, settings.request_timeout};
}

}  // namespace

S3Client::S3Client(S3Settings settings, std::shared_ptr<RefreshingCredentials> credentials,
                   std::string bucket)
    : settings_(std::move(settings)),
      credentials_(std::move(credentials)),
      bucket_(std::move(bucket)),
      target_(s3_target(settings_, bucket_)),
      connections_(std::make_unique<HttpConnectionPool>(http_endpoint(settings_))) {}

S3Client::~S3Client() = default;

std::string S3Client::url_of(const std::string& key) const {
  return "s3://" + bucket_ + (key.empty() ? "" : "/" + key);
}

S3Response S3Client::send(const S3Request& request, const std::string& what) const {
  std::string path = target_.path_prefix;
  if (!request.key.empty()) path += "/" + uri_encode_path(request.key);
  if (path.empty()) path = "/";
  const std::string query = canonical_query_string(request.query);
  const std::string relative = path + (query.empty() ? "" : "?" + query);
  const std::string payload_hash = !request.sign_body             ? std::string(kUnsignedPayload)
                                   : !request.body_sha256.empty() ? request.body_sha256
                                                                  : sha256_hex(request.body);

  // One attempt: sign with the current time and credentials, send, wait for the whole body.
  AwsCredentials credentials;
  auto attempt_once = [&]() -> S3Response {
    credentials = credentials_->current();
    SignedRequest signing{request.method, path, request.query, {}, payload_hash};
    const std::string date = amz_date(now_seconds());
    signing.headers = {
        {"host", target_.host}, {"x-amz-content-sha256", payload_hash}, {"x-amz-date", date}};
    if (!credentials.keys.session_token.empty()) {
      signing.headers.emplace_back("x-amz-security-token", credentials.keys.session_token);
    }
    for (const auto& [name, value] : request.headers) {
      if (lowercase(name).starts_with("x-amz-")) signing.headers.emplace_back(name, value);
    }
    std::vector<std::pair<std::string, std::string>> headers;
    headers.reserve(signing.headers.size() + request.headers.size() + 2);
    for (const auto& [name, value] : signing.headers) headers.emplace_back(name, value);
    for (const auto& [name, value] : request.headers) {
      if (!lowercase(name).starts_with("x-amz-")) headers.emplace_back(name, value);
    }
    headers.emplace_back("Authorization", authorization_header(signing, date, settings_.region,
                                                               "s3", credentials.keys));
    if (request.method == "PUT" || request.method == "POST") {
      headers.emplace_back("Content-Type", "application/octet-stream");
    }
    HttpBody body;
    if (request.body_file >= 0) {
      body.file = request.body_file;
      body.file_offset = request.body_file_offset;
      body.file_length = request.body_file_length;
    } else {
      body.bytes = request.body;
    }

    S3Response response;
    // Where the body goes: an error's (capped) into S3Response::body for its message; a
    // success's to the request's sink or buffer, else into S3Response::body.
    const auto sink_for = [&](const HttpResponseHead& head) -> BodySink {
      response.status = head.status;
      response.headers = head.headers;
      if (head.status >= 300 || (!request.response_sink && request.response_buffer == nullptr)) {
        const bool capped = head.status >= 300;
        return [&response, capped](const char* data, std::size_t size, std::uint64_t) {
          const std::size_t room =
              capped ? kErrorBodyLimit - std::min(kErrorBodyLimit, response.body.size()) : size;
          response.body.append(data, std::min(size, room));
        };
      }
      if (request.response_sink) {
        return [&response, &request](const char* data, std::size_t size, std::uint64_t offset) {
          request.response_sink(data, size, offset);
          response.buffer_bytes = std::max<std::size_t>(response.buffer_bytes, offset + size);
        };
      }
      return [&response, &request](const char* data, std::size_t size, std::uint64_t offset) {
        // More than asked for (a server ignoring the range) is counted, not stored: the caller
        // compares buffer_bytes with what it expected.
        if (offset < request.response_capacity) {
          std::memcpy(request.response_buffer + offset, data,
                      std::min<std::uint64_t>(size, request.response_capacity - offset));
        }
        response.buffer_bytes = std::max<std::size_t>(response.buffer_bytes, offset + size);
      };
    };
    connections_->exchange(request.method, relative, headers, body, sink_for);
    return response;
  };

  const RetryBackoff backoff;
  const auto started = Clock::now();
  std::string problem;
  bool refreshed_after_rejection = false;
  for (int attempt = 1;; ++attempt) {
    try {
      S3Response response = attempt_once();
      if (!refreshed_after_rejection && (response.status == 400 || response.status == 403) &&
          is_expired_token_code(response.error_code()) &&
          credentials_->refresh_after_rejection(credentials)) {
        refreshed_after_rejection = true;
        continue;
      }
      // No caller expects a redirect (304 answers only conditional reads, which callers handle).
      if (response.status >= 300 && response.status < 400 && response.status != 304) {
        fail(what, response);
      }
      if (!is_retryable_s3_answer(response.status, response.error_code())) return response;
      const std::string code = response.error_code();
      problem = "HTTP " + std::to_string(response.status) + (code.empty() ? "" : " " + code);
    } catch (const StoreError&) {
      throw;
    } catch (const std::exception& error) {
      problem = error.what();
      if (settings_.endpoint.scheme == "https" && looks_like_tls_failure(problem)) {
        throw StoreError(what + ": TLS connection to " + target_.host + " failed: " + problem +
                         "; if the endpoint's certificate comes from a private CA, set "
                         "AWS_CA_BUNDLE to that CA's PEM file");
      }
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    const double delay = backoff.delay(attempt, unit_random());
    const double budget =
        request.retry_seconds > 0 ? request.retry_seconds : settings_.retry_seconds;
    if (elapsed + delay > budget) {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.1f", elapsed);
      throw StoreError(what + ": gave up after " + std::to_string(attempt) + " attempts in " +
                       seconds + " s: " + problem + " (endpoint " + target_.base_url +
                       "); check that the S3 service is up and reachable, or allow more time "
                       "with PODFLOW_S3_RETRY_SECONDS (now " +
                       std::to_string(static_cast<long long>(budget)) + ")");
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
  }
}

void S3Client::fail(const std::string& what, const S3Response& response) const {
  const AwsCredentials credentials = credentials_->last();
  const std::string code = response.error_code();
  const S3ErrorDocument document = parse_s3_error(response.body);
  std::string message = what + ": HTTP " + std::to_string(response.status);
  if (!code.empty()) message += " " + code;
  const std::string detail =
      document.message.empty() ? response.header("x-minio-error-desc") : document.message;
  if (!detail.empty()) message += ": " + detail;

  const std::string endpoint = target_.base_url;
  if (code == "NoSuchBucket") {
    message += "; bucket " + bucket_ + " does not exist at " + endpoint +
               ": create it with `aws s3 mb s3://" + bucket_ + "` or fix the datastore URL";
  } else if (is_expired_token_code(code)) {
    message += "; the session token (from " + credentials.source +
               ") is invalid or expired, and fetching new credentials did not help: check that "
               "source and this machine's clock";
  } else if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" ||
             code == "AccessDenied" || code == "InvalidSecurity" ||
             (response.status == 403 && code.empty())) {
    message += "; check the credentials (key id " + credentials.keys.access_key_id + " from " +
               credentials.source + ") and that they may use bucket " + bucket_ + " at " + endpoint;
  } else if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" ||
             code == "IllegalLocationConstraintException" || response.status == 301) {
    const std::string region = response.header("x-amz-bucket-region");
    message += "; bucket " + bucket_ + " is not in region " + settings_.region +
               (region.empty() ? "" : " but in " + region) + ": set AWS_REGION" +
               (region.empty() ? "" : "=" + region);
  } else if (response.status >= 300 && response.status < 400) {
    const std::string location = response.header("location");
    message += "; " + endpoint + " answered with a redirect" +
               (location.empty() ? std::string() : " to " + location) +
               ", which podflow does not follow (the request carries signed credentials): set "
               "PODFLOW_S3_ENDPOINT to the endpoint that serves bucket " +
               bucket_ + " (and AWS_REGION to its region)";
  } else if (code == "RequestTimeTooSkewed") {
    message += "; this machine's clock is too far off: synchronize it (NTP)";
  }
  throw StoreError(message);
}

}  // namespace podflow::datastore
