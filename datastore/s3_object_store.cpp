#include "datastore/s3_object_store.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "datastore/parallel_for.hpp"
#include "datastore/s3_xml.hpp"
#include "datastore/sha256.hpp"
#include "datastore/store_error.hpp"
#include "datastore/temporary_file.hpp"

namespace podflow::datastore {
namespace {

constexpr std::uint64_t kMaxParts = 10000;           // S3's limit per multipart upload
constexpr std::uint64_t kMaxSinglePut = 5ull << 30;  // S3's limit for one PUT
constexpr double kAbortRetrySeconds = 10;
// Small transfers use a buffer of their own of at most this size (so many can run at once);
// larger ones take part-size buffers from the store's pool.
constexpr std::uint64_t kSmallTransfer = 1ull << 20;
// A large download goes in ranges of up to this size (at least the part size, and small enough
// that an object has `concurrency` ranges to fetch at once): each GET costs the server a fixed
// amount of work (MinIO spent less CPU on a GiB in 64 MiB ranges than in 8 MiB ones:
// BENCHMARKS.md, "S3").
constexpr std::uint64_t kLargestRange = 64ull << 20;
constexpr std::uint64_t kRangeGranule = 1ull << 20;
// The hasher is woken when this much more of the range it waits on has landed; without a mapping
// of the file it reads back at most this much at a time.
constexpr std::uint64_t kHashWakeBytes = 1ull << 20;
constexpr std::uint64_t kHashStep = 1ull << 20;
// Hashed pages leave the process's mapping of a download (not the page cache) in steps this size.
constexpr std::uint64_t kReleaseStep = 8ull << 20;
// A range of a hashed download waits while it is this far ahead of the hash (see download()).
constexpr std::uint64_t kHashLead = 64ull << 20;

// The object was replaced while its ranges were being fetched (a later range got 412).
class ObjectChanged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An open file, closed at scope exit.
class FileDescriptor {
 public:
  FileDescriptor(const std::filesystem::path& path, int flags) : fd_(::open(path.c_str(), flags)) {
    if (fd_ < 0) throw StoreError(system_error_text("cannot read " + path.string(), errno));
  }
  ~FileDescriptor() { ::close(fd_); }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void read_fully_at(int fd, char* buffer, std::uint64_t size, std::uint64_t offset,
                   const std::filesystem::path& path) {
  std::uint64_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd, buffer + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw StoreError(system_error_text("cannot read " + path.string(), errno));
    if (got == 0) {
      throw StoreError("cannot read " + path.string() + ": it shrank while being uploaded");
    }
    done += static_cast<std::uint64_t>(got);
  }
}

void write_fully_at(int fd, const char* buffer, std::uint64_t size, std::uint64_t offset) {
  std::uint64_t done = 0;
  while (done < size) {
    const ssize_t wrote =
        ::pwrite(fd, buffer + done, size - done, static_cast<off_t>(offset + done));
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) throw_system_error("cannot write a download", errno);
    done += static_cast<std::uint64_t>(wrote);
  }
}

std::string range_header(std::uint64_t first, std::uint64_t last) {
  return "bytes=" + std::to_string(first) + "-" + std::to_string(last);
}

// "bytes 0-9/1234" -> 1234; nullopt when absent or malformed ("bytes */1234" also gives 1234).
std::optional<std::uint64_t> total_of_content_range(const std::string& header) {
  const auto slash = header.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  std::uint64_t total = 0;
  const char* begin = header.data() + slash + 1;
  const char* end = header.data() + header.size();
  const auto [stop, error] = std::from_chars(begin, end, total);
  if (error != std::errc() || stop != end) return std::nullopt;
  return total;
}

// SHA-256 of the first `size` bytes of an open file, read in pieces.
std::string sha256_of_range(int fd, std::uint64_t size, const std::filesystem::path& path) {
  Sha256 digest;
  std::string buffer(std::min<std::uint64_t>(size, 1ull << 20), '\0');
  for (std::uint64_t done = 0; done < size;) {
    const std::uint64_t length = std::min<std::uint64_t>(buffer.size(), size - done);
    read_fully_at(fd, buffer.data(), length, done, path);
    digest.update(std::string_view(buffer.data(), length));
    done += length;
  }
  return digest.hex_digest();
}

}  // namespace

