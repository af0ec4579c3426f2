// The S3 store against a real S3 server: the test cluster's MinIO (PODFLOW_S3_ENDPOINT,
// PODFLOW_S3_BUCKET, AWS_* from $PODFLOW_CLUSTER_DIR/env). Nothing is mocked. Every test works
// under a prefix of its own, removed at the end.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "datastore/artifact_transfers.hpp"
#include "datastore/credential_chain.hpp"
#include "datastore/datastore.hpp"
#include "datastore/parallel_for.hpp"
#include "datastore/s3_object_store.hpp"
#include "datastore/sha256.hpp"
#include "datastore/store_error.hpp"
#include "tests/unit/datastore/contains_text.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"

namespace {

namespace fs = std::filesystem;
using podflow::datastore::AwsCredentials;
using podflow::datastore::S3ObjectStore;
using podflow::datastore::S3Settings;
using podflow::datastore::StoreError;
using podflow::testing::contains_text;
using podflow::testing::ScratchDirectory;

constexpr std::uint64_t kMiB = 1024 * 1024;

std::string bucket() {
  const char* name = std::getenv("PODFLOW_S3_BUCKET");
  REQUIRE_MESSAGE(name != nullptr, "PODFLOW_S3_BUCKET is not set: source $PODFLOW_CLUSTER_DIR/env");
  return name;
}

// A prefix no other run uses: s3://<bucket>/podflow-s3-tests/<pid>-<random>/<name>.
std::string unique_url(const std::string& name) {
  static const std::string run = [] {
    std::random_device random;
    return std::to_string(::getpid()) + "-" + std::to_string(random() % 1000000);
  }();
  return "s3://" + bucket() + "/podflow-s3-tests/" + run + "/" + name;
}

S3Settings settings_with_parts_of(std::uint64_t part_size) {
  S3Settings settings =
      podflow::datastore::s3_settings_from_environment(podflow::datastore::process_environment());
  settings.part_size = part_size;
  return settings;
}

AwsCredentials credentials() {
  return podflow::datastore::resolve_aws_credentials(podflow::datastore::process_environment());
}

// A store whose objects are deleted when the test ends.
class TestStore {
 public:
  explicit TestStore(const std::string& name, std::uint64_t part_size = 5 * kMiB)
      : store_(unique_url(name), settings_with_parts_of(part_size), credentials()) {}
  ~TestStore() {
    try {
      const auto objects = store_.list("");
      podflow::datastore::parallel_for(
          objects.size(), 16, [&](std::size_t, std::size_t i) { store_.remove(objects[i].key); });
    } catch (const std::exception&) {
    }
  }
  S3ObjectStore* operator->() { return &store_; }
  S3ObjectStore& operator*() { return store_; }

 private:
  S3ObjectStore store_;
};

// Deterministic pseudo-random bytes (so a wrong offset never looks right).
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

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(file.good());
}

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

}  // namespace

TEST_CASE("s3 round trips of 0 B, 1 B, 5 MiB - 1 and 5 MiB + 1 (parts of 5 MiB)") {
  TestStore store("round-trips");
  ScratchDirectory scratch;
  for (const std::uint64_t size :
       std::vector<std::uint64_t>{0, 1, 5 * kMiB - 1, 5 * kMiB, 5 * kMiB + 1, 12 * kMiB + 3}) {
    CAPTURE(size);
    const std::string bytes = pattern(size, static_cast<std::uint32_t>(size));
    const std::string key = "sizes/" + std::to_string(size);
    write_file(scratch / "in", bytes);
    store->put_file(key + ".file", scratch / "in");
    store->put_bytes(key + ".bytes", bytes);
    for (const std::string suffix : {".file", ".bytes"}) {
      REQUIRE(store->head(key + suffix).has_value());
      CHECK(store->head(key + suffix)->size == size);
      const auto copy = store->get_bytes(key + suffix);
      REQUIRE(copy.has_value());
      CHECK((*copy == bytes));
      const fs::path out = scratch / ("out" + suffix);
      REQUIRE(store->get_to_file(key + suffix, out));
      CHECK(fs::file_size(out) == size);
      CHECK((read_file(out) == bytes));
    }
    if (size > 10) {
      CHECK((store->get_range(key + ".file", size - 10, 100) == bytes.substr(size - 10)));
      CHECK((store->get_range(key + ".file", 3, 5) == bytes.substr(3, 5)));
    }
    CHECK(store->get_range(key + ".file", size + 5, 10).empty());
  }
}

