// The interface every artifact store implements: a flat namespace of immutable-looking objects
// addressed by '/'-separated keys. The local directory store implements it now, the S3 store
// later; nothing above this interface may assume that an object is a local file, except through
// `local_path`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datastore/sha256.hpp"

namespace podflow::datastore {

struct ObjectInfo {
  std::string key;  // the full key, e.g. "fanout/15/start/start/0/manifest.json"
  std::uint64_t size = 0;
};

// Keys are relative, '/'-separated, without empty, "." or ".." components, e.g.
// "fanout/data/ab/ab12...". Every method throws StoreError (store_error.hpp) when the store
// cannot do what was asked; "not found" is a return value, never an error.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Where the store lives, for messages: "/home/me/.podflow" or "s3://bucket/prefix".
  virtual std::string url() const = 0;

  // Stores `bytes` under `key`, replacing any object there. Atomic: a reader sees the old object
  // or the new one, never a part; a crash mid-write leaves nothing under `key`.
  virtual void put_bytes(const std::string& key, std::string_view bytes) = 0;

  // Stores a copy of the file at `path` under `key`, atomically as put_bytes. The file is left
  // untouched.
  virtual void put_file(const std::string& key, const std::filesystem::path& path) = 0;

  // Stores the file at `path` under `key`, atomically as put_bytes, and CONSUMES the file: an
  // implementation may move it into the store (the local store renames it when the file is on
  // the same filesystem, and makes it read-only) or upload it and leave it. Either way the caller
  // must neither use nor modify the file at `path` afterwards.
  virtual void put_file_consuming(const std::string& key, const std::filesystem::path& path) = 0;

  // Atomic exclusive create: stores `bytes` under `key` only if no object exists there. Returns
  // false, and changes nothing, if one did. Two concurrent callers never both get true (used to
  // allocate run ids).
  virtual bool put_bytes_if_absent(const std::string& key, std::string_view bytes) = 0;

  // The whole object; nullopt when there is no object under `key`.
  virtual std::optional<std::string> get_bytes(const std::string& key) = 0;

  // Writes the object to the file `path` (created or replaced; its directory must exist).
  // Returns false, writing nothing, when there is no object under `key`. The file appears
  // complete or not at all.
  virtual bool get_to_file(const std::string& key, const std::filesystem::path& path) = 0;

  // get_to_file, and the SHA-256 and size of the bytes written (read back from the file);
  // nullopt when there is no object. A store that can hash while it downloads overrides it (S3:
  // the hash follows the ranges as they land, so checking a download costs no time after it).
  virtual std::optional<FileDigest> get_to_file_hashed(const std::string& key,
                                                       const std::filesystem::path& path);

  // Bytes [offset, offset + length) of the object, fewer when the object ends before. Throws
  // StoreError when there is no object under `key`.
  virtual std::string get_range(const std::string& key, std::uint64_t offset,
                                std::uint64_t length) = 0;

  // The object's size; nullopt when there is no object under `key`.
  virtual std::optional<ObjectInfo> head(const std::string& key) = 0;

  // Every object whose key starts with `prefix` (usually a "directory" ending in '/'), with its
  // size, sorted by key. An empty prefix lists the whole store.
  virtual std::vector<ObjectInfo> list(const std::string& prefix) = 0;

  // Deletes the object; returns false when there was none.
  virtual bool remove(const std::string& key) = 0;

  // The local file that holds the object, for zero-copy hard links; nullopt when the store is
  // remote, or has no object under `key`. The file must be treated as read-only.
  virtual std::optional<std::filesystem::path> local_path(const std::string& key) = 0;
};

using ObjectStorePtr = std::unique_ptr<ObjectStore>;

// Throws StoreError unless `key` is a well-formed key (see ObjectStore).
void check_key(const std::string& key);

}  // namespace podflow::datastore