S3ObjectStore::S3ObjectStore(const std::string& url, S3Settings settings,
                             AwsCredentials credentials)
    : S3ObjectStore(url, std::move(settings),
                    RefreshingCredentials::fixed(std::move(credentials))) {}

S3ObjectStore::S3ObjectStore(const std::string& url, S3Settings settings,
                             std::shared_ptr<RefreshingCredentials> credentials)
    : location_(parse_s3_url(url)),
      client_(std::move(settings), std::move(credentials), location_.bucket),
      slots_(std::make_unique<TransferSlots>(client_.settings().concurrency)) {}

S3ObjectStore::~S3ObjectStore() = default;

std::unique_ptr<S3ObjectStore> S3ObjectStore::open(const std::string& url) {
  const auto environment = process_environment();
  (void)parse_s3_url(url);  // a bad URL is reported before missing credentials
  return std::make_unique<S3ObjectStore>(url, s3_settings_from_environment(environment),
                                         RefreshingCredentials::from_chain(environment));
}

std::string S3ObjectStore::url() const {
  return "s3://" + location_.bucket + (location_.prefix.empty() ? "" : "/" + location_.prefix);
}

std::string S3ObjectStore::object_key(const std::string& key) const {
  check_key(key);
  return location_.prefix.empty() ? key : location_.prefix + "/" + key;
}

void S3ObjectStore::put_object(const std::string& object, std::string_view bytes,
                               const std::string& what) {
  S3Request request{"PUT", object};
  request.body = bytes;
  const S3Response response = client_.send(request, what);
  if (response.status != 200) client_.fail(what, response);
}

void S3ObjectStore::put_bytes(const std::string& key, std::string_view bytes) {
  const std::string object = object_key(key);
  put_object(object, bytes, "cannot write " + client_.url_of(object));
}

void S3ObjectStore::put_file(const std::string& key, const std::filesystem::path& path) {
  const std::string object = object_key(key);
  const std::string what = "cannot upload " + path.string() + " to " + client_.url_of(object);
  FileDescriptor file(path, O_RDONLY | O_CLOEXEC);
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) {
    throw StoreError(system_error_text("cannot read " + path.string(), errno));
  }
  if (!S_ISREG(status.st_mode)) {
    throw StoreError("cannot store " + path.string() + ": not a regular file");
  }
  const auto size = static_cast<std::uint64_t>(status.st_size);
  if (size <= kSmallTransfer) {
    std::string bytes(size, '\0');
    read_fully_at(file.get(), bytes.data(), size, 0, path);
    put_object(object, bytes, what);
  } else if (size <= settings().part_size) {
    // Streamed from the file and signed: a first pass hashes it (the signature covers the
    // body), the second sends it.
    const auto slot = slots_->take();
    S3Request request{"PUT", object};
    request.body_file = file.get();
    request.body_file_length = size;
    request.body_sha256 = sha256_of_range(file.get(), size, path);
    const S3Response response = client_.send(request, what);
    if (response.status != 200) client_.fail(what, response);
  } else {
    multipart_upload(object, file.get(), size, what);
  }
}

void S3ObjectStore::put_file_consuming(const std::string& key, const std::filesystem::path& path) {
  put_file(key, path);
}