TEST_CASE("s3 a missing object is a return value, never a file or an error") {
  TestStore store("missing");
  ScratchDirectory scratch;
  CHECK_FALSE(store->get_bytes("no/such/key").has_value());
  CHECK_FALSE(store->head("no/such/key").has_value());
  CHECK_FALSE(store->get_to_file("no/such/key", scratch / "out"));
  CHECK_FALSE(fs::exists(scratch / "out"));
  CHECK_FALSE(store->remove("no/such/key"));
  CHECK_THROWS_WITH_AS(store->get_range("no/such/key", 0, 10), contains_text("no such object"),
                       StoreError);
  CHECK(store->list("no/such/").empty());
  CHECK_FALSE(store->local_path("no/such/key").has_value());
}

TEST_CASE("s3 keys with spaces, unicode and reserved characters round-trip and list") {
  TestStore store("odd keys");
  const std::vector<std::string> keys = {
      "dir with spaces/file name.txt", "unicode/ü ñ 日本語 🚀.bin", "reserved/a+b=c&d?e#f%20g",
      "tilde~/x;y,z:'(q)'!*@$",        "plus+/only+plus",          "deep/a/b/c/d/e/f/g"};
  for (const auto& key : keys) store->put_bytes(key, "value of " + key);
  for (const auto& key : keys) {
    CAPTURE(key);
    CHECK(store->get_bytes(key).value_or("") == "value of " + key);
    CHECK(store->head(key)->size == ("value of " + key).size());
  }
  const auto listed = store->list("");
  REQUIRE(listed.size() == keys.size());
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < keys.size(); ++i) CHECK(listed[i].key == sorted[i]);
  CHECK(store->list("unicode/").size() == 1);
  CHECK(store->remove(keys[1]));
  CHECK_FALSE(store->head(keys[1]).has_value());
}

TEST_CASE("s3 listing pages past 1000 keys, sorted, with sizes") {
  TestStore store("listing");
  constexpr std::size_t kCount = 2345;
  podflow::datastore::parallel_for(kCount, 32, [&](std::size_t, std::size_t i) {
    store->put_bytes("many/" + std::to_string(i), std::string(i % 7, 'x'));
  });
  store->put_bytes("other/file", "x");
  const auto listed = store->list("many/");
  REQUIRE(listed.size() == kCount);
  CHECK(std::is_sorted(listed.begin(), listed.end(),
                       [](const auto& a, const auto& b) { return a.key < b.key; }));
  for (const auto& object : listed) {
    CHECK(object.size == std::stoull(object.key.substr(5)) % 7);
  }
  CHECK(store->list("").size() == kCount + 1);
}

TEST_CASE("s3 exclusive create: exactly one of many concurrent writers wins") {
  TestStore store("exclusive");
  CHECK(store->put_bytes_if_absent("runs/1.json", "first"));
  CHECK_FALSE(store->put_bytes_if_absent("runs/1.json", "second"));
  CHECK(store->get_bytes("runs/1.json").value() == "first");

  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      if (store->put_bytes_if_absent("runs/2.json", "writer " + std::to_string(t))) ++winners;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(winners == 1);
}

