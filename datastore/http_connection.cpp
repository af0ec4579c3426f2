#include "datastore/http_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "datastore/trusted_certificates.hpp"

namespace podflow::datastore {
namespace {

constexpr std::size_t kBufferSize = 256 * 1024;  // per connection: reads, and file bodies sent
constexpr std::size_t kHeadLimit = 64 * 1024;
constexpr std::size_t kIdleLimit = 64;

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

std::string errno_text(const std::string& what, int error) {
  return what + ": " + std::strerror(error);
}

std::string openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text += (text.empty() ? "" : "; ") + std::string(buffer);
  }
  return text.empty() ? "no detail from OpenSSL" : text;
}

bool is_ip_literal(const std::string& host) {
  unsigned char address[16];
  return ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

std::string bare_host(const std::string& host) {  // "[::1]" -> "::1"
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// SSL_write raises SIGPIPE on a connection the peer closed; block it in this thread for the call
// and swallow one that became pending, so the process's own disposition is never touched.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t previous_{};
  bool was_pending_ = false;
};

}  // namespace

class HttpConnection {
 public:
  HttpConnection(const HttpEndpoint& endpoint, SSL_CTX* tls_context)
      : endpoint_(endpoint), buffer_(std::make_unique_for_overwrite<char[]>(kBufferSize)) {
    try {
      connect_socket();
      if (tls_context != nullptr) start_tls(tls_context);
    } catch (...) {
      release();  // a constructor that throws gets no destructor call
      throw;
    }
  }
  ~HttpConnection() { release(); }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool used() const { return used_; }
  bool reusable() const { return reusable_; }
  bool got_response_bytes() const { return got_response_bytes_; }

  HttpResponseHead exchange(const std::string& method, const std::string& target,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            const HttpBody& body, const BodySinkFor& sink_for) {
    used_ = true;
    reusable_ = false;
    got_response_bytes_ = false;
    begin_ = end_ = 0;
    std::string head = method + " " + target + " HTTP/1.1\r\n";
    for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
    if (body.size() > 0 || method == "PUT" || method == "POST") {
      head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    head += "\r\n";
    write_all(head.data(), head.size());
    send_body(body);

    HttpResponseHead response;
    std::string status_line;
    do {  // an interim 100 Continue answer is skipped
      response = read_head(status_line);
    } while (response.status >= 100 && response.status < 200);
    const bool http10 = status_line.starts_with("HTTP/1.0");
    const auto header = [&](const char* name) {
      const auto found = response.headers.find(name);
      return found == response.headers.end() ? std::string() : lowercase(found->second);
    };
    const BodySink sink = sink_for(response);
    bool keep_alive = !http10 && header("connection").find("close") == std::string::npos;
    if (method == "HEAD" || response.status == 204 || response.status == 304) {
      // no body
    } else if (header("transfer-encoding").find("chunked") != std::string::npos) {
      read_chunked(sink);
    } else if (const std::string length = header("content-length"); !length.empty()) {
      std::uint64_t size = 0;
      try {
        size = std::stoull(length);
      } catch (const std::exception&) {
        throw HttpConnectionError("malformed Content-Length '" + length + "' in the answer");
      }
      read_exactly(size, 0, sink);
    } else {
      read_until_eof(sink);
      keep_alive = false;
    }
    reusable_ = keep_alive && begin_ == end_;
    return response;
  }

 private:
  void release() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    ssl_ = nullptr;
    fd_ = -1;
  }