void S3ObjectStore::multipart_upload(const std::string& object, int descriptor, std::uint64_t size,
                                     const std::string& what) {
  // A part size that keeps the upload within S3's 10,000 parts.
  const std::uint64_t part_size =
      std::max(settings().part_size, (size + kMaxParts - 1) / kMaxParts);
  const std::uint64_t parts = (size + part_size - 1) / part_size;

  S3Request create{"POST", object, {{"uploads", ""}}};
  const S3Response created = client_.send(create, what + " (starting a multipart upload)");
  const auto upload_id = xml_element(created.body, "UploadId");
  if (created.status != 200 || !upload_id)
    client_.fail(what + " (starting a multipart upload)", created);
  const std::string id = xml_unescape(*upload_id);

  try {
    std::vector<std::string> etags(parts);
    parallel_for(parts, settings().concurrency, [&](std::size_t, std::size_t index) {
      const std::uint64_t offset = index * part_size;
      const std::uint64_t length = std::min(part_size, size - offset);
      const auto slot = slots_->take();
      S3Request part{"PUT", object, {{"partNumber", std::to_string(index + 1)}, {"uploadId", id}}};
      part.body_file = descriptor;  // streamed from the file: no part is held in memory
      part.body_file_offset = offset;
      part.body_file_length = length;
      part.sign_body = false;
      const std::string part_what =
          what + " (part " + std::to_string(index + 1) + " of " + std::to_string(parts) + ")";
      const S3Response response = client_.send(part, part_what);
      if (response.status != 200) client_.fail(part_what, response);
      etags[index] = response.header("etag");
      if (etags[index].empty()) throw StoreError(part_what + ": the answer has no ETag");
    });

    std::string manifest = "<CompleteMultipartUpload>";
    for (std::uint64_t i = 0; i < parts; ++i) {
      manifest += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] +
                  "</ETag></Part>";
    }
    manifest += "</CompleteMultipartUpload>";
    S3Request complete{"POST", object, {{"uploadId", id}}};
    complete.body = manifest;
    const std::string complete_what = what + " (completing the multipart upload)";
    for (int attempt = 0;; ++attempt) {
      const S3Response response = client_.send(complete, complete_what);
      const std::string code = response.error_code();
      if (response.status == 200 && code.empty()) return;
      // A 200 can carry an error; a retried completion that already succeeded says
      // NoSuchUpload: then the object is there, with the size uploaded.
      if (code == "NoSuchUpload" && attempt > 0) {
        S3Request check{"HEAD", object};
        const S3Response head = client_.send(check, complete_what);
        if (head.status == 200 && head.header("content-length") == std::to_string(size)) return;
      }
      if (response.status == 200 && attempt < 3 &&
          (code == "InternalError" || code == "SlowDown")) {
        continue;
      }
      client_.fail(complete_what, response);
    }
  } catch (...) {
    // Best effort: parts of an aborted upload are not billed forever nor ever visible.
    try {
      S3Request abort{"DELETE", object, {{"uploadId", id}}};
      abort.retry_seconds = kAbortRetrySeconds;
      client_.send(abort, what + " (aborting the multipart upload)");
    } catch (const std::exception&) {
    }
    throw;
  }
}

bool S3ObjectStore::put_bytes_if_absent(const std::string& key, std::string_view bytes) {
  const std::string object = object_key(key);
  const std::string what = "cannot create " + client_.url_of(object);
  S3Request request{"PUT", object, {}, {{"If-None-Match", "*"}}};
  request.body = bytes;
  const S3Response response = client_.send(request, what);
  if (response.status == 200) return true;
  if (response.status == 412) return false;
  client_.fail(what, response);
}

std::optional<std::string> S3ObjectStore::get_bytes(const std::string& key) {
  const std::string object = object_key(key);
  const std::string what = "cannot read " + client_.url_of(object);
  S3Request request{"GET", object};
  S3Response response = client_.send(request, what);
  if (response.status == 200) return std::move(response.body);
  if (response.status == 404 && response.error_code() != "NoSuchBucket") return std::nullopt;
  client_.fail(what, response);
}