TEST_CASE("s3 datastore: run ids, artifacts, manifests and logs over S3") {
  const std::string url = unique_url("datastore");
  TestStore cleanup("datastore");
  auto store = podflow::datastore::open_datastore(url);
  CHECK(store->url() == url);
  CHECK(store->allocate_run_id() == "1");
  CHECK(store->allocate_run_id() == "2");

  ScratchDirectory scratch;
  const std::string bytes = pattern(3 * kMiB + 17, 7);
  write_file(scratch / "artifact", bytes);
  const auto blob = store->store_artifact("flow", scratch / "artifact");
  CHECK(blob.sha256 == podflow::datastore::sha256_hex(bytes));
  CHECK(store->has_blob("flow", blob.sha256));
  store->fetch_artifact("flow", blob, scratch / "fetched", "weights");
  CHECK((read_file(scratch / "fetched") == bytes));
  CHECK((fs::status(scratch / "fetched").permissions() & fs::perms::owner_write) ==
        fs::perms::none);

  const podflow::datastore::AttemptId id{"flow", "1", "start", "start", 0};
  store->put_log(id, podflow::datastore::LogStream::standard_output, "hello\n");
  CHECK(store->get_log(id, podflow::datastore::LogStream::standard_output).value() == "hello\n");
  podflow::datastore::Manifest manifest;
  manifest.id = id;
  manifest.artifacts["weights"] = blob;
  store->write_manifest(manifest);
  CHECK(store->read_manifest(id)->artifacts.at("weights") == blob);
  CHECK(store->find_committed_attempt("flow", "1", "start", "start") == 0);
}

TEST_CASE("s3 a corrupt or truncated blob is detected and never handed over") {
  const std::string url = unique_url("corrupt");
  TestStore cleanup("corrupt");
  auto store = podflow::datastore::open_datastore(url);
  ScratchDirectory scratch;
  const std::string bytes = pattern(2 * kMiB + 5, 11);
  write_file(scratch / "artifact", bytes);
  const auto blob = store->store_artifact("flow", scratch / "artifact");
  const std::string key = podflow::datastore::Datastore::blob_key("flow", blob.sha256);

  SUBCASE("same size, one byte flipped") {
    std::string corrupt = bytes;
    corrupt[1234567] ^= 1;
    store->objects().put_bytes(key, corrupt);
    CHECK_THROWS_WITH_AS(store->fetch_artifact("flow", blob, scratch / "out", "weights"),
                         contains_text("artifact 'weights'"), StoreError);
  }
  SUBCASE("truncated") {
    store->objects().put_bytes(key, std::string_view(bytes).substr(0, bytes.size() - 100));
    CHECK_THROWS_WITH_AS(store->fetch_artifact("flow", blob, scratch / "out", "weights"),
                         contains_text("corrupt"), StoreError);
  }
  SUBCASE("missing") {
    store->objects().remove(key);
    CHECK_THROWS_WITH_AS(store->fetch_artifact("flow", blob, scratch / "out", "weights"),
                         contains_text("missing"), StoreError);
  }
  CHECK_FALSE(fs::exists(scratch / "out"));
  std::size_t left = 0;
  for (const auto& entry : fs::directory_iterator(scratch.path()))
    left += entry.path() != scratch / "artifact";
  CHECK(left == 0);  // no temporary file left behind either
}

TEST_CASE("s3 the hash follows the ranges: a flipped byte in the last of several is caught") {
  // 25 MiB + 7: the first 1 MiB, then ranges of 8 MiB (the default part size) downloaded in
  // parallel and hashed in order as they land.
  const std::string url = unique_url("hashed-ranges");
  TestStore cleanup("hashed-ranges");
  auto store = podflow::datastore::open_datastore(url);
  ScratchDirectory scratch;
  const std::string bytes = pattern(25 * kMiB + 7, 5);
  write_file(scratch / "artifact", bytes);
  const auto blob = store->store_artifact("flow", scratch / "artifact");
  store->fetch_artifact("flow", blob, scratch / "good", "weights");
  CHECK((read_file(scratch / "good") == bytes));
  std::string corrupt = bytes;
  corrupt[bytes.size() - 3] ^= 1;
  store->objects().put_bytes(podflow::datastore::Datastore::blob_key("flow", blob.sha256), corrupt);
  CHECK_THROWS_WITH_AS(store->fetch_artifact("flow", blob, scratch / "bad", "weights"),
                       contains_text("the store is corrupt"), StoreError);
  CHECK_FALSE(fs::exists(scratch / "bad"));
}

