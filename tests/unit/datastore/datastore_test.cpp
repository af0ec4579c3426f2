#include <doctest/doctest.h>
#include <sys/stat.h>

#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "datastore/datastore.hpp"
#include "datastore/local_object_store.hpp"
#include "datastore/sha256.hpp"
#include "datastore/store_error.hpp"
#include "tests/unit/datastore/contains_text.hpp"
#include "tests/unit/datastore/file_text.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"

using podflow::datastore::AttemptId;
using podflow::datastore::BlobRef;
using podflow::datastore::Datastore;
using podflow::datastore::LocalObjectStore;
using podflow::datastore::LogStream;
using podflow::datastore::Manifest;
using podflow::datastore::StoreError;
using podflow::testing::read_file;
using podflow::testing::ScratchDirectory;
using podflow::testing::write_file;

namespace {

Datastore local_datastore(const std::filesystem::path& root, bool expose_local_paths = true) {
  return Datastore(std::make_unique<LocalObjectStore>(
      root, podflow::datastore::LocalObjectStoreOptions{expose_local_paths}));
}

struct stat status_of(const std::filesystem::path& path) {
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  return status;
}

}  // namespace

TEST_CASE("datastore: keys follow the documented layout") {
  const AttemptId attempt{"fanout", "15", "square", "square.3", 1};
  const std::string sha = podflow::datastore::sha256_hex("x");
  CHECK(Datastore::blob_key("fanout", sha) == "fanout/data/" + sha.substr(0, 2) + "/" + sha);
  CHECK(Datastore::manifest_key(attempt) == "fanout/15/square/square.3/1/manifest.json");
  CHECK(Datastore::log_key(attempt, LogStream::standard_output) ==
        "fanout/15/square/square.3/1/stdout.log");
  CHECK(Datastore::log_key(attempt, LogStream::standard_error) ==
        "fanout/15/square/square.3/1/stderr.log");
  CHECK(Datastore::run_record_key("7") == "_runs/7.json");
  CHECK_THROWS_AS(Datastore::blob_key("fanout", "../../etc"), StoreError);
}

TEST_CASE("datastore: equal content is stored once, as a read-only blob") {
  ScratchDirectory scratch;
  auto datastore = local_datastore(scratch / "store");
  write_file(scratch / "a", "same content");
  write_file(scratch / "b", "same content");
  const BlobRef first = datastore.store_artifact("flow", scratch / "a");
  const BlobRef second = datastore.store_artifact("flow", scratch / "b");
  CHECK(first == second);
  CHECK(first.sha256 == podflow::datastore::sha256_hex("same content"));
  CHECK(first.size == 12);
  CHECK(datastore.objects().list("flow/data/").size() == 1);
  CHECK(datastore.store_artifact_bytes("flow", "same content") == first);
  CHECK(datastore.objects().list("flow/data/").size() == 1);
  const auto blob = scratch / "store" / Datastore::blob_key("flow", first.sha256);
  CHECK((status_of(blob).st_mode & 0777) == 0444);
  CHECK_FALSE(std::filesystem::exists(scratch / "a"));  // moved into place, not copied
  CHECK(datastore.has_blob("flow", first.sha256));
  CHECK_FALSE(datastore.has_blob("other", first.sha256));  // blobs are per flow
}

