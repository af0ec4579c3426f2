// The S3 client's transport: blocking HTTP/1.1 connections (TCP, or TLS through OpenSSL with the
// certificate and host name verified), kept alive in a pool, each used by one thread at a time.
// A response body is read from the socket by the thread that asked and handed to its sink
// (a caller's buffer, a range of a file) in pieces, and a request body can be streamed from a
// file, so no transfer holds a whole part in memory. (cpprestsdk, used before, handed every
// chunk of a response from its thread pool to the waiting thread: on a loaded machine each hand-off
// was a wait, and a 1 GiB download took twice as long as s5cmd's; BENCHMARKS.md, "S3".)
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podflow::datastore {

struct HttpEndpoint {
  bool tls = false;
  std::string host;  // a name or an IP address ("[::1]" for IPv6)
  int port = 0;
  std::string ca_bundle;        // a PEM file trusted besides the system's CAs
  double timeout_seconds = 60;  // a connect, send or receive that makes no progress this long fails
};

// A request body: bytes in memory, or a range of an open file (read with pread as it is sent,
// again on each attempt).
struct HttpBody {
  std::string_view bytes;
  int file = -1;
  std::uint64_t file_offset = 0;
  std::uint64_t file_length = 0;
  std::uint64_t size() const { return file >= 0 ? file_length : bytes.size(); }
};

struct HttpResponseHead {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
};

// Receives the body: `data` of `size` bytes that start at `offset` in the body.
using BodySink = std::function<void(const char* data, std::size_t size, std::uint64_t offset)>;
// Chooses the sink once the status and headers are known (an error body goes elsewhere).
using BodySinkFor = std::function<BodySink(const HttpResponseHead&)>;

// Thrown when the connection fails (connect, TLS, I/O, a malformed answer, a timeout): the
// request may be retried on another connection.
class HttpConnectionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class HttpConnection;

class HttpConnectionPool {
 public:
  explicit HttpConnectionPool(HttpEndpoint endpoint);
  ~HttpConnectionPool();
  HttpConnectionPool(const HttpConnectionPool&) = delete;
  HttpConnectionPool& operator=(const HttpConnectionPool&) = delete;

  // One request and its answer, on an idle connection or a new one. A kept-alive connection the
  // server closed meanwhile is replaced once, transparently. Returns the head; the body went to
  // the sink (the sink may throw: the connection is then dropped and the exception passes on).
  HttpResponseHead exchange(const std::string& method, const std::string& target,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            const HttpBody& body, const BodySinkFor& sink_for);

  const HttpEndpoint& endpoint() const { return endpoint_; }

 private:
  std::unique_ptr<HttpConnection> take();
  void give_back(std::unique_ptr<HttpConnection> connection);

  HttpEndpoint endpoint_;
  SSL_CTX* tls_context_ = nullptr;
  std::string trust_source_;  // which CA certificates it trusts, for verify errors
  std::mutex mutex_;
  std::vector<std::unique_ptr<HttpConnection>> idle_;
};

}  // namespace podflow::datastore