  void connect_socket() {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    addrinfo* found = nullptr;
    const std::string host = bare_host(endpoint_.host);
    const int resolved =
        ::getaddrinfo(host.c_str(), std::to_string(endpoint_.port).c_str(), &hints, &found);
    if (resolved != 0) {
      throw HttpConnectionError("cannot resolve " + host + ": " + ::gai_strerror(resolved));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
    std::string problem = "no address";
    for (addrinfo* address = found; address != nullptr; address = address->ai_next) {
      const int fd = ::socket(address->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                              address->ai_protocol);
      if (fd < 0) {
        problem = errno_text("socket", errno);
        continue;
      }
      if (::connect(fd, address->ai_addr, address->ai_addrlen) != 0 && errno != EINPROGRESS) {
        problem = errno_text("connect to " + host + ":" + std::to_string(endpoint_.port), errno);
        ::close(fd);
        continue;
      }
      pollfd wait{fd, POLLOUT, 0};
      const int ready = ::poll(&wait, 1, static_cast<int>(endpoint_.timeout_seconds * 1000));
      int error = 0;
      socklen_t length = sizeof error;
      if (ready <= 0) {
        error = ready == 0 ? ETIMEDOUT : errno;
      } else {
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      }
      if (error != 0) {
        problem = errno_text("connect to " + host + ":" + std::to_string(endpoint_.port), error);
        ::close(fd);
        continue;
      }
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      timeval timeout{};
      timeout.tv_sec = static_cast<time_t>(endpoint_.timeout_seconds);
      timeout.tv_usec = static_cast<suseconds_t>(
          (endpoint_.timeout_seconds - static_cast<double>(timeout.tv_sec)) * 1e6);
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      fd_ = fd;
      return;
    }
    throw HttpConnectionError(problem);
  }

  void start_tls(SSL_CTX* context) {
    ssl_ = SSL_new(context);
    if (ssl_ == nullptr) throw HttpConnectionError("TLS: " + openssl_errors());
    SSL_set_fd(ssl_, fd_);
    const std::string host = bare_host(endpoint_.host);
    if (is_ip_literal(host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, host.c_str());
      SSL_set1_host(ssl_, host.c_str());
    }
    ERR_clear_error();
    if (SSL_connect(ssl_) != 1) {
      const long verify = SSL_get_verify_result(ssl_);
      const auto* trusted =
          static_cast<const std::string*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl_)));
      throw HttpConnectionError(
          "TLS handshake with " + host + " failed: " +
          (verify != X509_V_OK
               ? std::string("certificate verify failed: ") +
                     X509_verify_cert_error_string(verify) +
                     (trusted ? " (trusting the authorities of " + *trusted +
                                    "; name another bundle with AWS_CA_BUNDLE or SSL_CERT_FILE)"
                              : "")
               : openssl_errors()));
    }
  }

  std::size_t read_some(char* data, std::size_t size) {
    for (;;) {
      if (ssl_ != nullptr) {
        ERR_clear_error();
        const int got =
            SSL_read(ssl_, data, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
        if (got > 0) return static_cast<std::size_t>(got);
        const int error = SSL_get_error(ssl_, got);
        if (error == SSL_ERROR_ZERO_RETURN) return 0;
        if (error == SSL_ERROR_SYSCALL && errno == 0) return 0;  // closed without close_notify
        if (error == SSL_ERROR_SYSCALL && errno == EINTR) continue;
        if (error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          throw HttpConnectionError(timeout_text("receiving"));
        }
        throw HttpConnectionError("TLS read failed: " + (error == SSL_ERROR_SYSCALL
                                                             ? std::string(std::strerror(errno))
                                                             : openssl_errors()));
      }
      const ssize_t got = ::recv(fd_, data, size, 0);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        throw HttpConnectionError(timeout_text("receiving"));
      }
      throw HttpConnectionError(errno_text("receive", errno));
    }
  }

  void write_all(const char* data, std::size_t size) {
    while (size > 0) {
      std::size_t wrote = 0;
      if (ssl_ != nullptr) {
        SigpipeGuard guard;
        ERR_clear_error();
        const int done =
            SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
        if (done <= 0) {
          const int error = SSL_get_error(ssl_, done);
          if (error == SSL_ERROR_SYSCALL && errno == EINTR) continue;
          if (error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            throw HttpConnectionError(timeout_text("sending"));
          }
          throw HttpConnectionError("TLS write failed: " + (error == SSL_ERROR_SYSCALL
                                                                ? std::string(std::strerror(errno))
                                                                : openssl_errors()));
        }
        wrote = static_cast<std::size_t>(done);
      } else {
        const ssize_t done = ::send(fd_, data, size, MSG_NOSIGNAL);
        if (done < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) {
            throw HttpConnectionError(timeout_text("sending"));
          }
          throw HttpConnectionError(errno_text("send", errno));
        }
        wrote = static_cast<std::size_t>(done);
      }
      data += wrote;
      size -= wrote;
    }
  }

  void send_body(const HttpBody& body) {
    if (body.file < 0) {
      write_all(body.bytes.data(), body.bytes.size());
      return;
    }
    std::uint64_t sent = 0;
    while (sent < body.file_length) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(kBufferSize, body.file_length - sent));
      const ssize_t got =
          ::pread(body.file, buffer_.get(), want, static_cast<off_t>(body.file_offset + sent));
      if (got < 0 && errno == EINTR) continue;
      // Not a connection failure: the request cannot be sent at all.
      if (got < 0)
        throw std::runtime_error(errno_text("cannot read the file being uploaded", errno));
      if (got == 0) throw std::runtime_error("the file being uploaded shrank while it was sent");
      write_all(buffer_.get(), static_cast<std::size_t>(got));
      sent += static_cast<std::uint64_t>(got);
    }
  }

  std::string timeout_text(const char* doing) const {
    return std::string("no progress ") + doing + " for " +
           std::to_string(static_cast<long long>(endpoint_.timeout_seconds)) +
           " s (PODFLOW_S3_REQUEST_TIMEOUT_SECONDS)";
  }

  // Fills the buffer after what is buffered; false at end of stream.
  bool fill() {
    if (begin_ > 0 && begin_ == end_) begin_ = end_ = 0;
    if (end_ == kBufferSize) {
      if (begin_ == 0) throw HttpConnectionError("an answer's line or head is too long");
      std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    const std::size_t got = read_some(buffer_.get() + end_, kBufferSize - end_);
    if (got == 0) return false;
    got_response_bytes_ = true;
    end_ += got;
    return true;
  }

  std::string read_line() {
    for (;;) {
      const std::string_view buffered(buffer_.get() + begin_, end_ - begin_);
      const auto newline = buffered.find('\n');
      if (newline != std::string_view::npos) {
        std::string line(buffered.substr(0, newline));
        if (!line.empty() && line.back() == '\r') line.pop_back();
        begin_ += newline + 1;
        return line;
      }
      if (end_ - begin_ > kHeadLimit) throw HttpConnectionError("an answer's line is too long");
      if (!fill())
        throw HttpConnectionError("the connection closed before the answer was complete");
    }
  }

  HttpResponseHead read_head(std::string& status_line) {
    status_line = read_line();
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) {
      throw HttpConnectionError("not an HTTP/1.x answer: '" + status_line.substr(0, 40) + "'");
    }
    HttpResponseHead head;
    try {
      head.status = std::stoi(status_line.substr(9, 3));
    } catch (const std::exception&) {
      throw HttpConnectionError("malformed status line '" + status_line.substr(0, 40) + "'");
    }
    std::size_t total = status_line.size();
    for (std::string line = read_line(); !line.empty(); line = read_line()) {
      total += line.size();
      if (total > kHeadLimit) throw HttpConnectionError("the answer's head is too long");
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = lowercase(trim(std::string_view(line).substr(0, colon)));
      std::string value = trim(std::string_view(line).substr(colon + 1));
      auto [entry, inserted] = head.headers.emplace(std::move(name), value);
      if (!inserted) entry->second += "," + value;
    }
    return head;
  }

  // Hands `size` bytes of body to the sink, starting at body offset `offset`.
  void read_exactly(std::uint64_t size, std::uint64_t offset, const BodySink& sink) {
    std::uint64_t done = 0;
    while (done < size) {
      if (begin_ == end_ && !fill()) {
        throw HttpConnectionError("the connection closed after " + std::to_string(done) + " of " +
                                  std::to_string(size) + " bytes of the answer");
      }
      const std::size_t take =
          static_cast<std::size_t>(std::min<std::uint64_t>(end_ - begin_, size - done));
      sink(buffer_.get() + begin_, take, offset + done);
      begin_ += take;
      done += take;
    }
  }

  void read_chunked(const BodySink& sink) {
    std::uint64_t offset = 0;
    for (;;) {
      const std::string line = read_line();
      std::uint64_t size = 0;
      try {
        size = std::stoull(line.substr(0, line.find(';')), nullptr, 16);
      } catch (const std::exception&) {
        throw HttpConnectionError("malformed chunk size '" + line.substr(0, 20) + "'");
      }
      if (size == 0) {
        while (!read_line().empty()) {  // trailers
        }
        return;
      }
      read_exactly(size, offset, sink);
      offset += size;
      if (!read_line().empty()) throw HttpConnectionError("malformed chunk end");
    }
  }

  void read_until_eof(const BodySink& sink) {
    std::uint64_t offset = 0;
    for (;;) {
      if (begin_ < end_) {
        sink(buffer_.get() + begin_, end_ - begin_, offset);
        offset += end_ - begin_;
        begin_ = end_;
      }
      if (!fill()) return;
    }
  }

  const HttpEndpoint& endpoint_;
  std::unique_ptr<char[]> buffer_;
  std::size_t begin_ = 0;  // buffered, not yet consumed: [begin_, end_)
  std::size_t end_ = 0;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool used_ = false;
  bool reusable_ = false;
  bool got_response_bytes_ = false;
};