TEST_CASE("datastore: a local fetch hard-links a large blob and copies a small one") {
  ScratchDirectory scratch;
  auto datastore = local_datastore(scratch / "store");
  // Large: a hard link (on a filesystem without reflinks, such as ext4 or tmpfs).
  const std::string weights(Datastore::kCopyBelowBytes, 'w');
  const BlobRef blob = datastore.store_artifact_bytes("flow", weights);
  std::filesystem::create_directories(scratch / "inputs");
  datastore.fetch_artifact("flow", blob, scratch / "inputs/model", "model");
  CHECK(read_file(scratch / "inputs/model") == weights);
  const auto stored = scratch / "store" / Datastore::blob_key("flow", blob.sha256);
  CHECK(status_of(scratch / "inputs/model").st_ino == status_of(stored).st_ino);
  CHECK((status_of(scratch / "inputs/model").st_mode & 0777) == 0444);

  // Small: the task's own copy, so writing to it cannot change the shared blob.
  const BlobRef small = datastore.store_artifact_bytes("flow", "bias");
  datastore.fetch_artifact("flow", small, scratch / "inputs/bias", "bias");
  CHECK(read_file(scratch / "inputs/bias") == "bias");
  const auto small_blob = scratch / "store" / Datastore::blob_key("flow", small.sha256);
  CHECK(status_of(scratch / "inputs/bias").st_ino != status_of(small_blob).st_ino);
  CHECK((status_of(scratch / "inputs/bias").st_mode & 0777) == 0444);
}

