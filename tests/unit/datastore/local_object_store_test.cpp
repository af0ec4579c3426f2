#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "datastore/local_object_store.hpp"
#include "datastore/store_error.hpp"
#include "tests/unit/datastore/contains_text.hpp"
#include "tests/unit/datastore/file_text.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"

using podflow::datastore::LocalObjectStore;
using podflow::datastore::StoreError;
using podflow::testing::ScratchDirectory;

namespace {

std::size_t count_files(const std::filesystem::path& directory) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    count += entry.is_regular_file() ? 1 : 0;
  }
  return count;
}

}  // namespace

TEST_CASE("local store: bytes in, bytes out, sizes, overwrite, remove") {
  ScratchDirectory scratch;
  LocalObjectStore store(scratch / "store");
  CHECK_FALSE(store.get_bytes("flow/a").has_value());
  CHECK_FALSE(store.head("flow/a").has_value());
  store.put_bytes("flow/a", "hello");
  CHECK(store.get_bytes("flow/a") == "hello");
  CHECK(store.head("flow/a")->size == 5);
  store.put_bytes("flow/a", "replaced");
  CHECK(store.get_bytes("flow/a") == "replaced");
  CHECK(podflow::testing::read_file(scratch / "store/flow/a") == "replaced");
  CHECK(store.local_path("flow/a") == scratch / "store/flow/a");
  CHECK_FALSE(store.local_path("flow/none").has_value());
  CHECK(store.remove("flow/a"));
  CHECK_FALSE(store.remove("flow/a"));
  CHECK_FALSE(store.head("flow/a").has_value());
  CHECK_FALSE(store.get_bytes("flow").has_value());  // a directory is not an object
}

TEST_CASE("local store: objects are read-only files") {
  ScratchDirectory scratch;
  LocalObjectStore store(scratch.path());
  store.put_bytes("k", "x");
  struct stat status {};
  REQUIRE(::stat((scratch / "k").c_str(), &status) == 0);
  CHECK((status.st_mode & 0777) == 0444);
}

TEST_CASE("local store: keys must be relative, without empty, '.' or '..' parts") {
  ScratchDirectory scratch;
  LocalObjectStore store(scratch.path());
  for (const char* key : {"", "/abs", "a//b", "a/../b", "./a", "a/", "..", "a/.podflow-tmp.x"}) {
    CAPTURE(key);
    CHECK_THROWS_AS(store.put_bytes(key, "x"), StoreError);
  }
}

TEST_CASE("local store: a put that fails leaves nothing under its key") {
  ScratchDirectory scratch;
  LocalObjectStore store(scratch / "store");
  std::filesystem::create_directories(scratch / "a-directory");
  // Reading a directory fails after the temporary file was created and written to.
  CHECK_THROWS_WITH_AS(
      store.put_file("flow/x", scratch / "a-directory"),
      podflow::testing::contains_text("cannot read " + (scratch / "a-directory").string()),
      StoreError);
  CHECK_FALSE(store.head("flow/x").has_value());
  CHECK(count_files(scratch / "store") == 0);  // no temporary file left behind either

  // A failed replacement keeps the old object whole.
  store.put_bytes("flow/y", "old");
  CHECK_THROWS_AS(store.put_file("flow/y", scratch / "a-directory"), StoreError);
  CHECK(store.get_bytes("flow/y") == "old");
}

TEST_CASE("local store: a writer killed mid-write leaves no object") {
  ScratchDirectory scratch;
  LocalObjectStore store(scratch / "store");
  const auto fifo = scratch / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const pid_t writer = ::fork();
  REQUIRE(writer >= 0);
  if (writer == 0) {
    try {
      store.put_file("flow/partial", fifo);
    } catch (...) {
    }
    ::_exit(0);
  }
  const int feed = ::open(fifo.c_str(), O_WRONLY);
  REQUIRE(feed >= 0);
  const std::string half(64 * 1024, 'p');
  REQUIRE(::write(feed, half.data(), half.size()) == static_cast<ssize_t>(half.size()));
  // Wait until the writer's temporary file holds data, then kill it mid-copy.
  for (int i = 0; i < 500 && count_files(scratch / "store") == 0; ++i) ::usleep(10000);
  ::usleep(50000);
  ::kill(writer, SIGKILL);
  int status = 0;
  ::waitpid(writer, &status, 0);
  ::close(feed);
  CHECK(WIFSIGNALED(status));
  CHECK_FALSE(store.head("flow/partial").has_value());
  CHECK(store.list("").empty());  // the orphaned temporary file is not an object
  CHECK(count_files(scratch / "store") == 1);
}

