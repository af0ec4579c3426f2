// One HTTP request to a credential endpoint (STS, a container credentials server, IMDS), over the
// S3 client's transport (http_connection.hpp), on a connection of its own. No retries here: each
// source knows what is worth retrying. Never follows redirects: a request may carry a token.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace podflow::datastore {

struct CredentialHttpRequest {
  std::string method = "GET";
  std::string url;  // "http://169.254.170.2/v2/credentials/..."
  std::vector<std::pair<std::string, std::string>> headers;  // "Content-Type" included; not Host
  std::string body;
  double timeout_seconds = 5;  // to connect, and for any send or receive to make progress
  std::string ca_bundle;  // a PEM file to trust besides the system's (AWS_CA_BUNDLE); https only
};

struct CredentialHttpAnswer {
  int status = 0;
  std::string body;  // at most 1 MiB: credential answers are small
};

// Throws std::runtime_error (not StoreError) when the endpoint cannot be reached or the URL is
// malformed; callers decide whether that ends their source or only skips it.
CredentialHttpAnswer send_credential_request(const CredentialHttpRequest& request);

// "a=1&b=x%20y": an application/x-www-form-urlencoded body (RFC 3986 encoding).
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace podflow::datastore
