// The S3 client and HTTP redirects: a redirect to another host must not receive the request (it
// would carry the SigV4 Authorization header, the signed credentials, to that host). Two tiny
// HTTP servers on 127.0.0.1 stand in for the endpoint and the other host; nothing leaves the
// machine.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "datastore/s3_client.hpp"
#include "datastore/store_error.hpp"

namespace {

using podflow::datastore::StoreError;

// Answers every request on 127.0.0.1 with one canned response and remembers what it received.
class LoopbackServer {
 public:
  LoopbackServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;  // any free port
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~LoopbackServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  void start(std::string response) {
    response_ = std::move(response);
    thread_ = std::thread([this] { serve(); });
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, 50) <= 0) continue;  // wake up to notice stop_
      const int connection = ::accept(fd_, nullptr, nullptr);
      if (connection < 0) continue;
      std::string request;
      char buffer[4096];
      // Headers only: the test sends GETs, whose requests have no body.
      while (request.find("\r\n\r\n") == std::string::npos) {
        pollfd readable{connection, POLLIN, 0};
        if (::poll(&readable, 1, 2000) <= 0) break;
        const ssize_t got = ::read(connection, buffer, sizeof buffer);
        if (got <= 0) break;
        request.append(buffer, static_cast<std::size_t>(got));
      }
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      const ssize_t sent = ::write(connection, response_.data(), response_.size());
      (void)sent;
      ::close(connection);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::string response_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
};

podflow::datastore::S3Client client_for(const LoopbackServer& endpoint) {
  podflow::datastore::S3Settings settings;
  settings.endpoint = {"http", "127.0.0.1", endpoint.port(), ""};
  settings.custom_endpoint = true;
  settings.addressing = podflow::datastore::S3Addressing::path;
  settings.retry_seconds = 1;
  settings.request_timeout = 5;
  podflow::datastore::AwsCredentials credentials{
      {"AKIDTEST", "secret-key", ""}, "the test", std::nullopt};
  return podflow::datastore::S3Client(settings, credentials, "bucket");
}

// The StoreError message of sending a GET (and, if it returns, of the caller's fail()).
std::string error_of_get(const podflow::datastore::S3Client& client) {
  const std::string what = "GET s3://bucket/key";
  try {
    const auto response = client.send(podflow::datastore::S3Request{"GET", "key"}, what);
    if (response.status == 200) return "no error: HTTP 200 '" + response.body + "'";
    client.fail(what, response);
  } catch (const StoreError& error) {
    return error.what();
  }
}

}  // namespace

TEST_CASE("s3 client: a redirect to another host is not followed; the error names it and the fix") {
  LoopbackServer other;
  other.start("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nstolen");
  LoopbackServer endpoint;
  const std::string location = other.url() + "/bucket/key";
  endpoint.start("HTTP/1.1 307 Temporary Redirect\r\nLocation: " + location +
                 "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  const auto client = client_for(endpoint);

  const std::string message = error_of_get(client);
  CHECK(message == "GET s3://bucket/key: HTTP 307; " + endpoint.url() +
                       " answered with a redirect to " + location +
                       ", which podflow does not follow (the request carries signed "
                       "credentials): set PODFLOW_S3_ENDPOINT to the endpoint that serves bucket "
                       "bucket (and AWS_REGION to its region)");
  REQUIRE(endpoint.requests().size() == 1);
  CHECK(endpoint.requests()[0].find("\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/") !=
        std::string::npos);
  CHECK(other.requests().empty());  // neither the request nor its Authorization header went there
}

TEST_CASE("s3 client: a 301 for the wrong region still says which region to set") {
  LoopbackServer other;
  other.start("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  LoopbackServer endpoint;
  const std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect</Code>"
      "<Message>The bucket you are attempting to access must be addressed using the specified "
      "endpoint.</Message></Error>";
  endpoint.start(
      "HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: eu-west-1\r\n"
      "Location: " +
      other.url() + "/bucket/key\r\nContent-Type: application/xml\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  const auto client = client_for(endpoint);

  const std::string message = error_of_get(client);
  CHECK(
      message.starts_with("GET s3://bucket/key: HTTP 301 PermanentRedirect: The bucket you are "
                          "attempting to access must be addressed using the specified "
                          "endpoint.; bucket bucket is not in region us-east-1 but in "
                          "eu-west-1: set AWS_REGION=eu-west-1"));
  CHECK(other.requests().empty());
}
