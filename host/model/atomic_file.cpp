// write_file_atomically: replace a file so that readers and crashes see either the old bytes or the new
// ones, never a half-written file. The bytes go to "<path>.tmp-<pid>" in the same folder (rename() is
// only atomic within one filesystem), are fsynced, renamed over path, and the folder is fsynced so the
// rename itself survives a power cut.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "cudamlp/atomic_file.h"
#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

// "could not write: No space left on device (write to m.safetensors.tmp-42)": the errno text first,
// then the call that failed, so the message says both what went wrong and where.
FileError write_error(const std::string& path, int err, const std::string& call) {
  return FileError(path, std::string("could not write: ") + std::strerror(err) + " (" + call + ")");
}

// Writes every byte, retrying after a signal (EINTR) and after a short write. Returns 0 or an errno.
int write_all(int fd, std::string_view bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return 0;
}

// Makes a completed rename durable. Some filesystems cannot fsync a folder and say EINVAL; the rename
// has still happened there, so that is not a failure.
int fsync_folder(const std::string& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = 0;
  if (::fsync(fd) != 0 && errno != EINVAL) err = errno;
  ::close(fd);
  return err;
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  std::string folder = std::filesystem::path(path).parent_path().string();
  if (folder.empty()) folder = ".";

  // O_EXCL: never write through a stale or foreign file (or a symlink planted at the temp name).
  // A leftover temp file from a crashed process with the same pid makes this fail; it is not ours to
  // delete, so the error names it and leaves it.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw write_error(path, errno, "create " + tmp);

  // From here on the temp file is ours: every failure removes it before throwing.
  int err = write_all(fd, bytes);
  std::string call = "write to " + tmp;
  if (err == 0 && ::fsync(fd) != 0) {
    err = errno;
    call = "fsync " + tmp;
  }
  // close() can report a deferred write error (NFS, quota), so it is checked even after fsync.
  if (::close(fd) != 0 && err == 0) {
    err = errno;
    call = "close " + tmp;
  }
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    call = "rename " + tmp + " to " + path;
  }
  if (err != 0) {
    ::unlink(tmp.c_str());
    throw write_error(path, err, call);
  }

  // The new file is in place; only its durability across a power cut is left to secure.
  err = fsync_folder(folder);
  if (err != 0) throw write_error(path, err, "fsync folder " + folder + " after the rename");
}

}  // namespace cudamlp
