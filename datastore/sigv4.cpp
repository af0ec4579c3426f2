#include "datastore/sigv4.hpp"

// HMAC over the low-level SHA-256, as datastore/sha256.cpp and for the same reason: OpenSSL's
// HMAC() goes through EVP, whose first use sets up providers in every runtime process.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "datastore/sha256.hpp"

namespace podflow::datastore {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string lowercase(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

// Trims the ends and turns each run of spaces into one space, as SigV4 asks of header values.
std::string canonical_header_value(std::string_view value) {
  std::string result;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      pending_space = !result.empty();
      continue;
    }
    if (pending_space) result += ' ';
    pending_space = false;
    result += c;
  }
  return result;
}

// Sorted lowercase name -> values joined with ',' in the order given.
std::map<std::string, std::string> canonical_headers(const SignedRequest& request) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    auto [entry, inserted] = headers.try_emplace(lowercase(name), canonical_header_value(value));
    if (!inserted) entry->second += "," + canonical_header_value(value);
  }
  return headers;
}

std::string credential_scope(std::string_view amz_date, std::string_view region,
                             std::string_view service) {
  return std::string(amz_date.substr(0, 8)) + "/" + std::string(region) + "/" +
         std::string(service) + "/aws4_request";
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string result;
  result.reserve(text.size() * 3);
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      result += c;
    } else {
      result += '%';
      result += kHex[byte >> 4];
      result += kHex[byte & 0x0F];
    }
  }
  return result;
}

std::string canonical_query_string(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) encoded.emplace_back(uri_encode(name), uri_encode(value));
  std::sort(encoded.begin(), encoded.end());
  std::string result;
  for (const auto& [name, value] : encoded) {
    if (!result.empty()) result += '&';
    result += name + "=" + value;
  }
  return result;
}

std::string signed_header_names(const SignedRequest& request) {
  std::string result;
  for (const auto& [name, value] : canonical_headers(request)) {
    if (!result.empty()) result += ';';
    result += name;
  }
  return result;
}

std::string canonical_request(const SignedRequest& request) {
  std::string headers;
  for (const auto& [name, value] : canonical_headers(request)) headers += name + ":" + value + "\n";
  return request.method + "\n" + (request.encoded_path.empty() ? "/" : request.encoded_path) +
         "\n" + canonical_query_string(request.query) + "\n" + headers + "\n" +
         signed_header_names(request) + "\n" + request.payload_sha256;
}

std::string string_to_sign(const SignedRequest& request, std::string_view amz_date,
                           std::string_view region, std::string_view service) {
  return std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" +
         credential_scope(amz_date, region, service) + "\n" +
         sha256_hex(canonical_request(request));
}

std::string authorization_header(const SignedRequest& request, std::string_view amz_date,
                                 std::string_view region, std::string_view service,
                                 const SigningCredentials& credentials) {
  const std::string date_key =
      hmac_sha256("AWS4" + credentials.secret_access_key, amz_date.substr(0, 8));
  const std::string region_key = hmac_sha256(date_key, region);
  const std::string service_key = hmac_sha256(region_key, service);
  const std::string signing_key = hmac_sha256(service_key, "aws4_request");
  const std::string signature =
      hex(hmac_sha256(signing_key, string_to_sign(request, amz_date, region, service)));
  return std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
         credential_scope(amz_date, region, service) +
         ", SignedHeaders=" + signed_header_names(request) + ", Signature=" + signature;
}

std::string amz_date(long long seconds_since_epoch) {
  const std::time_t time = static_cast<std::time_t>(seconds_since_epoch);
  std::tm utc{};
  ::gmtime_r(&time, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  // RFC 2104: H((K ^ opad) || H((K ^ ipad) || data)), K padded to the block size (hashed first
  // when longer).
  constexpr std::size_t kBlock = SHA256_CBLOCK;
  unsigned char block_key[kBlock] = {};
  if (key.size() > kBlock) {
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), block_key);
  } else {
    std::copy(key.begin(), key.end(), reinterpret_cast<char*>(block_key));
  }
  unsigned char pad[kBlock];
  unsigned char inner[SHA256_DIGEST_LENGTH];
  unsigned char outer[SHA256_DIGEST_LENGTH];
  SHA256_CTX context;
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = block_key[i] ^ 0x36;
  SHA256_Init(&context);
  SHA256_Update(&context, pad, kBlock);
  SHA256_Update(&context, data.data(), data.size());
  SHA256_Final(inner, &context);
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = block_key[i] ^ 0x5c;
  SHA256_Init(&context);
  SHA256_Update(&context, pad, kBlock);
  SHA256_Update(&context, inner, sizeof inner);
  SHA256_Final(outer, &context);
  return std::string(reinterpret_cast<const char*>(outer), sizeof outer);
}

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string result;
  result.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    result += kHex[byte >> 4];
    result += kHex[byte & 0x0F];
  }
  return result;
}

}  // namespace podflow::datastore
