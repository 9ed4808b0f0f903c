#pragma once
// Files written so that a crash leaves either the old file or the new one, never a mix: the bytes
// go to a temporary file in the target's folder, which is synced and then renamed over the target.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ember::io {

// "<what>: <path>: <strerror(errno)>", as an ember::Error; for failed system calls.
[[noreturn]] void throw_errno(const std::string& what, const std::string& path, int err);

// Opens `path` read-only and returns the descriptor, with the file's size in `size`; throws naming the
// path when it cannot be opened or is not a regular file (the descriptor is closed then).
int open_regular_file(const std::string& path, uint64_t& size);

// Reads exactly `n` bytes at `offset`, retrying short reads and EINTR; throws naming `path` on an
// I/O error or an unexpected end of file.
void pread_exact(int fd, void* buf, size_t n, uint64_t offset, const std::string& path);

// Whether `path` names a temporary file of a save (".<name>.tmp-<pid>-<n>"): the file of a save
// that was interrupted, never a checkpoint, whatever it holds. Readers refuse such a name.
bool is_temporary_save(const std::string& path);

// Throws naming `path` when a file exists there (after symbolic links) that is not a regular file:
// a folder, a FIFO, a device or a socket is never opened, written or replaced. Only stat()s it, so a
// FIFO without a reader cannot block the caller. A missing file is fine.
void check_output_target(const std::string& path);

// Every output file is written through this class: to-be-replaced targets are checked first
// (check_output_target), the temporary file is created exclusively (O_CREAT | O_EXCL | O_NOFOLLOW,
// so a symbolic link planted at its name is never followed), every write, the fsync and the close
// are checked (a full disk throws and leaves the old file as it was), and only then is it renamed
// over the target.
class AtomicFile {
 public:
  // Creates "<dir>/.<name>.tmp-<pid>-<n>" beside `path`, with the mode (and, where allowed, the
  // owner) of the file it will replace, else mode 0666 less the umask. Temporary files of earlier
  // saves to `path` whose process is gone are removed first.
  explicit AtomicFile(std::string path);
  // Without commit() (an exception, a failed write), closes and removes the temporary file.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Writes all of `n` bytes at `offset`; throws naming the target and errno.
  void pwrite_all(const void* data, size_t n, uint64_t offset);
  // Reserves `size` bytes on disk up front (best effort: ignored where unsupported).
  void reserve(uint64_t size);
  // Starts writing [offset, offset + n) to disk without waiting, so that the final fsync finds
  // little left to do (Linux sync_file_range; a no-op elsewhere).
  void start_writeback(uint64_t offset, uint64_t n);
  // fsync (when `sync`), close, rename over the target, then fsync the folder (when `sync`).
  void commit(bool sync = true);

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }
  int fd() const { return fd_; }

 private:
  void discard() noexcept;
  void keep_target_mode();

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Writes `bytes` to `path` through an AtomicFile (checked, synced, renamed over the target).
void write_file_atomically(const std::string& path, const std::string& bytes);

// A log that grows a row at a time (train_mnist's --metrics): opens the regular file at `path`
// for appending, refusing anything else as check_output_target does, and never following a
// symbolic link. Each append is one checked write; a failure (a full disk) throws naming the path.
class AppendFile {
 public:
  explicit AppendFile(std::string path);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  void append(const std::string& bytes);

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace ember::io
