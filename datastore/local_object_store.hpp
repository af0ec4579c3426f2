// An ObjectStore in a local directory: the key "a/b/c" is the file <root>/a/b/c.
//
// Writes go to a temporary file in the object's own directory and are renamed into place, so a
// crash mid-write never leaves a partial object under its key (temporary files, named
// ".podflow-tmp.*", are never listed). Exclusive creates link() the finished temporary file to
// the key, which fails if the key exists. Objects are read-only files (0444): the store replaces
// objects, it never changes one in place, so a hard link to an object is a safe zero-copy read.
// Not fsync'ed: atomic against crashes of processes, not against losing power.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "datastore/object_store.hpp"
#include "datastore/temporary_file.hpp"

namespace podflow::datastore {

struct LocalObjectStoreOptions {
  // When false, local_path() always answers nullopt, so callers take the path a remote store
  // needs (download and verify). Tests use it to exercise that path without a network.
  bool expose_local_paths = true;
};

class LocalObjectStore : public ObjectStore {
 public:
  // Creates `root` (and its parents) if missing; throws StoreError if it cannot.
  explicit LocalObjectStore(const std::filesystem::path& root,
                            LocalObjectStoreOptions options = {});

  const std::filesystem::path& root() const { return root_; }

  std::string url() const override;
  void put_bytes(const std::string& key, std::string_view bytes) override;
  void put_file(const std::string& key, const std::filesystem::path& path) override;
  void put_file_consuming(const std::string& key, const std::filesystem::path& path) override;
  bool put_bytes_if_absent(const std::string& key, std::string_view bytes) override;
  std::optional<std::string> get_bytes(const std::string& key) override;
  bool get_to_file(const std::string& key, const std::filesystem::path& path) override;
  std::string get_range(const std::string& key, std::uint64_t offset,
                        std::uint64_t length) override;
  std::optional<ObjectInfo> head(const std::string& key) override;
  std::vector<ObjectInfo> list(const std::string& prefix) override;
  bool remove(const std::string& key) override;
  std::optional<std::filesystem::path> local_path(const std::string& key) override;

  // Storing a file whose key depends on its bytes (a blob), without trusting the file to stay
  // as it was: stage_file takes it into a read-only TemporaryFile in the directory of
  // `directory_key` (TakeFrom: moved when it is ours alone, else copied); the caller hashes
  // that, then commit_staged() puts it under the key its hash names (or lets it go: the
  // TemporaryFile deletes itself).
  std::unique_ptr<TemporaryFile> stage_file(const std::string& directory_key,
                                            const std::filesystem::path& source);
  void commit_staged(TemporaryFile& staged, const std::string& key);

  // Moves the object `key` aside to `quarantine_key` (kept, never read as `key`) if its file is
  // still the inode `expected_inode`. Returns the quarantine key, or nullopt when `key` holds
  // another file by now (stored again meanwhile: left alone) or none. Throws StoreError.
  std::optional<std::string> quarantine(const std::string& key, const std::string& quarantine_key,
                                        std::uint64_t expected_inode);

 private:
  // Runs `write`; a StoreError for a full filesystem gets out_of_space_advice appended.
  template <typename Write>
  auto with_space_advice(const std::filesystem::path& path, Write&& write);

  // The file of `key`, after checking the key.
  std::filesystem::path path_of(const std::string& key) const;

  std::filesystem::path root_;
  LocalObjectStoreOptions options_;
};

}  // namespace podflow::datastore