TEST_CASE("datastore: a fetch through a remote-style store verifies the hash") {
  ScratchDirectory scratch;
  const BlobRef blob = local_datastore(scratch / "store").store_artifact_bytes("flow", "genuine");
  // A copy of the store, as a remote store would serve it, with one blob tampered with.
  std::filesystem::copy(scratch / "store", scratch / "copy",
                        std::filesystem::copy_options::recursive);
  const auto tampered = scratch / "copy" / Datastore::blob_key("flow", blob.sha256);
  std::filesystem::permissions(tampered, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  write_file(tampered, "forged!");  // same size

  auto remote = local_datastore(scratch / "copy", false);
  std::filesystem::create_directories(scratch / "inputs");
  const std::string forged = podflow::datastore::sha256_hex("forged!");
  CHECK_THROWS_WITH_AS(remote.fetch_artifact("flow", blob, scratch / "inputs/items", "items"),
                       podflow::testing::contains_text(
                           "artifact 'items': blob flow/data/" + blob.sha256.substr(0, 2) + "/" +
                           blob.sha256 + " in " + (scratch / "copy").string() + " has sha256 " +
                           forged + ", expected " + blob.sha256),
                       StoreError);
  CHECK(std::filesystem::is_empty(scratch / "inputs"));  // nothing handed over, no temp left

  auto genuine = local_datastore(scratch / "store", false);
  genuine.fetch_artifact("flow", blob, scratch / "inputs/items", "items");
  CHECK(read_file(scratch / "inputs/items") == "genuine");
  CHECK((status_of(scratch / "inputs/items").st_mode & 0777) == 0444);

  // The local path checks sizes (hashing every input of every task would cost too much).
  write_file(tampered, "forged, and longer");
  auto local_copy = local_datastore(scratch / "copy");
  CHECK_THROWS_WITH_AS(local_copy.fetch_artifact("flow", blob, scratch / "inputs/other", "other"),
                       podflow::testing::contains_text("has 18 bytes, the manifest says 7"),
                       StoreError);

  const BlobRef missing{podflow::datastore::sha256_hex("never stored"), 12};
  CHECK_THROWS_WITH_AS(remote.fetch_artifact("flow", missing, scratch / "inputs/m", "m"),
                       podflow::testing::contains_text("artifact 'm': blob"), StoreError);
}

TEST_CASE("datastore: blob ranges") {
  ScratchDirectory scratch;
  auto datastore = local_datastore(scratch.path());
  const BlobRef blob = datastore.store_artifact_bytes("flow", "[1, \"two\", {\"x\": 3}]");
  CHECK(datastore.read_blob_range("flow", blob.sha256, 4, 5) == "\"two\"");
}

TEST_CASE("datastore: run ids count up from 1") {
  ScratchDirectory scratch;
  auto datastore = local_datastore(scratch.path());
  CHECK(datastore.allocate_run_id() == "1");
  CHECK(datastore.allocate_run_id() == "2");
  datastore.write_run_record("9", {{"run", "9"}, {"state", "succeeded"}});
  CHECK(datastore.allocate_run_id() == "10");
  CHECK(datastore.read_run_record("9")->at("state") == "succeeded");
  CHECK_FALSE(datastore.read_run_record("4").has_value());
  const auto records = datastore.list_run_records();
  REQUIRE(records.size() == 4);
  CHECK(records[0].run == "1");
  CHECK(records[0].record == nlohmann::json{{"run", "1"}});  // the placeholder
  CHECK(records[2].run == "9");
  CHECK(records[3].run == "10");  // numeric order
}

TEST_CASE("datastore: concurrent run id allocation gives distinct ids") {
  ScratchDirectory scratch;
  std::mutex mutex;
  std::multiset<std::string> ids;
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      auto datastore = local_datastore(scratch.path());  // one store per "process"
      for (int j = 0; j < 10; ++j) {
        const std::string id = datastore.allocate_run_id();
        std::lock_guard lock(mutex);
        ids.insert(id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(ids.size() == 60);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 60);
  CHECK(local_datastore(scratch.path()).list_run_records().back().run == "60");
}

TEST_CASE("datastore: manifests, committed attempts and logs") {
  ScratchDirectory scratch;
  auto datastore = local_datastore(scratch.path());
  const AttemptId failed{"flow", "3", "train", "train.1", 0};
  const AttemptId retried{"flow", "3", "train", "train.1", 1};
  CHECK_FALSE(datastore.find_committed_attempt("flow", "3", "train", "train.1").has_value());
  datastore.put_log(failed, LogStream::standard_error, "Traceback ...\n");
  CHECK_FALSE(datastore.find_committed_attempt("flow", "3", "train", "train.1").has_value());

  write_file(scratch / "out.log", "epoch 1\n");
  datastore.put_log_file(retried, LogStream::standard_output, scratch / "out.log");
  Manifest manifest;
  manifest.id = retried;
  manifest.artifacts["model"] = datastore.store_artifact_bytes("flow", "model bytes");
  manifest.startedAt = "2026-11-21T16:00:00.000Z";
  manifest.finishedAt = "2026-11-21T16:00:01.000Z";
  datastore.write_manifest(manifest);

  CHECK(datastore.find_committed_attempt("flow", "3", "train", "train.1") == 1);
  CHECK(datastore.read_manifest(retried) == manifest);
  CHECK_FALSE(datastore.read_manifest(failed).has_value());
  CHECK(datastore.get_log(failed, LogStream::standard_error) == "Traceback ...\n");
  CHECK(datastore.get_log(retried, LogStream::standard_output) == "epoch 1\n");
  CHECK_FALSE(datastore.get_log(failed, LogStream::standard_output).has_value());
  // train.10 shares a string prefix with train.1 but is another task.
  CHECK_FALSE(datastore.find_committed_attempt("flow", "3", "train", "train.10").has_value());

  datastore.objects().put_bytes(Datastore::manifest_key(failed), "{\"flow\": 1}");
  CHECK_THROWS_WITH_AS(
      datastore.read_manifest(failed),
      podflow::testing::contains_text("malformed manifest flow/3/train/train.1/0/manifest.json"),
      StoreError);
}

TEST_CASE("datastore: open_datastore takes a directory, and refuses unknown schemes") {
  ScratchDirectory scratch;
  const auto datastore = podflow::datastore::open_datastore((scratch / "new/.podflow").string());
  CHECK(std::filesystem::is_directory(scratch / "new/.podflow"));
  CHECK(datastore->url() == (scratch / "new/.podflow").string());
  CHECK_THROWS_WITH_AS(podflow::datastore::open_datastore("gs://bucket/prefix"),
                       doctest::Contains("unsupported datastore gs://bucket/prefix"), StoreError);
  CHECK_THROWS_AS(podflow::datastore::open_datastore(""), StoreError);
}
