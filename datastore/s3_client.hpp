// One S3 bucket over HTTP(S): signed requests (SigV4), retries with backoff, and error messages a
// person can act on. http_connection.hpp does the HTTP. Thread-safe: many threads may send at
// once (connections are pooled and kept alive; each request uses one from its thread).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "datastore/aws_credentials.hpp"
#include "datastore/http_connection.hpp"
#include "datastore/refreshing_credentials.hpp"
#include "datastore/s3_config.hpp"

namespace podflow::datastore {

struct S3Request {
  S3Request(std::string method_, std::string key_,
            std::vector<std::pair<std::string, std::string>> query_ = {},
            std::vector<std::pair<std::string, std::string>> headers_ = {})
      : method(std::move(method_)),
        key(std::move(key_)),
        query(std::move(query_)),
        headers(std::move(headers_)) {}

  std::string method;  // "GET", "PUT", "HEAD", "POST", "DELETE"
  std::string key;     // the object's full key in the bucket; "" for the bucket itself
  std::vector<std::pair<std::string, std::string>> query;    // decoded
  std::vector<std::pair<std::string, std::string>> headers;  // extra: Range, If-None-Match, ...
  // Sent as is, again on every retry; it must outlive the call.
  std::string_view body;
  // Or: the body is `body_file_length` bytes of this open file from `body_file_offset`, read as it
  // is sent (again on a retry), never held in memory.
  int body_file = -1;
  std::uint64_t body_file_offset = 0;
  std::uint64_t body_file_length = 0;
  // false: the body is sent as UNSIGNED-PAYLOAD (no SHA-256 pass over it; used for multipart
  // parts, whose integrity the blob's content address covers).
  bool sign_body = true;
  // The body's SHA-256 (hex) when the caller has it (a file body that is signed); else computed.
  std::string body_sha256;
  // When set, the response body is written here (at most `response_capacity` bytes) instead of
  // into S3Response::body: a ranged read lands in its final buffer without a copy.
  char* response_buffer = nullptr;
  std::size_t response_capacity = 0;
  // Or: a successful answer's body is handed to this in pieces as it arrives (a range written
  // straight into a file). Called again from offset 0 when the request is retried.
  BodySink response_sink;
  // When positive, replaces settings().retry_seconds for this request (an abort after a failure
  // should not wait as long as the upload did).
  double retry_seconds = 0;
};

struct S3Response {
  int status = 0;
  std::string body;              // the body, unless it went to S3Request::response_buffer
  std::size_t buffer_bytes = 0;  // body bytes handed to response_buffer or response_sink
  std::map<std::string, std::string> headers;  // lowercase names
  std::string header(const std::string& lowercase_name) const;
  std::string error_code() const;  // from the XML body, or MinIO's x-minio-error-code header
};

class S3Client {
 public:
  S3Client(S3Settings settings, std::shared_ptr<RefreshingCredentials> credentials,
           std::string bucket);
  S3Client(S3Settings settings, AwsCredentials credentials, std::string bucket)
      : S3Client(std::move(settings), RefreshingCredentials::fixed(std::move(credentials)),
                 std::move(bucket)) {}
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Sends the request and returns the first answer that is not worth retrying, whatever its
  // status, except a redirect (3xx but 304): it is never followed, since it would carry the
  // signed request to another host, and throws StoreError naming the Location and the fix.
  // Connection errors, 5xx and throttling are retried with backoff until settings().retry_seconds
  // are spent; then StoreError says what failed and for how long. `what` names the operation for
  // messages: "GET s3://bucket/key". Temporary credentials are refreshed before they expire;
  // an answer saying the session token expired anyway (a clock off, a revoked session) makes
  // the client fetch new credentials and send the request once more.
  S3Response send(const S3Request& request, const std::string& what) const;

  // Throws StoreError describing an unexpected answer: the operation, HTTP status, S3 error code
  // and message, and what to do about it (credentials, a missing bucket, the region, the clock).
  [[noreturn]] void fail(const std::string& what, const S3Response& response) const;

  const S3Settings& settings() const { return settings_; }
  const std::string& bucket() const { return bucket_; }
  // "s3://bucket/key", for messages.
  std::string url_of(const std::string& key) const;

 private:
  S3Settings settings_;
  std::shared_ptr<RefreshingCredentials> credentials_;
  std::string bucket_;
  S3Target target_;
  std::unique_ptr<HttpConnectionPool> connections_;
};

}  // namespace podflow::datastore