bool S3ObjectStore::download(const std::string& object, int descriptor,
                             const std::filesystem::path& path, const std::string& what,
                             Sha256* digest, std::uint64_t* size) {
  // The first range is small, so a small object costs one request and only its own size in
  // memory; the rest comes in part-size ranges, in parallel, straight into the file.
  S3Request first{"GET", object, {}, {{"Range", range_header(0, kSmallTransfer - 1)}}};
  const S3Response response = client_.send(first, what);  // the body: only as big as it is
  if (response.status == 404 && response.error_code() != "NoSuchBucket") return false;
  if (size != nullptr) *size = 0;
  if (response.status == 416) return true;  // an empty object has no byte 0
  std::uint64_t total = 0;
  if (response.status == 206) {
    const auto parsed = total_of_content_range(response.header("content-range"));
    if (!parsed) throw StoreError(what + ": the answer has no usable Content-Range");
    total = *parsed;
  } else if (response.status == 200) {
    total = response.body.size();  // the server sent the whole object
  } else {
    client_.fail(what, response);
  }
  if (size != nullptr) *size = total;
  const std::uint64_t first_length = std::min(total, kSmallTransfer);
  if (response.status == 206 && response.body.size() != first_length) {
    throw StoreError(what + ": received " + std::to_string(response.body.size()) +
                     " bytes of the first " + std::to_string(first_length) +
                     "; the download was cut short");
  }
  const std::uint64_t in_memory = response.status == 200 ? total : first_length;
  write_fully_at(descriptor, response.body.data(), in_memory, 0);
  if (digest != nullptr) digest->update(std::string_view(response.body.data(), in_memory));
  if (in_memory == total) return true;

  const std::string etag = response.header("etag");
  const std::uint64_t rest = total - kSmallTransfer;
  const std::uint64_t concurrency = settings().concurrency;
  const std::uint64_t share = (rest + concurrency - 1) / concurrency;
  const std::uint64_t range_size = std::max(
      settings().part_size,
      std::min(kLargestRange, (share + kRangeGranule - 1) / kRangeGranule * kRangeGranule));
  const std::uint64_t ranges = (rest + range_size - 1) / range_size;
  const auto range_offset = [&](std::uint64_t index) {
    return kSmallTransfer + index * range_size;
  };
  const auto range_length = [&](std::uint64_t index) {
    return std::min(range_size, total - range_offset(index));
  };

  // The whole file is allocated first where the filesystem can: a full disk fails now rather
  // than after most of the download, and writes into allocated blocks cost the kernel less than
  // growing a file range by range.
  if (::fallocate(descriptor, 0, 0, static_cast<off_t>(total)) != 0 && errno != EOPNOTSUPP &&
      errno != ENOSYS && errno != EINTR) {
    throw_system_error(what + ": cannot allocate " + std::to_string(total) + " bytes", errno);
  }

  // The hash follows the download on a thread of its own, in order, as far as it has landed: the
  // range it is at is followed as it streams in, so hashing keeps pace with the download instead
  // of waiting for whole ranges. Only when the ranges are pinned to one version of the object
  // (If-Match its ETag) may bytes be hashed before their range is complete: a retried range then
  // writes the same bytes again.
  // It reads the bytes where they are, in a read-only mapping of the file (MAP_SHARED: the page
  // cache the ranges were written into), instead of copying them back out with pread; hashed
  // pages leave the mapping (MADV_DONTNEED; they stay in the page cache), so the process maps
  // only what has landed and is not hashed yet. Nothing ever writes through the mapping, and the
  // hash reads only bytes already written (into blocks fallocate reserved): a full disk fails a
  // write or the fallocate with ENOSPC, never touches the mapping. Where the file cannot be
  // mapped, the hash reads it back with pread.
  const bool follow_ranges = !etag.empty();
  std::mutex landed_mutex;
  std::condition_variable landed_changed;
  std::vector<std::uint64_t> landed(ranges, 0);  // bytes of each range in the file, from its start
  std::vector<char> running(ranges, 0);          // which ranges are being fetched (hold a slot)
  std::uint64_t hash_position = kSmallTransfer;  // the file's bytes before this are hashed
  std::condition_variable hash_moved;  // the hash moved on, a range started or ended, or stop
  bool stopped = false;
  std::exception_ptr hash_error;
  std::optional<FileDescriptor> reader;
  const char* mapping = nullptr;
  if (digest != nullptr) {
    reader.emplace(path, O_RDONLY | O_CLOEXEC);
    void* address = ::mmap(nullptr, total, PROT_READ, MAP_SHARED, reader->get(), 0);
    if (address != MAP_FAILED) mapping = static_cast<const char*>(address);
  }
  const auto unmap = [&] {
    if (mapping != nullptr) ::munmap(const_cast<char*>(mapping), total);
    mapping = nullptr;
  };
  std::thread hasher;
  if (digest != nullptr) {
    hasher = std::thread([&] {
      try {
        std::string buffer(mapping != nullptr ? 0 : std::min<std::uint64_t>(range_size, kHashStep),
                           '\0');
        std::uint64_t released = 0;  // the mapping's pages before this are hashed and dropped
        for (std::uint64_t index = 0; index < ranges; ++index) {
          const std::uint64_t length = range_length(index);
          for (std::uint64_t hashed = 0; hashed < length;) {
            std::uint64_t available = 0;
            {
              std::unique_lock lock(landed_mutex);
              landed_changed.wait(lock, [&] { return landed[index] > hashed || stopped; });
              if (landed[index] <= hashed) return;
              available = landed[index];
            }
            while (hashed < available) {
              const std::uint64_t at = range_offset(index) + hashed;
              const std::uint64_t piece = std::min<std::uint64_t>(
                  available - hashed, mapping != nullptr ? kReleaseStep : buffer.size());
              if (mapping != nullptr) {
                digest->update(std::string_view(mapping + at, piece));
                const std::uint64_t end = (at + piece) / kReleaseStep * kReleaseStep;
                if (end > released) {
                  ::madvise(const_cast<char*>(mapping) + released, end - released, MADV_DONTNEED);
                  released = end;
                }
              } else {
                read_fully_at(reader->get(), buffer.data(), piece, at, "the partial download");
                digest->update(std::string_view(buffer.data(), piece));
              }
              hashed += piece;
              {
                std::lock_guard lock(landed_mutex);
                hash_position = at + piece;
              }
              hash_moved.notify_all();
            }
          }
        }
      } catch (...) {
        hash_error = std::current_exception();
      }
    });
  }
  // landed_to(index, bytes): the first `bytes` of range `index` are in the file
  const auto landed_to = [&](std::uint64_t index, std::uint64_t bytes) {
    {
      std::lock_guard lock(landed_mutex);
      landed[index] = std::max(landed[index], bytes);
    }
    landed_changed.notify_all();
  };
  const auto stop_hasher = [&] {
    if (!hasher.joinable()) return;
    {
      std::lock_guard lock(landed_mutex);
      stopped = true;
    }
    landed_changed.notify_all();
    hash_moved.notify_all();
    hasher.join();
  };

  // A range ahead of the hash by more than kHashLead waits for it, unless the range the hash
  // needs next is not being fetched (waiting for a slot) or is this one: the one the hash waits
  // for never waits, so the hash always moves on, and nothing can wait on itself.
  const auto wait_for_hash = [&](std::uint64_t index, std::uint64_t position) {
    std::unique_lock lock(landed_mutex);
    hash_moved.wait(lock, [&] {
      if (stopped || position <= hash_position + kHashLead) return true;
      std::uint64_t next = 0;  // the first range not complete
      while (next < ranges && landed[next] == range_length(next)) ++next;
      return next >= ranges || next == index || !running[next];
    });
  };
  const auto set_running = [&](std::uint64_t index, bool now) {
    {
      std::lock_guard lock(landed_mutex);
      running[index] = now ? 1 : 0;
    }
    hash_moved.notify_all();
  };
  struct Running {  // marks a range as being fetched for its scope
    std::function<void(bool)> set;
    explicit Running(std::function<void(bool)> set_) : set(std::move(set_)) { set(true); }
    ~Running() { set(false); }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;
  };

  const auto fetch_range = [&](std::uint64_t index) {
    const std::uint64_t offset = range_offset(index);
    const std::uint64_t length = range_length(index);
    const auto slot = slots_->take();
    const Running running_now([&](bool now) { set_running(index, now); });
    S3Request range{"GET", object, {}, {{"Range", range_header(offset, offset + length - 1)}}};
    if (!etag.empty()) range.headers.emplace_back("If-Match", etag);
    // Straight from the socket into the file, in the connection's 256 KiB pieces.
    std::uint64_t announced = 0;
    range.response_sink = [&](const char* data, std::size_t bytes, std::uint64_t at) {
      if (at + bytes > length) {
        throw StoreError(what + ": the answer for bytes " + std::to_string(offset) + "-" +
                         std::to_string(offset + length - 1) + " is longer than the range");
      }
      if (digest != nullptr && follow_ranges) wait_for_hash(index, offset + at);
      write_fully_at(descriptor, data, bytes, offset + at);
      if (digest != nullptr && follow_ranges && at + bytes >= announced + kHashWakeBytes) {
        announced = at + bytes;
        landed_to(index, announced);
      }
    };
    const S3Response answer = client_.send(range, what);
    if (answer.status == 412 || answer.status == 404) {
      throw ObjectChanged(what + ": the object changed while it was being downloaded");
    }
    if (answer.status != 206) client_.fail(what, answer);
    if (answer.buffer_bytes != length) {
      throw StoreError(what + ": received " + std::to_string(answer.buffer_bytes) + " bytes at " +
                       std::to_string(offset) + ", expected " + std::to_string(length) +
                       "; the download was cut short");
    }
    if (digest != nullptr) landed_to(index, length);
  };
  try {
    parallel_for(ranges, settings().concurrency,
                 [&](std::size_t, std::size_t index) { fetch_range(index); });
  } catch (...) {
    stop_hasher();
    unmap();
    throw;
  }
  stop_hasher();
  unmap();
  if (hash_error) std::rethrow_exception(hash_error);
  return true;
}

