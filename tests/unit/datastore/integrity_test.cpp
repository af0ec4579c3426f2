// Issue 18 in the local datastore: a stored blob is the store's own copy, a damaged blob is kept
// aside and healed by the next store of the same bytes, resume re-runs tasks whose blobs are
// gone, a full disk leaves no temporary file and says what uses the space, and a run id that was
// never used can be given back.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "datastore/datastore.hpp"
#include "datastore/local_object_store.hpp"
#include "datastore/sha256.hpp"
#include "datastore/store_error.hpp"
#include "datastore/task_attempts.hpp"
#include "tests/unit/datastore/contains_text.hpp"
#include "tests/unit/datastore/file_text.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"
#include "tests/unit/datastore/small_filesystem.hpp"

using podflow::datastore::BlobRef;
using podflow::datastore::Datastore;
using podflow::datastore::LocalObjectStore;
using podflow::datastore::Manifest;
using podflow::datastore::StoreError;
using podflow::testing::read_file;
using podflow::testing::ScratchDirectory;
using podflow::testing::write_file;
namespace fs = std::filesystem;

namespace {

Datastore local_datastore(const fs::path& root) {
  return Datastore(std::make_unique<LocalObjectStore>(root));
}

struct stat status_of(const fs::path& path) {
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  return status;
}

}  // namespace

TEST_CASE("integrity: a file with another link is copied into the store, never chmod-ed") {
  ScratchDirectory scratch;
  auto store = local_datastore(scratch / "store");
  write_file(scratch / "private", "mine");
  REQUIRE(::chmod((scratch / "private").c_str(), 0600) == 0);
  REQUIRE(::link((scratch / "private").c_str(), (scratch / "output").c_str()) == 0);

  const BlobRef blob = store.store_artifact("flow", scratch / "output");
  const auto stored = scratch / "store" / Datastore::blob_key("flow", blob.sha256);
  CHECK((status_of(scratch / "private").st_mode & 07777) == 0600);
  CHECK(status_of(stored).st_ino != status_of(scratch / "private").st_ino);
  CHECK((status_of(stored).st_mode & 07777) == 0444);
  write_file(scratch / "private", "changed");
  CHECK(read_file(stored) == "mine");

  // The same through put_file_consuming (logs take that path).
  REQUIRE(::link((scratch / "private").c_str(), (scratch / "log").c_str()) == 0);
  store.objects().put_file_consuming("flow/1/log", scratch / "log");
  CHECK((status_of(scratch / "private").st_mode & 07777) == 0600);
  CHECK(status_of(scratch / "store/flow/1/log").st_ino != status_of(scratch / "private").st_ino);
  CHECK(podflow::testing::temporary_files(scratch / "store").empty());
}

