#include "datastore/datastore.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "datastore/local_object_store.hpp"
#include "datastore/s3_object_store.hpp"
#include "datastore/sha256.hpp"
#include "datastore/store_error.hpp"
#include "datastore/temporary_file.hpp"

namespace podflow::datastore {
namespace {

constexpr std::string_view kRunsPrefix = "_runs/";
constexpr std::string_view kRunRecordSuffix = ".json";

bool is_decimal(std::string_view text) {
  return !text.empty() && text.size() <= 18 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "_runs/12.json" -> "12"; empty for anything else.
std::string run_of_record_key(std::string_view key) {
  if (!key.starts_with(kRunsPrefix) || !key.ends_with(kRunRecordSuffix)) return "";
  key.remove_prefix(kRunsPrefix.size());
  key.remove_suffix(kRunRecordSuffix.size());
  if (key.empty() || key.find('/') != std::string_view::npos) return "";
  return std::string(key);
}

// Numeric run ids sort as numbers, anything else after them, by text.
bool run_order(const std::string& a, const std::string& b) {
  const bool a_number = is_decimal(a), b_number = is_decimal(b);
  if (a_number != b_number) return a_number;
  if (a_number && a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

// The whole file when it is a regular file of at most `limit` bytes, else nullopt.
std::optional<std::string> read_small_file(const std::filesystem::path& path, std::uint64_t limit) {
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (descriptor < 0) throw_system_error("cannot read " + path.string(), errno);
  struct stat status {};
  if (::fstat(descriptor, &status) != 0 || !S_ISREG(status.st_mode) ||
      static_cast<std::uint64_t>(status.st_size) > limit) {
    ::close(descriptor);
    return std::nullopt;  // the general path reads it, or says why it cannot
  }
  // One byte more than its size, to notice a file that grew meanwhile.
  std::string bytes(static_cast<std::size_t>(status.st_size) + 1, '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(descriptor, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int error = errno;
      ::close(descriptor);
      throw_system_error("cannot read " + path.string(), error);
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  ::close(descriptor);
  if (done == bytes.size()) return std::nullopt;  // it grew: the general path streams it
  bytes.resize(done);
  return bytes;
}

std::string describe_artifact(const std::string& name, const BlobRef& blob) {
  return name.empty() ? "blob " + blob.sha256 : "artifact '" + name + "'";
}

}  // namespace

Datastore::Datastore(ObjectStorePtr objects)
    : objects_(std::move(objects)),
      local_(dynamic_cast<LocalObjectStore*>(objects_.get()) != nullptr) {}

std::string Datastore::blob_key(const std::string& flow, const std::string& sha256) {
  if (!is_sha256_hex(sha256)) throw StoreError("invalid blob name '" + sha256 + "'");
  return flow + "/data/" + sha256.substr(0, 2) + "/" + sha256;
}

std::string Datastore::task_prefix(const std::string& flow, const std::string& run,
                                   const std::string& step, const std::string& task) {
  return flow + "/" + run + "/" + step + "/" + task + "/";
}

std::string Datastore::attempt_prefix(const AttemptId& attempt) {
  return task_prefix(attempt.flow, attempt.run, attempt.step, attempt.task) +
         std::to_string(attempt.attempt) + "/";
}

std::string Datastore::manifest_key(const AttemptId& attempt) {
  return attempt_prefix(attempt) + "manifest.json";
}

std::string Datastore::log_key(const AttemptId& attempt, LogStream stream) {
  return attempt_prefix(attempt) +
         (stream == LogStream::standard_output ? "stdout.log" : "stderr.log");
}

std::string Datastore::run_record_key(const std::string& run) {
  return std::string(kRunsPrefix) + run + std::string(kRunRecordSuffix);
}

std::string Datastore::allocate_run_id() {
  long long next = 1;
  for (const auto& object : objects_->list(std::string(kRunsPrefix))) {
    const std::string run = run_of_record_key(object.key);
    if (is_decimal(run)) next = std::max(next, std::stoll(run) + 1);
  }
  for (int tries = 0; tries < 100000; ++tries, ++next) {
    const std::string run = std::to_string(next);
    const nlohmann::json placeholder = {{"run", run}};
    if (objects_->put_bytes_if_absent(run_record_key(run), placeholder.dump() + "\n")) return run;
  }
  throw StoreError("cannot allocate a run id in " + url() + ": every id tried was taken");
}

bool Datastore::release_run_id(const std::string& run) {
  const std::string key = run_record_key(run);
  const auto bytes = objects_->get_bytes(key);
  if (!bytes) return false;
  const auto record = nlohmann::json::parse(*bytes, nullptr, false);
  const nlohmann::json placeholder = {{"run", run}};
  if (record.is_discarded() || record != placeholder) return false;
  return objects_->remove(key);
}

void Datastore::write_run_record(const std::string& run, const nlohmann::json& record) {
  objects_->put_bytes(run_record_key(run),
                      record.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

std::optional<nlohmann::json> Datastore::read_run_record(const std::string& run) {
  const std::string key = run_record_key(run);
  const auto bytes = objects_->get_bytes(key);
  if (!bytes) return std::nullopt;
  auto record = nlohmann::json::parse(*bytes, nullptr, false);
  if (record.is_discarded()) throw StoreError("malformed run record " + key + ": not valid JSON");
  return record;
}

std::vector<RunRecord> Datastore::list_run_records() {
  std::vector<RunRecord> records;
  for (const auto& object : objects_->list(std::string(kRunsPrefix))) {
    std::string run = run_of_record_key(object.key);
    if (run.empty()) continue;
    const auto bytes = objects_->get_bytes(object.key);
    if (!bytes) continue;  // removed meanwhile
    auto record = nlohmann::json::parse(*bytes, nullptr, false);
    if (record.is_discarded()) continue;
    records.push_back({std::move(run), std::move(record)});
  }
  std::sort(records.begin(), records.end(),
            [](const RunRecord& a, const RunRecord& b) { return run_order(a.run, b.run); });
  return records;
}

BlobRef Datastore::store_artifact(const std::string& flow, const std::filesystem::path& path) {
  if (auto* local = dynamic_cast<LocalObjectStore*>(objects_.get())) {
    // Hash the store's own read-only copy, not the caller's file, which may change meanwhile
    // (a hard link to a file outside, a process of the step still writing).
    std::unique_ptr<TemporaryFile> staged;
    try {
      staged = local->stage_file(flow + "/data", path);
    } catch (const StoreError& error) {
      if (!is_out_of_space(error.error_number())) throw;
      std::error_code ignored;
      const auto size = std::filesystem::file_size(path, ignored);
      throw StoreError("cannot store " + path.string() + " (" + human_bytes(ignored ? 0 : size) +
                           ") in the datastore: " + error.what(),
                       error.error_number());
    }
    const FileDigest digest = sha256_file(staged->path());
    const std::string key = blob_key(flow, digest.sha256);
    const auto existing = objects_->head(key);
    if (!existing || existing->size != digest.size) local->commit_staged(*staged, key);
    return {digest.sha256, digest.size};
  }
  if (const auto bytes = read_small_file(path, kSmallBlobBytes)) {
    // The uploaded bytes are the hashed bytes, whatever happens to the file meanwhile.
    return store_artifact_bytes(flow, *bytes);
  }
  const FileDigest digest = sha256_file(path);
  const std::string key = blob_key(flow, digest.sha256);
  const auto existing = objects_->head(key);
  if (!existing || existing->size != digest.size) objects_->put_file_consuming(key, path);
  return {digest.sha256, digest.size};
}

BlobRef Datastore::store_artifact_bytes(const std::string& flow, std::string_view bytes) {
  BlobRef blob{sha256_hex(bytes), bytes.size()};
  const std::string key = blob_key(flow, blob.sha256);
  if (!local_) {
    objects_->put_bytes_if_absent(key, bytes);  // false: stored already, by the same bytes
    return blob;
  }
  const auto existing = objects_->head(key);
  if (!existing || existing->size != blob.size) objects_->put_bytes(key, bytes);
  return blob;
}

bool Datastore::has_blob(const std::string& flow, const std::string& sha256) {
  return objects_->head(blob_key(flow, sha256)).has_value();
}

bool Datastore::blob_intact(const std::string& flow, const BlobRef& blob) {
  if (dynamic_cast<LocalObjectStore*>(objects_.get()) == nullptr) return true;
  const auto existing = objects_->head(blob_key(flow, blob.sha256));
  return existing && existing->size == blob.size;
}

std::optional<std::string> Datastore::quarantine_blob(const std::string& flow,
                                                      const std::string& sha256,
                                                      std::uint64_t expected_inode) {
  auto* local = dynamic_cast<LocalObjectStore*>(objects_.get());
  if (local == nullptr) return std::nullopt;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::string aside =
      flow + "/quarantine/" + sha256 + "." +
      std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  return local->quarantine(blob_key(flow, sha256), aside, expected_inode);
}

void Datastore::fetch_artifact(const std::string& flow, const BlobRef& blob,
                               const std::filesystem::path& destination,
                               const std::string& artifact_name) {
  try {
    fetch_artifact_to(flow, blob, destination, artifact_name);
  } catch (const StoreError& error) {
    if (!is_out_of_space(error.error_number())) throw;
    // A local runner's work directories live in the local datastore (_work): describe it.
    const auto* local = dynamic_cast<LocalObjectStore*>(objects_.get());
    throw StoreError(
        error.what() + out_of_space_advice(destination.parent_path(), local ? local->root() : ""),
        error.error_number());
  }
}

void Datastore::fetch_artifact_to(const std::string& flow, const BlobRef& blob,
                                  const std::filesystem::path& destination,
                                  const std::string& artifact_name) {
  const std::string key = blob_key(flow, blob.sha256);
  const std::string what = describe_artifact(artifact_name, blob);
  const auto directory = destination.has_parent_path() ? destination.parent_path() : ".";
  auto check_size = [&](std::uint64_t size) {
    if (size != blob.size) {
      throw StoreError(what + ": blob " + key + " in " + url() + " has " + std::to_string(size) +
                       " bytes, the manifest says " + std::to_string(blob.size) +
                       "; the store is corrupt");
    }
  };
  auto check_file_digest = [&](const FileDigest& digest) {
    if (digest.sha256 != blob.sha256) {
      throw StoreError(what + ": blob " + key + " in " + url() + " has sha256 " + digest.sha256 +
                       ", expected " + blob.sha256 + "; the store is corrupt");
    }
    check_size(digest.size);
  };
  auto check_digest = [&](const std::filesystem::path& copy) {
    check_file_digest(sha256_file(copy));
  };

  if (const auto local = objects_->local_path(key)) {
    struct stat status {};
    if (::stat(local->c_str(), &status) != 0) {
      throw_system_error("cannot read " + local->string(), errno);
    }
    // A small input is copied and its copy hashed: cheap, and a step that writes to it cannot
    // touch the shared blob. A larger one is a reflink where the filesystem can share extents
    // (a private copy for free), else a hard link: hashing it would read every input of every
    // task, so only the size is checked (the blob was hashed when it was stored).
    check_size(static_cast<std::uint64_t>(status.st_size));
    auto copy_checked = [&] {
      TemporaryFile copy(directory);
      copy.copy_from(*local);
      copy.set_mode(0444);
      check_digest(copy.path());
      copy.commit_rename(destination);
    };
    if (blob.size < kCopyBelowBytes) return copy_checked();
    if (TemporaryFile clone(directory); clone.reflink_from(*local)) {
      clone.set_mode(0444);
      clone.commit_rename(destination);
      return;
    }
    if (::link(local->c_str(), destination.c_str()) == 0) return;
    if (errno != EXDEV && errno != EPERM && errno != EMLINK) {
      throw_system_error("cannot link " + local->string() + " to " + destination.string(), errno);
    }
    return copy_checked();
  }

  const auto download = unique_temporary_path(directory);
  try {
    const auto digest = objects_->get_to_file_hashed(key, download);
    if (!digest) throw StoreError(what + ": blob " + key + " is missing from " + url());
    check_file_digest(*digest);
    if (::chmod(download.c_str(), 0444) != 0 || ::rename(download.c_str(), destination.c_str())) {
      throw_system_error("cannot write " + destination.string(), errno);
    }
  } catch (...) {
    ::unlink(download.c_str());
    throw;
  }
}

std::string Datastore::read_blob_range(const std::string& flow, const std::string& sha256,
                                       std::uint64_t offset, std::uint64_t length) {
  return objects_->get_range(blob_key(flow, sha256), offset, length);
}

void Datastore::write_manifest(const Manifest& manifest) {
  objects_->put_bytes(manifest_key(manifest.id), manifest_to_json(manifest));
}

std::optional<Manifest> Datastore::read_manifest(const AttemptId& attempt) {
  const std::string key = manifest_key(attempt);
  const auto bytes = objects_->get_bytes(key);
  if (!bytes) return std::nullopt;
  try {
    return manifest_from_json(*bytes);
  } catch (const ManifestError& error) {
    throw StoreError("malformed manifest " + key + " in " + url() + ": " + error.what());
  }
}

std::optional<std::int64_t> Datastore::find_committed_attempt(const std::string& flow,
                                                              const std::string& run,
                                                              const std::string& step,
                                                              const std::string& task) {
  const std::string prefix = task_prefix(flow, run, step, task);
  std::optional<std::int64_t> committed;
  for (const auto& object : objects_->list(prefix)) {
    std::string_view rest(object.key);
    rest.remove_prefix(prefix.size());
    constexpr std::string_view kManifest = "/manifest.json";
    if (!rest.ends_with(kManifest)) continue;
    rest.remove_suffix(kManifest.size());
    if (!is_decimal(rest)) continue;
    const std::int64_t attempt = std::stoll(std::string(rest));
    committed = std::max(committed.value_or(attempt), attempt);
  }
  return committed;
}

void Datastore::put_log_file(const AttemptId& attempt, LogStream stream,
                             const std::filesystem::path& path) {
  objects_->put_file_consuming(log_key(attempt, stream), path);
}

void Datastore::put_log(const AttemptId& attempt, LogStream stream, std::string_view text) {
  objects_->put_bytes(log_key(attempt, stream), text);
}

std::optional<std::string> Datastore::get_log(const AttemptId& attempt, LogStream stream) {
  return objects_->get_bytes(log_key(attempt, stream));
}

std::unique_ptr<Datastore> open_datastore(const std::string& root) {
  if (root.empty()) throw StoreError("no datastore given: pass a directory or s3://bucket/prefix");
  if (root.starts_with("s3://")) return std::make_unique<Datastore>(S3ObjectStore::open(root));
  if (const auto scheme = root.find("://"); scheme != std::string::npos) {
    throw StoreError("unsupported datastore " + root +
                     ": use a local directory or s3://bucket/prefix");
  }
  return std::make_unique<Datastore>(std::make_unique<LocalObjectStore>(root));
}

}  // namespace podflow::datastore