std::optional<FileDigest> S3ObjectStore::fetch(const std::string& key,
                                               const std::filesystem::path& path, bool hashed) {
  const std::string object = object_key(key);
  const std::string what = "cannot download " + client_.url_of(object) + " to " + path.string();
  const auto directory = path.has_parent_path() ? path.parent_path() : ".";
  for (int attempt = 1;; ++attempt) {
    TemporaryFile file(directory);
    std::optional<Sha256> digest;
    if (hashed) digest.emplace();
    FileDigest result;
    try {
      if (!download(object, file.descriptor(), file.path(), what, digest ? &*digest : nullptr,
                    &result.size)) {
        return std::nullopt;
      }
    } catch (const ObjectChanged& changed) {
      if (attempt < 3) continue;
      throw StoreError(std::string(changed.what()) + " three times; try again later");
    }
    file.commit_rename(path);
    if (digest) result.sha256 = digest->hex_digest();
    return result;
  }
}

bool S3ObjectStore::get_to_file(const std::string& key, const std::filesystem::path& path) {
  return fetch(key, path, false).has_value();
}

std::optional<FileDigest> S3ObjectStore::get_to_file_hashed(const std::string& key,
                                                            const std::filesystem::path& path) {
  return fetch(key, path, true);
}

std::string S3ObjectStore::get_range(const std::string& key, std::uint64_t offset,
                                     std::uint64_t length) {
  const std::string object = object_key(key);
  const std::string what = "cannot read " + client_.url_of(object);
  if (length == 0) {
    if (!head(key)) throw StoreError(what + ": there is no such object");
    return "";
  }
  S3Request request{"GET", object, {}, {{"Range", range_header(offset, offset + length - 1)}}};
  S3Response response = client_.send(request, what);
  if (response.status == 206) return std::move(response.body);
  if (response.status == 200) {  // the server ignored the range
    return response.body.size() > offset ? response.body.substr(offset, length) : "";
  }
  if (response.status == 416) return "";
  if (response.status == 404 && response.error_code() != "NoSuchBucket") {
    throw StoreError(what + ": there is no such object");
  }
  client_.fail(what, response);
}