TEST_CASE("s3 a hashed download in ranges larger than the part size, hashed as they stream in") {
  // 41 MiB + 3 with parts of 5 MiB: after the first 1 MiB, the rest is shared among the 4
  // ranges in flight (11 MiB each, more than a part), and the hash follows each range as its
  // bytes land rather than waiting for it to end.
  TestStore store("wide-ranges", 5 * kMiB);
  ScratchDirectory scratch;
  const std::string bytes = pattern(41 * kMiB + 3, 23);
  store->put_bytes("wide", bytes);
  const auto digest = store->get_to_file_hashed("wide", scratch / "out");
  REQUIRE(digest.has_value());
  podflow::datastore::Sha256 expected;
  expected.update(bytes);
  CHECK(digest->sha256 == expected.hex_digest());
  CHECK(digest->size == bytes.size());
  CHECK((read_file(scratch / "out") == bytes));
  CHECK(fs::file_size(scratch / "out") == bytes.size());  // allocated ahead, never longer
}

TEST_CASE("s3 a small artifact stored twice is one blob, and an empty one works") {
  const std::string url = unique_url("small-twice");
  TestStore cleanup("small-twice");
  auto store = podflow::datastore::open_datastore(url);
  ScratchDirectory scratch;
  for (const std::string& bytes : {std::string("x 1"), std::string()}) {
    write_file(scratch / "first", bytes);
    const auto first = store->store_artifact("flow", scratch / "first");
    // The second store finds the blob there (the create-if-absent PUT answers 412).
    write_file(scratch / "second", bytes);
    const auto second = store->store_artifact("flow", scratch / "second");
    CHECK(first.sha256 == podflow::datastore::sha256_hex(bytes));
    CHECK(second.sha256 == first.sha256);
    CHECK(second.size == bytes.size());
    store->fetch_artifact("flow", second, scratch / ("fetched" + std::to_string(bytes.size())),
                          "x");
    CHECK((read_file(scratch / ("fetched" + std::to_string(bytes.size()))) == bytes));
  }
}

TEST_CASE("s3 many small artifacts move in parallel") {
  const std::string url = unique_url("small-artifacts");
  TestStore cleanup("small-artifacts");
  auto store = podflow::datastore::open_datastore(url);
  ScratchDirectory scratch;
  fs::create_directories(scratch / "out");
  fs::create_directories(scratch / "in");
  constexpr std::size_t kCount = 1000;
  std::vector<fs::path> files;
  for (std::size_t i = 0; i < kCount; ++i) {
    files.push_back(scratch / "out" / std::to_string(i));
    write_file(files.back(), pattern(4096, static_cast<std::uint32_t>(i)));
  }
  const auto started = std::chrono::steady_clock::now();
  const auto blobs = podflow::datastore::store_artifacts(*store, "flow", files);
  std::vector<podflow::datastore::ArtifactFetch> fetches;
  for (std::size_t i = 0; i < kCount; ++i) {
    fetches.push_back({blobs[i], scratch / "in" / std::to_string(i), std::to_string(i)});
  }
  podflow::datastore::fetch_artifacts(*store, "flow", fetches);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE(kCount << " artifacts of 4 KiB stored and fetched in " << seconds << " s");
  for (std::size_t i = 0; i < kCount; ++i) {
    CHECK((read_file(fetches[i].destination) == pattern(4096, static_cast<std::uint32_t>(i))));
  }
}

