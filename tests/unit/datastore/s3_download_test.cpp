// Large downloads from S3 in ranges (S3ObjectStore::get_to_file and get_to_file_hashed, and the
// artifact fetch of the Datastore over them), against a tiny S3 stand-in on 127.0.0.1 that can
// misbehave: flip a byte of one range, replace the object mid-download, cut answers short, send
// more than asked. Whatever it does, the result is the object's bytes or a clear error, and no
// partial file is left under the final name (nor a temporary one). Nothing leaves the machine.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "datastore/datastore.hpp"
#include "datastore/s3_object_store.hpp"
#include "datastore/sha256.hpp"
#include "datastore/store_error.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"
#include "tests/unit/datastore/small_filesystem.hpp"

namespace {

namespace fs = std::filesystem;
using podflow::datastore::S3ObjectStore;
using podflow::datastore::StoreError;
using podflow::testing::ScratchDirectory;

constexpr std::uint64_t kMiB = 1024 * 1024;

std::string pattern(std::uint64_t size, std::uint32_t seed) {
  std::string bytes(size, '\0');
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::uint64_t i = 0; i < size; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    bytes[i] = static_cast<char>(state);
  }
  return bytes;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

// An S3 stand-in serving one object to ranged GETs (Range, If-Match, ETag, Content-Range), with
// kept-alive connections, each on a thread of its own. `misbehave` may change an answer.
class RangeServer {
 public:
  struct Answer {
    int status = 206;
    std::string etag;
    std::string body;
    std::uint64_t first = 0;
    std::uint64_t total = 0;
    std::uint64_t content_length = 0;  // as announced; the body may be shorter (then closed)
  };

  explicit RangeServer(std::string object) : object_(std::move(object)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 64) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~RangeServer() {
    stop_ = true;
    acceptor_.join();
    for (auto& thread : connections_) thread.join();
    ::close(fd_);
  }
  RangeServer(const RangeServer&) = delete;
  RangeServer& operator=(const RangeServer&) = delete;

  int port() const { return port_; }
  // Called with each answer before it is sent (under a lock: one at a time), and the number of
  // GETs so far, this one included.
  std::function<void(Answer&, int)> misbehave;
  // Replaces the object (a new ETag), as another writer would, right after the `gets`-th GET.
  void replace_after(int gets, std::string object) {
    std::lock_guard lock(mutex_);
    replace_after_ = gets;
    replacement_ = std::move(object);
  }
  int gets() const { return gets_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, 50) <= 0) continue;
      const int connection = ::accept(fd_, nullptr, nullptr);
      if (connection < 0) continue;
      connections_.emplace_back([this, connection] { serve(connection); });
    }
  }

  void serve(int connection) {
    std::string pending;
    char buffer[8192];
    while (!stop_) {
      const auto end = pending.find("\r\n\r\n");
      if (end == std::string::npos) {
        pollfd readable{connection, POLLIN, 0};
        if (::poll(&readable, 1, 50) <= 0) continue;
        const ssize_t got = ::read(connection, buffer, sizeof buffer);
        if (got <= 0) break;
        pending.append(buffer, static_cast<std::size_t>(got));
        continue;
      }
      const std::string request = pending.substr(0, end);
      pending.erase(0, end + 4);
      if (!answer(connection, request)) break;
    }
    ::close(connection);
  }

  static std::string header_of(const std::string& request, const std::string& name) {
    const auto at = request.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    const auto begin = at + name.size() + 4;
    return request.substr(begin, request.find("\r\n", begin) - begin);
  }

  // false: the connection is to be closed
  bool answer(int connection, const std::string& request) {
    Answer answer;
    {
      std::lock_guard lock(mutex_);
      const int count = ++gets_;
      answer.etag = "\"v" + std::to_string(version_) + "\"";
      answer.total = object_.size();
      const std::string range = header_of(request, "Range");
      const std::string if_match = header_of(request, "If-Match");
      std::uint64_t first = 0;
      std::uint64_t last = answer.total - 1;
      if (range.starts_with("bytes=")) {
        first = std::stoull(range.substr(6));
        last = std::min<std::uint64_t>(std::stoull(range.substr(range.find('-') + 1)), last);
      }
      if (!if_match.empty() && if_match != answer.etag) {
        answer.status = 412;
      } else if (first >= answer.total) {
        answer.status = 416;
      } else {
        answer.first = first;
        answer.body = object_.substr(first, last - first + 1);
      }
      answer.content_length = answer.body.size();
      if (misbehave) misbehave(answer, count);
      if (count == replace_after_) {
        object_ = replacement_;
        ++version_;
      }
    }
    std::string head = "HTTP/1.1 " + std::to_string(answer.status) + " X\r\nETag: " + answer.etag +
                       "\r\nContent-Length: " + std::to_string(answer.content_length) + "\r\n";
    if (answer.status == 206) {
      head += "Content-Range: bytes " + std::to_string(answer.first) + "-" +
              std::to_string(answer.first + answer.content_length - 1) + "/" +
              std::to_string(answer.total) + "\r\n";
    }
    head += "\r\n";
    const std::string message = head + answer.body;
    for (std::size_t sent = 0; sent < message.size();) {
      const ssize_t wrote =
          ::send(connection, message.data() + sent, message.size() - sent, MSG_NOSIGNAL);
      if (wrote <= 0) return false;
      sent += static_cast<std::size_t>(wrote);
    }
    return answer.body.size() == answer.content_length;  // a short body ends with a close
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> connections_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::string object_;
  int version_ = 1;
  int replace_after_ = 0;
  std::string replacement_;
  std::atomic<int> gets_{0};
};