HttpConnectionPool::HttpConnectionPool(HttpEndpoint endpoint) : endpoint_(std::move(endpoint)) {
  if (!endpoint_.tls) return;
  // No openssl.cnf: podflow uses none of its settings, and the static podflow-runtime would
  // otherwise read the one of whatever image it runs in, written for another OpenSSL.
  OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
  tls_context_ = SSL_CTX_new(TLS_client_method());
  if (tls_context_ == nullptr) throw std::runtime_error("TLS: " + openssl_errors());
  SSL_CTX_set_min_proto_version(tls_context_, TLS1_2_VERSION);
  SSL_CTX_set_verify(tls_context_, SSL_VERIFY_PEER, nullptr);
  try {
    trust_source_ = trust_default_certificates(tls_context_);
  } catch (...) {
    SSL_CTX_free(tls_context_);
    throw;
  }
  if (!endpoint_.ca_bundle.empty()) trust_source_ += " and AWS_CA_BUNDLE=" + endpoint_.ca_bundle;
  SSL_CTX_set_app_data(tls_context_, &trust_source_);
  if (!endpoint_.ca_bundle.empty() &&
      SSL_CTX_load_verify_locations(tls_context_, endpoint_.ca_bundle.c_str(), nullptr) != 1) {
    const std::string detail = openssl_errors();
    SSL_CTX_free(tls_context_);
    throw std::runtime_error("cannot load the CA bundle AWS_CA_BUNDLE=" + endpoint_.ca_bundle +
                             ": " + detail);
  }
}

