#include "ember/io/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

#include "ember/core/error.h"

namespace ember::io {

namespace {
// Splits "a/b/c.ckpt" into the folder ("a/b", or "." for a bare name) and the file name.
std::pair<std::string, std::string> split_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

std::atomic<uint64_t> temp_counter{0};

constexpr const char* kTempMark = ".tmp-";

// Removes "<dir>/.<name>.tmp-<pid>-<n>" files left by saves to the same target whose process has
// died (a crash or a kill mid-save); a live process's temporary file is its save in progress.
void remove_stale_temps(const std::string& dir, const std::string& name) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::string prefix = "." + name + kTempMark;
  while (dirent* e = ::readdir(d)) {
    std::string entry = e->d_name;
    if (entry.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rest = entry.substr(prefix.size());
    size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos || rest.find_first_not_of("0123456789-") != std::string::npos) continue;
    long pid = std::strtol(rest.substr(0, dash).c_str(), nullptr, 10);
    // This process's own saves may be in progress on another thread; a live process's too.
    if (pid <= 0 || pid == ::getpid() || ::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;
    (void)::unlinkat(::dirfd(d), entry.c_str(), 0);
  }
  ::closedir(d);
}
}  // namespace

bool is_temporary_save(const std::string& path) {
  std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  size_t mark = name.rfind(kTempMark);
  if (name.empty() || name[0] != '.' || mark == std::string::npos || mark < 2) return false;
  std::string rest = name.substr(mark + std::strlen(kTempMark));
  size_t dash = rest.find('-');
  return dash != 0 && dash != std::string::npos && dash + 1 < rest.size() &&
         rest.find_first_not_of("0123456789-") == std::string::npos;
}

void throw_errno(const std::string& what, const std::string& path, int err) {
  throw Error(what + ": " + path + ": " + std::strerror(err));
}

int open_regular_file(const std::string& path, uint64_t& size) {
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer, forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw_errno("load: cannot open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw_errno("load: cannot stat", path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    const char* what = S_ISDIR(st.st_mode) ? "a folder" : S_ISFIFO(st.st_mode) ? "a FIFO" :
                       S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : S_ISSOCK(st.st_mode) ? "a socket" :
                       "not a regular file";
    EMBER_FAIL("load: ", path, ": is ", what, ", not a regular file");
  }
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  size = uint64_t(st.st_size);
  return fd;
}

void pread_exact(int fd, void* buf, size_t n, uint64_t offset, const std::string& path) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, n, off_t(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_errno("read failed", path, errno);
    }
    EMBER_CHECK(got > 0, path, ": unexpected end of file at byte ", offset, " (", n,
                " more bytes expected); the file is truncated");
    p += got;
    n -= size_t(got);
    offset += uint64_t(got);
  }
}

namespace {
const char* kind_of(mode_t mode) {
  return S_ISDIR(mode) ? "a folder" : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) ? "a character device" :
         S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}
}  // namespace

void check_output_target(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;  // a new file (or a dangling link, which the rename replaces)
    throw_errno("save: cannot stat the target", path, errno);
  }
  EMBER_CHECK(S_ISREG(st.st_mode), "save: ", path, ": is ", kind_of(st.st_mode),
              ", not a regular file; refusing to write to it or replace it");
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  AtomicFile file(path);
  file.pwrite_all(bytes.data(), bytes.size(), 0);
  file.commit();
}

