// What the S3 store needs to know besides its keys: the bucket and prefix of its URL, the
// endpoint, region, addressing style, TLS trust, and the transfer and retry knobs, read from the
// environment (docs/datastore.md, "S3", lists every variable with its default).
#pragma once

#include <cstdint>
#include <string>

#include "datastore/aws_credentials.hpp"

namespace podflow::datastore {

// "s3://bucket/some/prefix" -> {"bucket", "some/prefix"}; the prefix has no leading or trailing
// '/' and may be empty. Throws StoreError for anything else, saying what a valid URL looks like.
struct S3Location {
  std::string bucket;
  std::string prefix;
};
S3Location parse_s3_url(const std::string& url);

enum class S3Addressing {
  automatic,       // virtual-hosted on AWS for DNS-safe names without dots; path-style otherwise
  path,            // https://endpoint/bucket/key
  virtual_hosted,  // https://bucket.endpoint/key
};

struct S3Endpoint {
  std::string scheme;     // "https" or "http"
  std::string host;       // "s3.us-east-1.amazonaws.com", "127.0.0.1"
  int port = 0;           // 0: the scheme's default
  std::string base_path;  // "" or "/some/path" (no trailing '/') of an endpoint behind a proxy
};

struct S3Settings {
  S3Endpoint endpoint;
  bool custom_endpoint = false;  // PODFLOW_S3_ENDPOINT / AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL
  std::string region = "us-east-1";
  S3Addressing addressing = S3Addressing::automatic;
  std::string ca_bundle;  // AWS_CA_BUNDLE: a PEM file trusted in addition to the system's
  // Files up to this size go in one PUT; larger ones are multipart uploads of parts of this
  // size. Downloads use ranges of this size. S3 wants parts of at least 5 MiB.
  std::uint64_t part_size = 8ull << 20;
  unsigned concurrency = 4;     // parts or ranges of ONE object in flight at once
  double retry_seconds = 120;   // total time one operation may spend retrying
  double request_timeout = 60;  // seconds without progress before a request is abandoned
};

// Reads PODFLOW_S3_ENDPOINT, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_REGION,
// AWS_DEFAULT_REGION (then the shared config file), PODFLOW_S3_ADDRESSING (auto|path|virtual),
// AWS_CA_BUNDLE, PODFLOW_S3_PART_SIZE_MB, PODFLOW_S3_CONCURRENCY, PODFLOW_S3_RETRY_SECONDS,
// PODFLOW_S3_REQUEST_TIMEOUT_SECONDS. Throws StoreError naming the variable when a value is
// malformed.
S3Settings s3_settings_from_environment(const EnvironmentLookup& environment);

// "http://127.0.0.1:9000" -> {"http", "127.0.0.1", 9000, ""}. Throws StoreError naming `origin`
// (the variable it came from) unless the URL is http:// or https://.
S3Endpoint parse_s3_endpoint(const std::string& url, const std::string& origin);

// Where requests for `bucket` go and how they are addressed.
struct S3Target {
  std::string base_url;  // "https://bucket.s3.us-east-1.amazonaws.com" or "http://127.0.0.1:9000"
  std::string host;      // the Host header: "bucket.s3...", "127.0.0.1:9000"
  std::string path_prefix;  // "" (virtual-hosted) or "/bucket" (path-style), after base_path
};
S3Target s3_target(const S3Settings& settings, const std::string& bucket);

}  // namespace podflow::datastore
