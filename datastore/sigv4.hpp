// AWS Signature Version 4 (header-based): the canonical request, the string to sign, the signing
// key and the Authorization header, as specified in the AWS General Reference ("Signature Version
// 4 signing process") and checked against AWS's published test suite
// (tests/unit/datastore/sigv4_vectors/). Pure: no clock, no network; the caller supplies the time.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podflow::datastore {

// The payload hash S3 accepts in place of the SHA-256 of the body.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct SigningCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty when the credentials are long-term keys
};

struct SignedRequest {
  std::string method;  // "GET", "PUT", ...
  // The path exactly as sent on the request line: already URI-encoded (uri_encode_path), never
  // normalized (S3 keys may contain "//" or "/./").
  std::string encoded_path;
  // Decoded query parameters, in any order; a parameter without a value has "".
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to sign, in any order and case; must include "host" and "x-amz-date". Repeated names
  // are joined with ',' in the order given.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_sha256;  // lowercase hex, or kUnsignedPayload
};

// RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ becomes %XX
// (uppercase hex), bytes of UTF-8 one by one. With `keep_slash`, '/' stays as it is (paths).
std::string uri_encode(std::string_view text, bool keep_slash = false);
inline std::string uri_encode_path(std::string_view path) {
  return uri_encode(path, true);
}

// "a=1&b=2": the query string as sent, and as signed (sorted by encoded name, then value).
std::string canonical_query_string(const std::vector<std::pair<std::string, std::string>>& query);

std::string canonical_request(const SignedRequest& request);
// "host;x-amz-date;...": the lowercased, sorted, de-duplicated header names.
std::string signed_header_names(const SignedRequest& request);

// `amz_date` is the request's x-amz-date, "20150830T123600Z".
std::string string_to_sign(const SignedRequest& request, std::string_view amz_date,
                           std::string_view region, std::string_view service);

// "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/s3/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=...". Contains no secret; the secret only keys the
// HMAC.
std::string authorization_header(const SignedRequest& request, std::string_view amz_date,
                                 std::string_view region, std::string_view service,
                                 const SigningCredentials& credentials);

// "20150830T123600Z" for a time in seconds since the epoch (UTC).
std::string amz_date(long long seconds_since_epoch);

// HMAC-SHA256 and SHA-256 (OpenSSL), raw bytes in and out; exposed for tests.
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hex(std::string_view bytes);

}  // namespace podflow::datastore
