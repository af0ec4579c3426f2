#include "datastore/credential_http.hpp"

#include <charconv>
#include <fstream>
#include <stdexcept>

#include "datastore/http_connection.hpp"
#include "datastore/sigv4.hpp"

namespace podflow::datastore {
namespace {

constexpr std::size_t kAnswerLimit = 1 << 20;

struct Url {
  HttpEndpoint endpoint;
  std::string authority;  // the Host header: "host[:port]"
  std::string target;     // "/path?query"
};

Url parse_url(const std::string& url, const std::string& ca_bundle, double timeout_seconds) {
  Url parsed;
  std::string rest;
  if (url.starts_with("https://")) {
    parsed.endpoint.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    throw std::runtime_error("invalid URL " + url + ": it must start with http:// or https://");
  }
  const auto slash = rest.find_first_of("/?");
  parsed.authority = rest.substr(0, slash);
  parsed.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (parsed.target.front() == '?') parsed.target.insert(0, "/");
  std::string host = parsed.authority;
  int port = parsed.endpoint.tls ? 443 : 80;
  const auto close = host.find(']');
  const auto colon = host.rfind(':');
  if (colon != std::string::npos && (close == std::string::npos || colon > close)) {
    const std::string digits = host.substr(colon + 1);
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (error != std::errc() || end != digits.data() + digits.size() || port <= 0 || port > 65535) {
      throw std::runtime_error("invalid URL " + url + ": bad port '" + digits + "'");
    }
    host.resize(colon);
  }
  if (host.empty()) throw std::runtime_error("invalid URL " + url + ": no host");
  parsed.endpoint.host = host;
  parsed.endpoint.port = port;
  parsed.endpoint.ca_bundle = parsed.endpoint.tls ? ca_bundle : "";
  parsed.endpoint.timeout_seconds = timeout_seconds;
  return parsed;
}

}  // namespace

CredentialHttpAnswer send_credential_request(const CredentialHttpRequest& request) {
  if (!request.ca_bundle.empty() && request.url.starts_with("https://") &&
      !std::ifstream(request.ca_bundle)) {
    throw std::runtime_error("cannot read the CA bundle AWS_CA_BUNDLE=" + request.ca_bundle);
  }
  const Url url = parse_url(request.url, request.ca_bundle, request.timeout_seconds);
  HttpConnectionPool connection(url.endpoint);  // one request: credentials are fetched rarely
  std::vector<std::pair<std::string, std::string>> headers = {{"Host", url.authority}};
  headers.insert(headers.end(), request.headers.begin(), request.headers.end());
  HttpBody body;
  body.bytes = request.body;
  CredentialHttpAnswer answer;
  const HttpResponseHead head = connection.exchange(
      request.method, url.target, headers, body, [&](const HttpResponseHead&) -> BodySink {
        return [&](const char* data, std::size_t size, std::uint64_t) {
          answer.body.append(data, std::min(size, kAnswerLimit - answer.body.size()));
        };
      });
  answer.status = head.status;
  return answer;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body += '&';
    body += uri_encode(name) + "=" + uri_encode(value);
  }
  return body;
}

}  // namespace podflow::datastore
