#include "datastore/credential_http.hpp"

#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>

#include <chrono>
#include <fstream>
#include <stdexcept>

#include "datastore/sigv4.hpp"

namespace podflow::datastore {
namespace {

namespace http = web::http;
constexpr std::size_t kAnswerLimit = 1 << 20;

}  // namespace

CredentialHttpAnswer send_credential_request(const CredentialHttpRequest& request) {
  http::client::http_client_config config;
  config.set_timeout(
      std::chrono::milliseconds(static_cast<long long>(request.timeout_seconds * 1000)));
  config.set_validate_certificates(true);
  config.set_max_redirects(0);
  if (!request.ca_bundle.empty() && request.url.starts_with("https://")) {
    if (!std::ifstream(request.ca_bundle)) {
      throw std::runtime_error("cannot read the CA bundle AWS_CA_BUNDLE=" + request.ca_bundle);
    }
    const std::string bundle = request.ca_bundle;
    config.set_ssl_context_callback(
        [bundle](boost::asio::ssl::context& context) { context.load_verify_file(bundle); });
  }
  try {
    const web::uri uri(request.url);
    http::client::http_client client(web::uri_builder()
                                         .set_scheme(uri.scheme())
                                         .set_host(uri.host())
                                         .set_port(uri.port())
                                         .to_uri(),
                                     config);
    http::http_request message(request.method);
    message.set_request_uri(
        web::uri_builder().set_path(uri.path()).set_query(uri.query()).to_uri());
    std::string content_type = "application/x-www-form-urlencoded; charset=utf-8";
    for (const auto& [name, value] : request.headers) {
      if (name == "Content-Type") {
        content_type = value;
      } else {
        message.headers().add(name, value);
      }
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
      message.set_body(request.body, content_type);
    }
    http::http_response answer = client.request(message).get();
    CredentialHttpAnswer result;
    result.status = answer.status_code();
    concurrency::streams::container_buffer<std::string> body;
    answer.body().read_to_end(body).get();
    result.body = std::move(body.collection());
    if (result.body.size() > kAnswerLimit) result.body.resize(kAnswerLimit);
    return result;
  } catch (const web::uri_exception& error) {
    throw std::runtime_error("invalid URL " + request.url + ": " + error.what());
  }
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
