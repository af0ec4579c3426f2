// A uniquely named file next to where its content will finally live, renamed into place when
// complete and deleted otherwise: the building block of atomic writes on a local filesystem.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace podflow::datastore {

// Every temporary file starts with this, so directory walks can skip them.
inline constexpr std::string_view kTemporaryFilePrefix = ".podflow-tmp.";

class TemporaryFile {
 public:
  // Creates (O_EXCL) a new empty file in `directory`, which must exist. The name holds the
  // process id, a per-process counter and random bits, so processes never collide.
  // Throws StoreError.
  explicit TemporaryFile(const std::filesystem::path& directory, unsigned mode = 0644);
  // Takes the bytes of `source` into a new temporary file in `directory`, made read-only
  // (`mode`), without ever changing `source`'s mode or content: when `source` is a regular file
  // with a single link that this process's user owns, it is MOVED (free; the caller consumes
  // it); otherwise (a hard link to a file elsewhere, someone else's file, another filesystem) it
  // is COPIED, as a reflink where the filesystem can. What is checked is the inode behind one
  // open descriptor (fstat), never the path twice, so swapping the path meanwhile cannot make
  // podflow move or chmod a file it did not inspect. Throws StoreError (symbolic links and
  // non-regular files are refused).
  struct TakeFrom {
    std::filesystem::path source;
    unsigned mode = 0444;
  };
  TemporaryFile(const std::filesystem::path& directory, const TakeFrom& take);
  ~TemporaryFile();  // closes and deletes the file unless it was renamed or linked away
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  int descriptor() const { return descriptor_; }
  const std::filesystem::path& path() const { return path_; }

  void write(std::string_view bytes);                   // all of it, or throws
  void copy_from(const std::filesystem::path& source);  // appends the whole file, or throws
  // Makes the still empty file a reflink of `source` (FICLONE: shared extents, copy-on-write);
  // false where the filesystem cannot, or `source` cannot be opened.
  bool reflink_from(const std::filesystem::path& source);
  // Appends everything readable from `source` (a reflink when the file is still empty and the
  // filesystem can share extents, FICLONE); throws naming `source_name`.
  void copy_from_descriptor(int source, const std::filesystem::path& source_name);
  // True when the file was moved in by TakeFrom (not copied): for tests and messages.
  bool moved() const { return moved_; }
  void set_mode(unsigned mode);  // fchmod
  // Closes the file and renames it to `destination`, replacing what was there.
  void commit_rename(const std::filesystem::path& destination);
  // Closes the file and hard-links it to `destination`; false if `destination` exists.
  // The temporary name is deleted either way.
  bool commit_link_if_absent(const std::filesystem::path& destination);

 private:
  void close_descriptor();
  bool reflink_from_descriptor(int input);

  std::filesystem::path path_;
  int descriptor_ = -1;
  bool done_ = false;
  bool moved_ = false;
};

// A fresh name in `directory` for a temporary file that someone else will create (for example a
// download), with the same prefix and uniqueness as TemporaryFile's.
std::filesystem::path unique_temporary_path(const std::filesystem::path& directory);

// Writes all of `bytes` to `descriptor`, retrying on EINTR and short writes; false on error
// (errno set).
bool write_fully(int descriptor, std::string_view bytes);

// "512 bytes", "3.0 MiB": sizes in messages.
std::string human_bytes(unsigned long long bytes);

// True for the errors of a full filesystem or an exhausted quota (ENOSPC, EDQUOT).
bool is_out_of_space(int error_number);

// What a person needs when a write under `path` failed for lack of space: "; <filesystem> has
// N free of M; podflow keeps there <...>; free space (...) or ...". `datastore_root`, when not
// empty, is described with the size of each of its top-level folders (skipped when it has too
// many files to count quickly), including `_work`, the local runs' work directories.
std::string out_of_space_advice(const std::filesystem::path& path,
                                const std::filesystem::path& datastore_root);

// Creates `directory` and its parents; throws StoreError naming it.
void create_directories_or_throw(const std::filesystem::path& directory);

}  // namespace podflow::datastore
