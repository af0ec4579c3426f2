// The podflow layout on top of an ObjectStore (docs/datastore.md):
//
//   <flow>/data/<sha256[0:2]>/<sha256>                          artifact blobs, shared by runs
//   <flow>/<run>/<step>/<task>/<attempt>/manifest.json           the commit record of an attempt
//   <flow>/<run>/<step>/<task>/<attempt>/stdout.log, stderr.log  what the step printed
//   _runs/<run>.json                                             the run index (written by the CLI)
//
// Flow names are DNS labels, so "_runs" never collides with a flow. Every method throws
// StoreError, whose message names the operation, the key or path and the cause.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "datastore/attempt_id.hpp"
#include "datastore/blob_ref.hpp"
#include "datastore/manifest.hpp"
#include "datastore/object_store.hpp"

namespace podflow::datastore {

enum class LogStream { standard_output, standard_error };

struct RunRecord {
  std::string run;
  nlohmann::json record;  // as written by write_run_record; a placeholder for an allocated id
};

class Datastore {
 public:
  // Local inputs smaller than this are copied, not hard-linked: a step that writes to one then
  // changes only its own copy, never a blob other tasks and runs share.
  static constexpr std::uint64_t kCopyBelowBytes = 1 << 20;
  // Remote blobs up to this size are stored in one request, from memory (store_artifact).
  static constexpr std::uint64_t kSmallBlobBytes = 1 << 20;

  explicit Datastore(ObjectStorePtr objects);

  ObjectStore& objects() { return *objects_; }
  std::string url() const { return objects_->url(); }
  // A directory on this machine (LocalObjectStore): its operations are system calls, not round
  // trips, so running a few of them on threads of their own costs more than it saves.
  bool is_local() const { return local_; }

  // ---- keys ----
  static std::string blob_key(const std::string& flow, const std::string& sha256);
  // "<flow>/<run>/<step>/<task>/" : every attempt of the task lives under it.
  static std::string task_prefix(const std::string& flow, const std::string& run,
                                 const std::string& step, const std::string& task);
  static std::string attempt_prefix(const AttemptId& attempt);  // ".../<attempt>/"
  static std::string manifest_key(const AttemptId& attempt);
  static std::string log_key(const AttemptId& attempt, LogStream stream);
  static std::string run_record_key(const std::string& run);  // "_runs/<run>.json"

  // ---- runs ----
  // The next run id, "1", "2", ...: one more than the largest in _runs/, reserved with an
  // exclusive create of _runs/<n>.json holding the placeholder {"run": "<n>"}, moving on to n+1
  // when another process got n first. Safe across threads, processes and hosts sharing the store.
  std::string allocate_run_id();
  // Gives back a run id that allocate_run_id reserved when the run could not start (writing its
  // record failed, say on a full disk): removes _runs/<run>.json only if it still holds the
  // placeholder, so a real record is never lost. True when it was removed.
  bool release_run_id(const std::string& run);
  void write_run_record(const std::string& run, const nlohmann::json& record);
  std::optional<nlohmann::json> read_run_record(const std::string& run);
  // Every run record, in increasing run-id order. Records that are not valid JSON are skipped.
  std::vector<RunRecord> list_run_records();

  // ---- artifacts ----
  // Stores the file as a content-addressed blob of `flow` and returns its reference. Streams
  // the file through SHA-256 in constant memory; skips the upload when the blob exists with the
  // right size (a missing or wrong-sized blob is written again: that is how a damaged blob
  // heals). CONSUMES the file: a local store moves it into place (no copy) when it is a file
  // with one link owned by this user, else copies it (a reflink where possible), and hashes the
  // store's own copy, so the blob's bytes always match its name and a hard link to a file
  // elsewhere never changes that file's mode. The caller must not use the file afterwards.
  // A remote store reads a file of at most kSmallBlobBytes into memory once, hashes those bytes
  // and uploads the same bytes with a create-if-absent PUT: one round trip whether or not the
  // blob exists (an object is written whole or not at all, so there is no wrong-sized blob to
  // heal there). Larger files: a HEAD, then the upload if needed.
  BlobRef store_artifact(const std::string& flow, const std::filesystem::path& path);
  BlobRef store_artifact_bytes(const std::string& flow, std::string_view bytes);
  bool has_blob(const std::string& flow, const std::string& sha256);
  // A cheap check that a committed artifact can still be read: in a local store, its blob exists
  // with the manifest's size (resume re-runs, instead of reusing, a task whose blob is missing).
  // A remote store is not asked (true): every read from it verifies the SHA-256 anyway.
  bool blob_intact(const std::string& flow, const BlobRef& blob);
  // A local blob whose bytes no longer match its name (a step wrote through a hard link) is moved
  // to <flow>/quarantine/<sha256>.<unix time in ns>: kept for inspection, never read as the blob;
  // the next task that stores these bytes re-creates it. Only if its file is still
  // `expected_inode`. Returns the quarantine key, or nullopt when there was nothing to move (the
  // blob was stored again meanwhile, or the store is remote).
  std::optional<std::string> quarantine_blob(const std::string& flow, const std::string& sha256,
                                             std::uint64_t expected_inode);
  // Makes the blob appear, read-only (0444), at `destination` (which must not exist; its
  // directory must). A local store copies a blob below kCopyBelowBytes (and checks its SHA-256:
  // cheap at that size), reflinks a larger one where the filesystem can (a private copy for
  // free), and only otherwise hard-links it (checking its size), copying when the destination is
  // on another filesystem; a remote store downloads to a temporary file, checks
  // size and SHA-256 and only then renames it into place. A mismatch throws StoreError naming
  // `artifact_name` and both hashes; a corrupt blob is never handed over.
  void fetch_artifact(const std::string& flow, const BlobRef& blob,
                      const std::filesystem::path& destination,
                      const std::string& artifact_name = "");
  // Bytes [offset, offset + length) of a blob (fewer at its end); throws if there is no blob.
  std::string read_blob_range(const std::string& flow, const std::string& sha256,
                              std::uint64_t offset, std::uint64_t length);

  // ---- manifests ----
  // The commit of a task attempt: call it LAST, after every blob and log is stored.
  void write_manifest(const Manifest& manifest);
  // nullopt when the attempt has no manifest (it did not commit); StoreError when malformed.
  std::optional<Manifest> read_manifest(const AttemptId& attempt);
  // The attempt of the task that committed (has a manifest); the highest if several did.
  std::optional<std::int64_t> find_committed_attempt(const std::string& flow,
                                                     const std::string& run,
                                                     const std::string& step,
                                                     const std::string& task);

  // ---- logs ----
  // Stores the file as the attempt's log, consuming it (as ObjectStore::put_file_consuming).
  void put_log_file(const AttemptId& attempt, LogStream stream, const std::filesystem::path& path);
  void put_log(const AttemptId& attempt, LogStream stream, std::string_view text);
  // nullopt when the attempt stored no such log.
  std::optional<std::string> get_log(const AttemptId& attempt, LogStream stream);

 private:
  // fetch_artifact without the advice a full filesystem adds to its error.
  void fetch_artifact_to(const std::string& flow, const BlobRef& blob,
                         const std::filesystem::path& destination,
                         const std::string& artifact_name);

  ObjectStorePtr objects_;
  bool local_ = false;
};

// Opens the datastore at `root`: a local directory (created if missing) or, once the S3 store
// exists, "s3://bucket/prefix". Throws StoreError.
std::unique_ptr<Datastore> open_datastore(const std::string& root);

}  // namespace podflow::datastore