AppendFile::AppendFile(std::string path) : path_(std::move(path)) {
  check_output_target(path_);
  // O_NONBLOCK: should a FIFO take the file's place after the check, open() must not wait on it.
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd_ < 0) throw_errno("cannot open for appending", path_, errno);
  struct stat st;
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    EMBER_FAIL("save: ", path_, ": is not a regular file; refusing to append to it");
  }
  (void)::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendFile::append(const std::string& bytes) {
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (n > 0) {
    ssize_t put = ::write(fd_, p, n);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) throw_errno("write failed", path_, put < 0 ? errno : ENOSPC);
    p += put;
    n -= size_t(put);
  }
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  EMBER_CHECK(!path_.empty() && path_.back() != '/', "save: invalid file path \"", path_, "\"");
  check_output_target(path_);  // before anything is opened or created
  auto [dir, name] = split_dir(path_);
  remove_stale_temps(dir, name);
  // O_EXCL with a name unique to this process and call; O_NOFOLLOW besides, though O_EXCL already
  // refuses any existing name, a planted symbolic link included. After a collision (a leftover, or
  // a name taken on purpose) the counter jumps by an amount no one can predict, and we retry.
  for (int attempt = 0;; ++attempt) {
    temp_path_ = (dir == "/" ? "" : dir) + "/." + name + ".tmp-" + std::to_string(::getpid()) + "-" +
                 std::to_string(temp_counter++);
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      keep_target_mode();
      return;
    }
    if (errno == EEXIST && attempt < 100) {
      temp_counter += std::random_device{}() % 1000000;
      continue;
    }
    throw_errno("save: cannot create a temporary file beside the target", path_ + " (temporary " +
                temp_path_ + ")", errno);
  }
}

void AtomicFile::keep_target_mode() {
  // The new file takes the place of the old one: it keeps the old one's permission bits (a private
  // checkpoint stays private) and, where this process may set them, its owner and group.
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  if (::fchown(fd_, st.st_uid, st.st_gid) != 0) (void)::fchown(fd_, uid_t(-1), st.st_gid);
  if (::fchmod(fd_, st.st_mode & 07777) != 0) {
    int err = errno;
    discard();
    throw_errno("save: cannot give the temporary file the target's permissions", path_, err);
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temp_path_.c_str());
}

void AtomicFile::pwrite_all(const void* data, size_t n, uint64_t offset) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t put = ::pwrite(fd_, p, n, off_t(offset));
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) throw_errno("save: write failed", path_, put < 0 ? errno : ENOSPC);
    p += put;
    n -= size_t(put);
    offset += uint64_t(put);
  }
}

void AtomicFile::reserve(uint64_t size) {
#ifdef __linux__
  // fallocate, not posix_fallocate: where the file system cannot preallocate, glibc's emulation
  // would write the whole file an extra time. Such a folder still takes the writes; a full disk
  // (or a file size limit) fails here, before any data is written.
  if (size > 0 && ::fallocate(fd_, 0, 0, off_t(size)) != 0) {
    int err = errno;
    if (err == ENOSPC || err == EFBIG || err == EDQUOT || err == EIO) throw_errno("save: cannot reserve space", path_, err);
  }
#else
  (void)size;
#endif
}

void AtomicFile::start_writeback(uint64_t offset, uint64_t n) {
#ifdef SYNC_FILE_RANGE_WRITE
  // Best effort: errors surface in fsync, which commit() checks.
  (void)::sync_file_range(fd_, off_t(offset), off_t(n), SYNC_FILE_RANGE_WRITE);
#endif
}

void AtomicFile::commit(bool sync) {
  EMBER_CHECK(!committed_ && fd_ >= 0, "save: ", path_, ": file already committed");
  if (sync && ::fsync(fd_) != 0) throw_errno("save: fsync failed", path_, errno);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw_errno("save: close failed", path_, errno);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    throw_errno("save: cannot rename " + temp_path_ + " over the target", path_, errno);
  committed_ = true;
  if (sync) {
    // The rename itself lives in the folder: sync the folder so it survives a power cut.
    std::string dir = split_dir(path_).first;
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) throw_errno("save: cannot open the folder to sync it", dir, errno);
    int rc = ::fsync(dfd);
    int err = errno;
    ::close(dfd);
    if (rc != 0 && err != EINVAL) throw_errno("save: fsync of the folder failed", dir, err);
  }
}

}  // namespace ember::io