podflow::datastore::S3Settings settings_for(const RangeServer& server) {
  podflow::datastore::S3Settings settings;
  settings.endpoint = {"http", "127.0.0.1", server.port(), ""};
  settings.custom_endpoint = true;
  settings.addressing = podflow::datastore::S3Addressing::path;
  settings.part_size = 1 * kMiB;  // a 6 MiB object: a first MiB, then 3 ranges of 2 MiB
  settings.concurrency = 4;
  settings.retry_seconds = 1;
  settings.request_timeout = 5;
  return settings;
}

std::unique_ptr<S3ObjectStore> store_for(const RangeServer& server) {
  return std::make_unique<S3ObjectStore>(
      "s3://bucket/prefix", settings_for(server),
      podflow::datastore::AwsCredentials{{"AKIDTEST", "secret-key", ""}, "the test", std::nullopt});
}

// The error of fetching `blob` as an artifact into `destination` through a Datastore; "" if none.
std::string fetch_error(const RangeServer& server, const podflow::datastore::BlobRef& blob,
                        const fs::path& destination) {
  podflow::datastore::Datastore datastore(store_for(server));
  try {
    datastore.fetch_artifact("flow", blob, destination, "big");
  } catch (const StoreError& error) {
    return error.what();
  }
  return "";
}

std::vector<fs::path> files_in(const fs::path& directory) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(directory)) files.push_back(entry.path());
  return files;
}

const std::string& object() {
  static const std::string bytes = pattern(6 * kMiB + 12345, 24);
  return bytes;
}

podflow::datastore::BlobRef blob_of(const std::string& bytes) {
  return {podflow::datastore::sha256_hex(bytes), bytes.size()};
}

}  // namespace

TEST_CASE("s3 download: an object in ranges arrives whole, hashed, and the artifact is in place") {
  RangeServer server(object());
  ScratchDirectory scratch;
  auto store = store_for(server);
  const auto digest = store->get_to_file_hashed("big", scratch.path() / "hashed");
  REQUIRE(digest);
  CHECK(digest->sha256 == podflow::datastore::sha256_hex(object()));
  CHECK(digest->size == object().size());
  CHECK(read_file(scratch.path() / "hashed") == object());
  CHECK(store->get_to_file("big", scratch.path() / "plain"));
  CHECK(read_file(scratch.path() / "plain") == object());
  CHECK(server.gets() == 8);  // a first MiB and 3 ranges, twice

  CHECK(fetch_error(server, blob_of(object()), scratch.path() / "artifact") == "");
  CHECK(read_file(scratch.path() / "artifact") == object());
}

TEST_CASE("s3 download: a flipped byte in any range fails the artifact, and leaves no file") {
  for (const std::uint64_t flipped :
       {std::uint64_t{5}, 1 * kMiB + 7, 4 * kMiB + 1, object().size() - 1}) {
    CAPTURE(flipped);
    RangeServer server(object());
    server.misbehave = [flipped](RangeServer::Answer& answer, int) {
      if (flipped >= answer.first && flipped < answer.first + answer.body.size()) {
        answer.body[flipped - answer.first] ^= 0x01;
      }
    };
    ScratchDirectory scratch;
    const std::string error = fetch_error(server, blob_of(object()), scratch.path() / "artifact");
    CHECK_MESSAGE(has(error, "has sha256"), error);
    CHECK_MESSAGE(has(error, "the store is corrupt"), error);
    CHECK(files_in(scratch.path()).empty());
  }
}

TEST_CASE("s3 download: an object replaced mid-download is fetched again, never mixed") {
  RangeServer server(object());
  const std::string replacement = pattern(object().size(), 25);
  server.replace_after(1, replacement);  // after the first MiB: the ranges' If-Match fails
  ScratchDirectory scratch;
  auto store = store_for(server);
  const auto digest = store->get_to_file_hashed("big", scratch.path() / "hashed");
  REQUIRE(digest);
  CHECK(read_file(scratch.path() / "hashed") == replacement);
  CHECK(digest->sha256 == podflow::datastore::sha256_hex(replacement));
  // a first MiB, 1 to 3 ranges refused (412: no new one starts after the first), then all again
  CHECK(server.gets() >= 1 + 1 + 4);
  CHECK(server.gets() <= 1 + 3 + 4);

  // Through the Datastore, whose manifest names the old bytes: refused, and no file is left.
  RangeServer again(object());
  again.replace_after(1, replacement);
  const std::string error = fetch_error(again, blob_of(object()), scratch.path() / "artifact");
  CHECK_MESSAGE(has(error, "the store is corrupt"), error);
  CHECK_FALSE(fs::exists(scratch.path() / "artifact"));
}

