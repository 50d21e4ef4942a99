// write_file_atomically: replace a file so that readers and crashes see either the old bytes or the new
// ones, never a half-written file. The bytes go to a temporary file in the same folder (rename() is only
// atomic within one filesystem), are fsynced, renamed over path, and the folder is fsynced so the rename
// itself survives a power cut. See atomic_file.h for the temporary's name.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "cudamlp/atomic_file.h"
#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

// The temporary being written, for a signal handler (atomic_write_temporary): the path in a buffer that
// lives as long as the process, published by an atomic flag (lock-free, so reading it is signal-safe).
char g_temporary[PATH_MAX + 64];
std::atomic<bool> g_writing{false};

// Registers the temporary while it exists (as long as this object lives).
class TemporaryInProgress {
 public:
  explicit TemporaryInProgress(const std::string& tmp) {
    if (tmp.size() >= sizeof g_temporary) return;  // unregistered: the next write removes it if left
    std::memcpy(g_temporary, tmp.c_str(), tmp.size() + 1);
    g_writing.store(true);
  }
  ~TemporaryInProgress() { g_writing.store(false); }
  TemporaryInProgress(const TemporaryInProgress&) = delete;
  TemporaryInProgress& operator=(const TemporaryInProgress&) = delete;
};

// ".cudamlp-<FNV-1a 64 of the file name>-": what every temporary of that file starts with.
std::string temporary_prefix(const std::string& file_name) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : file_name) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, ".cudamlp-%016" PRIx64 "-", hash);
  return prefix;
}

// Removes the temporaries of this file that processes which no longer run left in folder (a kill -9
// mid-write), and one of our own pid, which can only be left from an earlier process with that pid.
// Another live writer's temporary is left alone. Best effort: a folder that cannot be listed is skipped.
void remove_stale_temporaries(const std::string& folder, const std::string& prefix) {
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) return;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (!name.starts_with(prefix) || !name.ends_with(".tmp")) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (end == nullptr || std::string(end) != ".tmp" || pid <= 0) continue;
    const bool gone = ::kill(pid_t(pid), 0) != 0 && errno == ESRCH;
    if (gone || pid == ::getpid()) ::unlink((folder + "/" + name).c_str());
  }
  ::closedir(dir);
}

std::string folder_of(const std::string& path) {
  const std::string folder = std::filesystem::path(path).parent_path().string();
  return folder.empty() ? "." : folder;
}

// "could not write: No space left on device (write to ./.cudamlp-<hash>-42.tmp)": the errno text first,
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
  // Renaming over a device or a FIFO would replace it (as root, /dev/full itself) with a regular file.
  struct stat target {};
  if (::stat(path.c_str(), &target) == 0 && !S_ISREG(target.st_mode))
    throw FileError(path, "exists and is not a regular file (a folder, device or FIFO): not written");
  const std::string folder = folder_of(path);
  remove_stale_temporaries(folder, temporary_prefix(std::filesystem::path(path).filename().string()));
  const std::string tmp = temporary_path(path);

  // O_EXCL: never write through a foreign file (or a symlink planted at the temp name).
  // Registered before it exists, so a second signal at any moment removes it: none outlives the process
  // (a test sends the signal the moment the file appears). The price: a signal in the instant between
  // this line and a failed open (a foreign file at the temporary's name, which remove_stale_temporaries
  // has just cleared of our own) would remove that file.
  const TemporaryInProgress registered(tmp);
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
  g_writing.store(false);
  err = fsync_folder(folder);
  if (err != 0) throw write_error(path, err, "fsync folder " + folder + " after the rename");
}

std::string temporary_path(const std::string& path) {
  return folder_of(path) + "/" + temporary_prefix(std::filesystem::path(path).filename().string()) +
         std::to_string(::getpid()) + ".tmp";
}

const char* atomic_write_temporary() noexcept { return g_writing.load() ? g_temporary : nullptr; }

}  // namespace cudamlp
