// The state folder's files (journal.hpp), with POSIX calls: O_APPEND writes, fdatasync, flock,
// rename.

#include "journal.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace till::stripesim {

namespace {

tl::unexpected<Error> os_error(const std::string& what) {
  return fail(ErrorKind::Unavailable, what + ": " + std::strerror(errno));
}

Status write_all(int fd, const std::string& data, const std::string& what) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return os_error(what);
    done += static_cast<std::size_t>(n);
  }
  return ok();
}

Result<std::string> read_all(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return os_error("cannot read " + path);
  }
  std::string data;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return os_error("cannot read " + path);
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return data;
}

Status sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error("cannot open " + dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return os_error("cannot flush " + dir);
  return ok();
}

}  // namespace

Journal::Journal(std::string dir, int lock_fd) : dir_(std::move(dir)), lock_fd_(lock_fd) {}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<Journal>> Journal::open(const std::string& dir, std::vector<std::string>& lines) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ErrorKind::Unavailable, "cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  const std::string lock_path = dir + "/lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return os_error("cannot open " + lock_path);
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    return fail(ErrorKind::FailedPrecondition, dir + " is in use by another till-stripe-sim");
  }
  std::unique_ptr<Journal> journal(new Journal(dir, lock_fd));
  auto data = read_all(dir + "/journal.jsonl");
  if (!data) return fail(data.error());
  std::size_t start = 0;
  while (true) {
    const std::size_t nl = data->find('\n', start);
    if (nl == std::string::npos) break;  // what is left is a torn line (or nothing)
    if (nl > start) lines.emplace_back(data->substr(start, nl - start));
    start = nl + 1;
  }
  return journal;
}

Status Journal::rewrite(const std::vector<std::string>& lines) {
  const std::string path = dir_ + "/journal.jsonl";
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return os_error("cannot create " + tmp);
  std::string data;
  for (const std::string& l : lines) data.append(l).append(1, '\n');
  Status written = write_all(fd, data, "cannot write " + tmp);
  if (written && ::fsync(fd) != 0) written = os_error("cannot flush " + tmp);
  ::close(fd);
  if (!written) return written;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return os_error("cannot replace " + path);
  if (auto synced = sync_dir(dir_); !synced) return synced;
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) return os_error("cannot open " + path);
  return ok();
}

Status Journal::append(const std::string& chunk) {
  if (fd_ < 0) return fail(ErrorKind::FailedPrecondition, "journal not open");
  if (auto w = write_all(fd_, chunk, "cannot append to the journal"); !w) return w;
  if (::fdatasync(fd_) != 0) return os_error("cannot flush the journal");
  return ok();
}

}  // namespace till::stripesim