TEST_CASE("s3 download: an object that keeps changing fails clearly after three attempts") {
  RangeServer server(object());
  server.misbehave = [](RangeServer::Answer& answer, int) {
    if (answer.status == 206 && answer.first > 0) {
      answer.status = 412;  // every later range: the ETag no longer matches
      answer.body.clear();
      answer.content_length = 0;
    }
  };
  ScratchDirectory scratch;
  const std::string error = fetch_error(server, blob_of(object()), scratch.path() / "artifact");
  CHECK_MESSAGE(has(error, "the object changed while it was being downloaded three times"), error);
  CHECK(files_in(scratch.path()).empty());
}

TEST_CASE("s3 download: a range cut short every time gives up with a clear error") {
  RangeServer server(object());
  server.misbehave = [](RangeServer::Answer& answer, int) {
    if (answer.first == 3 * kMiB) answer.body.resize(answer.body.size() / 2);  // then closed
  };
  ScratchDirectory scratch;
  const std::string error = fetch_error(server, blob_of(object()), scratch.path() / "artifact");
  CHECK_MESSAGE(has(error, "gave up after"), error);
  CHECK_MESSAGE(has(error, "the connection closed after"), error);
  CHECK(files_in(scratch.path()).empty());
}

TEST_CASE("s3 download: a range cut short once is fetched again and the artifact is whole") {
  RangeServer server(object());
  std::atomic<bool> cut{false};
  server.misbehave = [&](RangeServer::Answer& answer, int) {
    if (answer.first == 3 * kMiB && !cut.exchange(true)) answer.body.resize(answer.body.size() / 3);
  };
  ScratchDirectory scratch;
  CHECK(fetch_error(server, blob_of(object()), scratch.path() / "artifact") == "");
  CHECK(read_file(scratch.path() / "artifact") == object());
  CHECK(cut);
}

TEST_CASE("s3 download: an answer longer than its range is refused") {
  RangeServer server(object());
  server.misbehave = [](RangeServer::Answer& answer, int) {
    if (answer.first == 3 * kMiB) {
      answer.body += "extra";
      answer.content_length = answer.body.size();
    }
  };
  ScratchDirectory scratch;
  const std::string error = fetch_error(server, blob_of(object()), scratch.path() / "artifact");
  CHECK_MESSAGE(has(error, "longer than the range"), error);
  CHECK(files_in(scratch.path()).empty());
}

TEST_CASE("s3 download: a full disk is a clear error, never a crash, and leaves no file") {
  ScratchDirectory scratch;
  podflow::testing::SmallFilesystem small(scratch.path() / "small", "2m");
  if (!small.mounted()) {
    MESSAGE("skipped: cannot mount a tmpfs (" << small.why_not() << "); needs root");
    return;
  }
  RangeServer server(object());
  const std::string error =
      fetch_error(server, blob_of(object()), scratch.path() / "small" / "artifact");
  CHECK_MESSAGE(has(error, "No space left on device"), error);
  CHECK(files_in(scratch.path() / "small").empty());
  CHECK(podflow::testing::temporary_files(scratch.path() / "small").empty());
}

TEST_CASE("s3 download: ranges far ahead of the hash wait for it, without ever stalling") {
  // 160 MiB in ranges of 64 MiB: the later ranges get more than 64 MiB ahead of the hash and
  // wait for it. Six hashed downloads share a store with 2 ranges in flight in all, so the range a
  // hash needs can be waiting for a slot that a waiting range of another download holds: that
  // must not stall (without the check for it, this test hangs nearly every time).
  const std::string large = pattern(160 * kMiB + 3, 26);
  const std::string expected = podflow::datastore::sha256_hex(large);
  RangeServer server(large);
  auto settings = settings_for(server);
  settings.concurrency = 2;
  settings.request_timeout = 30;
  S3ObjectStore store(
      "s3://bucket/prefix", settings,
      podflow::datastore::AwsCredentials{{"AKIDTEST", "secret-key", ""}, "the test", std::nullopt});
  ScratchDirectory scratch;
  std::vector<std::string> digests(6);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < digests.size(); ++i) {
    threads.emplace_back([&, i] {
      const auto digest =
          store.get_to_file_hashed("big", scratch.path() / ("copy" + std::to_string(i)));
      if (digest) digests[i] = digest->sha256;
    });
  }
  std::mutex done_mutex;
  std::condition_variable done_changed;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(done_mutex);
    if (!done_changed.wait_for(lock, std::chrono::seconds(120), [&] { return done; })) {
      std::fprintf(stderr, "the hashed downloads stalled for 120 s\n");
      std::_Exit(1);  // a stall cannot be interrupted: fail the whole run, loudly
    }
  });
  for (auto& thread : threads) thread.join();
  {
    std::lock_guard lock(done_mutex);
    done = true;
  }
  done_changed.notify_all();
  watchdog.join();
  for (std::size_t i = 0; i < digests.size(); ++i) {
    CHECK(digests[i] == expected);
    CHECK(read_file(scratch.path() / ("copy" + std::to_string(i))) == large);
  }
}