TEST_CASE("local store: exclusive create has exactly one winner under contention") {
  ScratchDirectory scratch;
  LocalObjectStore store(scratch.path());
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&store, &winners, i] {
      if (store.put_bytes_if_absent("runs/1.json", "writer " + std::to_string(i))) ++winners;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(winners == 1);
  CHECK(store.get_bytes("runs/1.json")->starts_with("writer "));
  CHECK_FALSE(store.put_bytes_if_absent("runs/1.json", "late"));
  CHECK(store.list("").size() == 1);
}

TEST_CASE("local store: list returns every key under a prefix with sizes, sorted") {
  ScratchDirectory scratch;
  LocalObjectStore store(scratch.path());
  store.put_bytes("flow/1/start/start/0/manifest.json", "12345");
  store.put_bytes("flow/1/end/end/0/stdout.log", "");
  store.put_bytes("flow/10/end/end/0/stdout.log", "1");
  store.put_bytes("other/x", "1");
  podflow::testing::write_file(scratch / "flow/1/.podflow-tmp.123.0.abc", "in flight");

  const auto run = store.list("flow/1/");
  REQUIRE(run.size() == 2);
  CHECK(run[0].key == "flow/1/end/end/0/stdout.log");
  CHECK(run[0].size == 0);
  CHECK(run[1].key == "flow/1/start/start/0/manifest.json");
  CHECK(run[1].size == 5);
  CHECK(store.list("flow/1").size() == 3);  // a plain string prefix, as on S3
  CHECK(store.list("").size() == 4);
  CHECK(store.list("nothing/here/").empty());
}

TEST_CASE("local store: ranges") {
  ScratchDirectory scratch;
  LocalObjectStore store(scratch.path());
  store.put_bytes("blob", "0123456789");
  CHECK(store.get_range("blob", 2, 3) == "234");
  CHECK(store.get_range("blob", 8, 100) == "89");
  CHECK(store.get_range("blob", 10, 1) == "");
  CHECK(store.get_range("blob", 0, 0) == "");
  CHECK_THROWS_WITH_AS(store.get_range("missing", 0, 1), podflow::testing::contains_text("missing"),
                       StoreError);
}

TEST_CASE("local store: files in and out") {
  ScratchDirectory scratch;
  LocalObjectStore store(scratch / "store");
  podflow::testing::write_file(scratch / "source", "payload");
  store.put_file("copied", scratch / "source");
  CHECK(std::filesystem::exists(scratch / "source"));
  store.put_file_consuming("moved", scratch / "source");
  CHECK(store.get_bytes("moved") == "payload");
  CHECK_FALSE(std::filesystem::exists(scratch / "source"));  // same filesystem: renamed
  CHECK(store.get_to_file("moved", scratch / "out"));
  CHECK(podflow::testing::read_file(scratch / "out") == "payload");
  CHECK_FALSE(store.get_to_file("missing", scratch / "out2"));
  CHECK_FALSE(std::filesystem::exists(scratch / "out2"));
}

TEST_CASE("local store: errors name the path and the cause") {
  ScratchDirectory scratch;
  LocalObjectStore store(scratch.path());
  store.put_bytes("file", "x");
  CHECK_THROWS_WITH_AS(
      store.put_bytes("file/below", "y"),
      podflow::testing::contains_text((scratch / "file").string() + ": Not a directory"),
      StoreError);
}