TEST_CASE("integrity: symbolic links and FIFOs are refused without following or blocking") {
  ScratchDirectory scratch;
  auto store = local_datastore(scratch / "store");
  write_file(scratch / "target", "t");
  fs::create_symlink(scratch / "target", scratch / "link");
  CHECK_THROWS_AS(store.store_artifact("flow", scratch / "link"), StoreError);
  REQUIRE(::mkfifo((scratch / "fifo").c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(store.store_artifact("flow", scratch / "fifo"),
                       podflow::testing::contains_text("not a regular file"), StoreError);
  CHECK(podflow::testing::temporary_files(scratch / "store").empty());
}

TEST_CASE("integrity: a damaged blob is kept aside, and the next store of its bytes heals it") {
  ScratchDirectory scratch;
  auto store = local_datastore(scratch / "store");
  const std::string bytes(3000, 'b');
  const BlobRef blob = store.store_artifact_bytes("flow", bytes);
  const std::string key = Datastore::blob_key("flow", blob.sha256);
  const auto file = scratch / "store" / key;
  CHECK(store.blob_intact("flow", blob));

  // Another inode under the name by now: left alone.
  CHECK_FALSE(store.quarantine_blob("flow", blob.sha256, status_of(file).st_ino + 1).has_value());
  CHECK(store.blob_intact("flow", blob));

  ::chmod(file.c_str(), 0644);
  write_file(file, bytes + "appended");  // what a step running as root could do
  const auto inode = status_of(file).st_ino;
  CHECK_FALSE(store.blob_intact("flow", blob));  // the wrong size
  const auto aside = store.quarantine_blob("flow", blob.sha256, inode);
  REQUIRE(aside.has_value());
  CHECK(aside->starts_with("flow/quarantine/" + blob.sha256 + "."));
  CHECK(read_file(scratch / "store" / *aside) == bytes + "appended");  // kept, for inspection
  CHECK_FALSE(store.objects().head(key).has_value());                  // never read as the blob
  CHECK_FALSE(store.blob_intact("flow", blob));

  // Healing: the next task that stores these bytes re-creates the blob.
  write_file(scratch / "again", bytes);
  CHECK(store.store_artifact("flow", scratch / "again") == blob);
  CHECK(read_file(file) == bytes);
  CHECK(store.blob_intact("flow", blob));

  // A present blob of the wrong size is replaced by a store, too.
  ::chmod(file.c_str(), 0644);
  write_file(file, "short");
  write_file(scratch / "third", bytes);
  CHECK(store.store_artifact("flow", scratch / "third") == blob);
  CHECK(read_file(file) == bytes);
}

TEST_CASE("integrity: resume re-runs, instead of reusing, a task whose blobs are damaged") {
  ScratchDirectory scratch;
  auto store = local_datastore(scratch / "store");
  auto commit = [&](const std::string& task, const std::string& content) {
    Manifest manifest;
    manifest.id = {"fan", "5", "each", task, 0};
    manifest.artifacts["x"] = store.store_artifact_bytes("fan", content);
    manifest.startedAt = manifest.finishedAt = "2026-11-21T16:25:47.120Z";
    store.write_manifest(manifest);
    return manifest.artifacts["x"];
  };
  commit("each.0", "fine");
  const BlobRef gone = commit("each.1", "gone");
  const BlobRef wrong = commit("each.2", "wrong size");
  store.objects().remove(Datastore::blob_key("fan", gone.sha256));
  store.objects().put_bytes(Datastore::blob_key("fan", wrong.sha256), "short");

  const auto result = podflow::datastore::clone_committed_tasks(
      store, "fan", "5", "6", [](const std::string&, const std::string&) { return true; });
  REQUIRE(result.cloned.size() == 1);
  CHECK(result.cloned[0].task == "each.0");
  REQUIRE(result.skipped.size() == 2);
  CHECK(result.skipped[0].task == "each.1");
  CHECK(result.skipped[0].reason ==
        "artifact 'x': blob " + Datastore::blob_key("fan", gone.sha256) + " in " + store.url() +
            " is missing; the task runs again to store it again");
  CHECK(result.skipped[1].task == "each.2");
  CHECK(result.skipped[1].reason.find("has 5 bytes, the manifest says 10") != std::string::npos);
  CHECK_FALSE(store.find_committed_attempt("fan", "6", "each", "each.1").has_value());
  CHECK(store.find_committed_attempt("fan", "6", "each", "each.0") == 0);
}

TEST_CASE("integrity: release_run_id removes only a placeholder") {
  ScratchDirectory scratch;
  auto store = local_datastore(scratch / "store");
  const std::string first = store.allocate_run_id();
  CHECK(store.release_run_id(first));
  CHECK_FALSE(store.read_run_record(first).has_value());
  CHECK_FALSE(store.release_run_id(first));  // nothing left to release
  CHECK(store.allocate_run_id() == first);   // the id is free again

  const std::string second = store.allocate_run_id();
  store.write_run_record(second, {{"run", second}, {"flow", "fan"}, {"state", "running"}});
  CHECK_FALSE(store.release_run_id(second));  // a real record is never lost
  CHECK(store.read_run_record(second).has_value());
}

TEST_CASE("integrity: a full filesystem leaves no temporary file and says what uses the space") {
  ScratchDirectory scratch;
  const auto root = scratch / "store";
  podflow::testing::SmallFilesystem small(root, "1m");
  if (!small.mounted()) {
    MESSAGE("SKIPPED: cannot mount a 1 MiB tmpfs at " << root.string() << " (" << small.why_not()
                                                      << "); run the tests as root");
    return;
  }
  auto store = local_datastore(root);
  store.write_run_record("1", {{"run", "1"}});
  write_file(scratch / "big", std::string(2 << 20, 'x'));  // outside: copied, and too big

  std::string message;
  try {
    store.store_artifact("flow", scratch / "big");
  } catch (const StoreError& error) {
    message = error.what();
    CHECK(error.error_number() == ENOSPC);
  }
  CAPTURE(message);
  CHECK(message.starts_with("cannot store " + (scratch / "big").string() +
                            " (2.0 MiB) in the datastore: cannot write " +
                            (root / "flow/data/.podflow-tmp.").string()));
  CHECK(message.find(": No space left on device; the filesystem of " + root.string() +
                     "/flow/data has ") != std::string::npos);
  CHECK(message.find(" free of 1.0 MiB (after removing the partial file); podflow keeps there "
                     "the datastore " +
                     root.string() + " (_runs ") != std::string::npos);
  CHECK(message.find("the local runs' work directories in _work; free space there") !=
        std::string::npos);
  CHECK(podflow::testing::temporary_files(root).empty());
  CHECK(fs::exists(scratch / "big"));  // a failed store does not consume the file

  CHECK_THROWS_WITH_AS(store.store_artifact_bytes("flow", std::string(2 << 20, 'y')),
                       podflow::testing::contains_text("No space left on device; the filesystem"),
                       StoreError);
  CHECK(podflow::testing::temporary_files(root).empty());

  // Inputs copied into a work directory on the full filesystem: the same advice, nothing left.
  auto elsewhere = local_datastore(scratch / "elsewhere");
  const BlobRef input = elsewhere.store_artifact_bytes("flow", std::string(1536 << 10, 'i'));
  fs::create_directories(root / "_work/task/inputs");
  CHECK_THROWS_WITH_AS(
      elsewhere.fetch_artifact("flow", input, root / "_work/task/inputs/i", "i"),
      podflow::testing::contains_text(": No space left on device; the filesystem of " +
                                      (root / "_work/task/inputs").string() + " has "),
      StoreError);
  CHECK(podflow::testing::temporary_files(root).empty());
  CHECK_FALSE(fs::exists(root / "_work/task/inputs/i"));
}