std::optional<ObjectInfo> S3ObjectStore::head(const std::string& key) {
  const std::string object = object_key(key);
  const std::string what = "cannot look up " + client_.url_of(object);
  S3Request request{"HEAD", object};
  const S3Response response = client_.send(request, what);
  if (response.status == 404 && response.error_code() != "NoSuchBucket") return std::nullopt;
  if (response.status != 200) client_.fail(what, response);
  std::uint64_t size = 0;
  const std::string length = response.header("content-length");
  std::from_chars(length.data(), length.data() + length.size(), size);
  return ObjectInfo{key, size};
}

std::vector<ObjectInfo> S3ObjectStore::list(const std::string& prefix) {
  const std::string store_prefix = location_.prefix.empty() ? "" : location_.prefix + "/";
  const std::string full = store_prefix + prefix;
  const std::string what = "cannot list " + client_.url_of(full);
  std::vector<ObjectInfo> objects;
  std::string token;
  do {
    S3Request request{"GET", "", {{"list-type", "2"}, {"prefix", full}, {"encoding-type", "url"}}};
    if (!token.empty()) request.query.emplace_back("continuation-token", token);
    const S3Response response = client_.send(request, what);
    if (response.status != 200) client_.fail(what, response);
    S3ListPage page = parse_list_objects_v2(response.body);
    for (auto& object : page.objects) {
      if (!object.key.starts_with(store_prefix) || object.key.ends_with('/')) continue;
      objects.push_back({object.key.substr(store_prefix.size()), object.size});
    }
    token = page.truncated ? page.next_continuation_token : "";
  } while (!token.empty());
  std::sort(objects.begin(), objects.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return objects;
}

bool S3ObjectStore::remove(const std::string& key) {
  if (!head(key)) return false;
  const std::string object = object_key(key);
  const std::string what = "cannot delete " + client_.url_of(object);
  S3Request request{"DELETE", object};
  const S3Response response = client_.send(request, what);
  if (response.status != 204 && response.status != 200) client_.fail(what, response);
  return true;
}

std::optional<std::filesystem::path> S3ObjectStore::local_path(const std::string&) {
  return std::nullopt;
}

}  // namespace podflow::datastore
