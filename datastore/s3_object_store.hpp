// An ObjectStore in an S3 bucket (AWS S3 or any S3-compatible server: MinIO, Ceph, R2, ...):
// the key "a/b" is the object "<prefix>/a/b" of the bucket of "s3://bucket/prefix".
//
// Files up to 1 MiB are one PUT from memory; up to settings.part_size one PUT streamed from the
// file (hashed first: the signature covers the body); larger ones multipart uploads whose parts
// are streamed from the file, `concurrency` at a time. Downloads fetch a first 1 MiB range (a
// small object: one request, into memory), then the rest in part-size ranges in parallel, each
// written from the socket straight into the file at its offset; the later ranges carry If-Match
// with the first one's ETag, so an object replaced mid-download is never stitched together from
// two versions. At most `concurrency` parts or ranges are in flight per store, whatever the sizes
// and number of objects (transfer_slots.hpp), each through its connection's 256 KiB buffer: a
// process's transfer memory stays a few MiB plus 1 MiB per small transfer in flight. An upload
// that fails is aborted.
// S3 PUTs and CompleteMultipartUpload are atomic, as the interface wants; put_bytes_if_absent is a
// conditional PUT (If-None-Match: *). Every method is safe to call from many threads.
#pragma once

#include <memory>

#include "datastore/object_store.hpp"
#include "datastore/s3_client.hpp"
#include "datastore/s3_config.hpp"
#include "datastore/sha256.hpp"
#include "datastore/transfer_slots.hpp"

namespace podflow::datastore {

class S3ObjectStore : public ObjectStore {
 public:
  // `url` is "s3://bucket/prefix". Throws StoreError for a malformed URL or settings.
  S3ObjectStore(const std::string& url, S3Settings settings, AwsCredentials credentials);
  S3ObjectStore(const std::string& url, S3Settings settings,
                std::shared_ptr<RefreshingCredentials> credentials);
  // Settings and credentials from the environment (s3_settings_from_environment, the
  // credential chain of credential_chain.hpp, refreshed as refreshing_credentials.hpp says).
  static std::unique_ptr<S3ObjectStore> open(const std::string& url);
  ~S3ObjectStore() override;

  const S3Location& location() const { return location_; }
  const S3Settings& settings() const { return client_.settings(); }

  std::string url() const override;
  void put_bytes(const std::string& key, std::string_view bytes) override;
  void put_file(const std::string& key, const std::filesystem::path& path) override;
  // Uploads the file and leaves it where it is (the caller must not use it afterwards).
  void put_file_consuming(const std::string& key, const std::filesystem::path& path) override;
  bool put_bytes_if_absent(const std::string& key, std::string_view bytes) override;
  std::optional<std::string> get_bytes(const std::string& key) override;
  bool get_to_file(const std::string& key, const std::filesystem::path& path) override;
  // Hashes the file in order as its ranges land, reading them from a mapping of the file, while
  // later ones download; ranges far ahead of the hash wait for it (see download()).
  std::optional<FileDigest> get_to_file_hashed(const std::string& key,
                                               const std::filesystem::path& path) override;
  std::string get_range(const std::string& key, std::uint64_t offset,
                        std::uint64_t length) override;
  std::optional<ObjectInfo> head(const std::string& key) override;
  std::vector<ObjectInfo> list(const std::string& prefix) override;
  // A HEAD then a DELETE (S3's DELETE does not say whether there was an object).
  bool remove(const std::string& key) override;
  std::optional<std::filesystem::path> local_path(const std::string& key) override;

 private:
  std::string object_key(const std::string& key) const;  // checks the key, adds the prefix
  void put_object(const std::string& object, std::string_view bytes, const std::string& what);
  void multipart_upload(const std::string& object, int descriptor, std::uint64_t size,
                        const std::string& what);
  // Downloads into the open file; false when there is no object. Throws on an object replaced
  // mid-download (412 on a later range).
  // `path` names the open file (mapped, or read back for the hash, when the object is large).
  // With `digest`, also hashes what was written, in order, alongside the download; `size` gets
  // the object's size.
  bool download(const std::string& object, int descriptor, const std::filesystem::path& path,
                const std::string& what, Sha256* digest, std::uint64_t* size);
  std::optional<FileDigest> fetch(const std::string& key, const std::filesystem::path& path,
                                  bool hashed);

  S3Location location_;
  S3Client client_;
  std::unique_ptr<TransferSlots> slots_;  // `concurrency` parts or ranges in flight, all transfers
};

}  // namespace podflow::datastore