TEST_CASE("s3 wrong credentials say which keys to check") {
  auto settings = settings_with_parts_of(5 * kMiB);
  AwsCredentials wrong = credentials();
  wrong.keys.secret_access_key = "not-the-secret";
  S3ObjectStore store(unique_url("wrong-credentials"), settings, wrong);
  CHECK_THROWS_WITH_AS(store.put_bytes("x", "y"),
                       contains_text("check the credentials (key id podflowtest from environment "
                                     "variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"),
                       StoreError);
  CHECK_THROWS_WITH_AS(store.get_bytes("x"), contains_text("HTTP 403 SignatureDoesNotMatch"),
                       StoreError);
  CHECK_THROWS_WITH_AS(store.head("x"), contains_text("HTTP 403"), StoreError);
  wrong.keys.access_key_id = "NOSUCHKEY";
  S3ObjectStore unknown(unique_url("wrong-credentials"), settings, wrong);
  CHECK_THROWS_WITH_AS(unknown.list(""), contains_text("InvalidAccessKeyId"), StoreError);
  try {
    store.put_bytes("x", "y");
  } catch (const StoreError& error) {
    CHECK(std::string(error.what()).find("not-the-secret") == std::string::npos);
  }
}

TEST_CASE("s3 a missing bucket says how to create it") {
  const std::string url = "s3://podflow-no-such-bucket-" + std::to_string(::getpid()) + "/prefix";
  S3ObjectStore store(url, settings_with_parts_of(5 * kMiB), credentials());
  const std::string hint = "create it with `aws s3 mb s3://podflow-no-such-bucket-";
  CHECK_THROWS_WITH_AS(store.put_bytes("x", "y"), contains_text(hint), StoreError);
  CHECK_THROWS_WITH_AS(store.get_bytes("x"), contains_text(hint), StoreError);
  CHECK_THROWS_WITH_AS(store.list(""), contains_text("NoSuchBucket"), StoreError);
  CHECK_THROWS_WITH_AS(podflow::datastore::open_datastore(url)->allocate_run_id(),
                       contains_text(hint), StoreError);
}

TEST_CASE("s3 an unreachable endpoint fails after the retry budget with a clear message") {
  auto settings = settings_with_parts_of(5 * kMiB);
  settings.endpoint = podflow::datastore::parse_s3_endpoint("http://127.0.0.1:1", "test");
  settings.retry_seconds = 2;
  S3ObjectStore store(unique_url("unreachable"), settings, credentials());
  const auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(store.get_bytes("x"), contains_text("gave up after"), StoreError);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CHECK(seconds < 10);
  CHECK(seconds > 0.5);  // it did retry
}

TEST_CASE("s3 1 GiB round trip through a file, in parallel parts and ranges") {
  TestStore store("one-gib", 16 * kMiB);
  ScratchDirectory scratch;
  constexpr std::uint64_t kSize = 1024 * kMiB;
  {
    // Written in chunks, so the test itself does not hold 1 GiB.
    std::ofstream file(scratch / "in", std::ios::binary);
    for (std::uint64_t offset = 0; offset < kSize; offset += 64 * kMiB) {
      const std::string chunk = pattern(64 * kMiB, static_cast<std::uint32_t>(offset / kMiB));
      file.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
    REQUIRE(file.good());
  }
  const auto digest = podflow::datastore::sha256_file(scratch / "in");
  const auto started = std::chrono::steady_clock::now();
  store->put_file("big", scratch / "in");
  const auto uploaded = std::chrono::steady_clock::now();
  REQUIRE(store->get_to_file("big", scratch / "out"));
  const auto downloaded = std::chrono::steady_clock::now();
  MESSAGE("1 GiB up in " << std::chrono::duration<double>(uploaded - started).count()
                         << " s, down in "
                         << std::chrono::duration<double>(downloaded - uploaded).count() << " s");
  CHECK(store->head("big")->size == kSize);
  const auto copy = podflow::datastore::sha256_file(scratch / "out");
  CHECK(copy.sha256 == digest.sha256);
  CHECK(copy.size == kSize);
}
