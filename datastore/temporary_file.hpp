// A uniquely named file next to where its content will finally live, renamed into place when
// complete and deleted otherwise: the building block of atomic writes on a local filesystem.
#pragma once

#include <filesystem>
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
  ~TemporaryFile();  // closes and deletes the file unless it was renamed or linked away
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  int descriptor() const { return descriptor_; }
  const std::filesystem::path& path() const { return path_; }

  void write(std::string_view bytes);                   // all of it, or throws
  void copy_from(const std::filesystem::path& source);  // appends the whole file, or throws
  void set_mode(unsigned mode);                         // fchmod
  // Closes the file and renames it to `destination`, replacing what was there.
  void commit_rename(const std::filesystem::path& destination);
  // Closes the file and hard-links it to `destination`; false if `destination` exists.
  // The temporary name is deleted either way.
  bool commit_link_if_absent(const std::filesystem::path& destination);

 private:
  void close_descriptor();

  std::filesystem::path path_;
  int descriptor_ = -1;
  bool done_ = false;
};

// A fresh name in `directory` for a temporary file that someone else will create (for example a
// download), with the same prefix and uniqueness as TemporaryFile's.
std::filesystem::path unique_temporary_path(const std::filesystem::path& directory);

// Writes all of `bytes` to `descriptor`, retrying on EINTR and short writes; false on error
// (errno set).
bool write_fully(int descriptor, std::string_view bytes);

// Creates `directory` and its parents; throws StoreError naming it.
void create_directories_or_throw(const std::filesystem::path& directory);

}  // namespace podflow::datastore