HttpConnectionPool::~HttpConnectionPool() {
  idle_.clear();
  if (tls_context_ != nullptr) SSL_CTX_free(tls_context_);
}

std::unique_ptr<HttpConnection> HttpConnectionPool::take() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  return std::make_unique<HttpConnection>(endpoint_, tls_context_);
}

void HttpConnectionPool::give_back(std::unique_ptr<HttpConnection> connection) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < kIdleLimit) idle_.push_back(std::move(connection));
}

HttpResponseHead HttpConnectionPool::exchange(
    const std::string& method, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, const HttpBody& body,
    const BodySinkFor& sink_for) {
  for (int attempt = 0;; ++attempt) {
    auto connection =
        attempt == 0 ? take() : std::make_unique<HttpConnection>(endpoint_, tls_context_);
    const bool reused = connection->used();
    try {
      HttpResponseHead head = connection->exchange(method, target, headers, body, sink_for);
      if (connection->reusable()) give_back(std::move(connection));
      return head;
    } catch (const HttpConnectionError&) {
      // A kept-alive connection the server had closed (nothing of an answer came back): the
      // other idle ones are as old, so they go too, and the request goes on a new connection.
      if (reused && !connection->got_response_bytes() && attempt == 0) {
        std::lock_guard lock(mutex_);
        idle_.clear();
        continue;
      }
      throw;
    }
  }
}

}  // namespace podflow::datastore
