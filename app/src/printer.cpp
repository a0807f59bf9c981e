#include "till/app/printer.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <vector>

namespace till::app {
namespace {

using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string errno_text(int e) { return std::strerror(e); }

// "crw-rw---- root:lp" for a permission message, or "" when stat fails.
std::string describe_owner(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  char mode[11] = "----------";
  if (S_ISCHR(st.st_mode)) mode[0] = 'c';
  if (S_ISDIR(st.st_mode)) mode[0] = 'd';
  if (S_ISFIFO(st.st_mode)) mode[0] = 'p';
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) {
    if (st.st_mode & (0400 >> i)) mode[1 + i] = rwx[i];
  }
  std::string owner = std::to_string(st.st_uid);
  std::string group = std::to_string(st.st_gid);
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* pwp = nullptr;
  if (::getpwuid_r(st.st_uid, &pw, buf.data(), buf.size(), &pwp) == 0 && pwp != nullptr) owner = pwp->pw_name;
  struct group gr {};
  struct group* grp = nullptr;
  if (::getgrgid_r(st.st_gid, &gr, buf.data(), buf.size(), &grp) == 0 && grp != nullptr) group = grp->gr_name;
  return std::string(mode) + " " + owner + ":" + group;
}

// SIGPIPE would kill the kiosk when a FIFO's reader (or a socket) goes away mid-write: block it
// for this thread while writing, and swallow one the write raised.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_only, &old_) == 0;
  }
  ~SigpipeGuard() {
    if (!blocked_) return;
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      sigset_t pipe_only;
      sigemptyset(&pipe_only);
      sigaddset(&pipe_only, SIGPIPE);
      const struct timespec zero {};
      while (sigtimedwait(&pipe_only, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_{};
  bool blocked_ = false;
  bool was_pending_ = false;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // close() reports late write errors (NFS, some drivers): check it.
  int close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

std::string sanitize_stem(std::string_view stem) {
  std::string out;
  for (char c : stem) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || (c == '.' && !out.empty());
    out += keep ? c : '_';
  }
  if (out.empty()) out = "receipt";
  if (out.size() > 100) out.resize(100);
  return out;
}

Error file_error(int e, const std::string& what) {
  if (e == ENOSPC || e == EDQUOT) return Error{ErrorKind::ResourceExhausted, what + ": disk full (" + errno_text(e) + ")", std::nullopt};
  if (e == EACCES || e == EPERM || e == EROFS)
    return Error{ErrorKind::PermissionDenied, what + ": " + errno_text(e), std::nullopt};
  if (e == ENOTDIR) return Error{ErrorKind::InvalidArgument, what + ": a part of the path is not a folder", std::nullopt};
  return Error{ErrorKind::Unavailable, what + ": " + errno_text(e), std::nullopt};
}

Status ensure_folder(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return fail(ErrorKind::InvalidArgument, "receipt folder " + dir + " exists and is not a folder");
    }
    return ok();
  }
  std::error_code ec;
  const fs::path parent = fs::path(dir).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(file_error(errno, "creating receipt folder " + dir));
  }
  return ok();
}

bool parse_int(std::string_view s, long long& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

Error device_open_error(const std::string& path, int e) {
  const std::string p = "printer " + path;
  switch (e) {
    case ENOENT:
      return Error{ErrorKind::NotFound,
                   p + " does not exist: is the printer plugged in and switched on? (USB printers appear as "
                       "/dev/usb/lpN once the usblp driver sees them)",
                   std::nullopt};
    case ENXIO:
    case ENODEV:
      return Error{ErrorKind::NotFound,
                   p + ": no device behind it (" + errno_text(e) + "): the printer is unplugged or off",
                   std::nullopt};
    case EACCES:
    case EPERM: {
      const std::string owner = describe_owner(path);
      return Error{ErrorKind::PermissionDenied,
                   "no permission to write to " + p + (owner.empty() ? "" : " (" + owner + ")") +
                       ": add the kiosk's user to the device's group (usually 'lp') and log in again",
                   std::nullopt};
    }
    case EBUSY:
      return Error{ErrorKind::Unavailable, p + " is busy: another program has it open; retry when it is done",
                   std::nullopt};
    case EISDIR:
      return Error{ErrorKind::InvalidArgument,
                   p + " is a folder: device: needs the printer's device node (use file:DIR for a folder)",
                   std::nullopt};
    case EROFS:
      return Error{ErrorKind::PermissionDenied, p + " is on a read-only filesystem", std::nullopt};
    default:
      return Error{ErrorKind::Unavailable, "cannot open " + p + ": " + errno_text(e), std::nullopt};
  }
}

Status write_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout, std::string_view what) {
  const auto deadline = Steady::now() + timeout;
  const std::string name(what);
  std::size_t done = 0;
  const auto progress = [&] {
    return " (" + std::to_string(done) + " of " + std::to_string(bytes.size()) + " bytes written)";
  };
  SigpipeGuard guard;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    const int e = n < 0 ? errno : EAGAIN;
    if (e == EINTR) continue;
    if (e == EAGAIN) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
      if (left.count() <= 0) {
        return fail(ErrorKind::Unavailable, name + " did not take the data within " +
                                                std::to_string(timeout.count()) +
                                                " ms: offline, out of paper or cover open?" + progress());
      }
      struct pollfd p {
        fd, POLLOUT, 0
      };
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno != EINTR) return fail(ErrorKind::Unavailable, name + ": poll: " + errno_text(errno) + progress());
      if (r > 0 && (p.revents & (POLLERR | POLLHUP)) && !(p.revents & POLLOUT)) {
        return fail(ErrorKind::Unavailable, name + " went away while printing" + progress());
      }
      continue;
    }
    if (e == EPIPE) return fail(ErrorKind::Unavailable, name + " was closed while printing" + progress());
    if (e == EBADF) return fail(ErrorKind::FailedPrecondition, name + " is not open for writing" + progress());
    if (e == EIO) {
      return fail(ErrorKind::Unavailable,
                  name + ": I/O error (out of paper, cover open or unplugged?)" + progress());
    }
    if (e == ENOSPC || e == EDQUOT) return fail(ErrorKind::ResourceExhausted, name + ": disk full" + progress());
    return fail(ErrorKind::Unavailable, name + ": " + errno_text(e) + progress());
  }
  return ok();
}

Status write_to_device(const std::string& path, std::string_view bytes, std::chrono::milliseconds timeout) {
  // O_NONBLOCK: a FIFO without a reader fails at once (ENXIO) instead of hanging the core thread,
  // and writes wait in poll() with a deadline. O_APPEND: a plain file given by mistake is appended
  // to, never overwritten. No O_CREAT: a typo does not create a file under /dev.
  const int fd = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_APPEND | O_CLOEXEC);
  if (fd < 0) return fail(device_open_error(path, errno));
  Fd guard(fd);
  if (auto r = write_all(fd, bytes, timeout, "printer " + path); !r) return r;
  if (guard.close() != 0 && errno != EINTR) {
    return fail(ErrorKind::Unavailable, "printer " + path + ": closing: " + errno_text(errno));
  }
  return ok();
}

Result<std::string> write_receipt_file(const std::string& dir, std::string_view stem, std::string_view ext,
                                       std::string_view bytes) {
  if (dir.empty()) return fail(ErrorKind::InvalidArgument, "no receipt folder configured");
  if (auto r = ensure_folder(dir); !r) return fail(r.error());
  const std::string base = sanitize_stem(stem);
  const std::string suffix = ext.empty() ? std::string() : "." + sanitize_stem(ext);
  std::string tmp = (fs::path(dir) / ("." + base + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());  // 0600, O_EXCL
  if (fd < 0) return fail(file_error(errno, "creating a receipt file in " + dir));
  Fd file(fd);
  const auto discard = [&](Error e) -> Result<std::string> {
    ::unlink(tmp.c_str());
    return fail(std::move(e));
  };
  if (auto r = write_all(fd, bytes, std::chrono::milliseconds(0), "receipt file " + tmp); !r) return discard(r.error());
  if (::fsync(fd) != 0) return discard(file_error(errno, "syncing receipt file " + tmp));
  if (file.close() != 0) return discard(file_error(errno, "closing receipt file " + tmp));
  // Publish under the first free name: link() fails with EEXIST instead of replacing, so an
  // earlier receipt is never overwritten and the final name only ever holds a complete file.
  std::string final_path;
  for (int n = 1; n <= 1000; ++n) {
    const std::string name = base + (n == 1 ? std::string() : "-" + std::to_string(n)) + suffix;
    const std::string candidate = (fs::path(dir) / name).string();
    if (::link(tmp.c_str(), candidate.c_str()) == 0) {
      final_path = candidate;
      break;
    }
    const int e = errno;
    if (e == EEXIST) continue;
    if (e == EPERM || e == EOPNOTSUPP || e == EMLINK) {
      // A filesystem without hard links (vfat): rename if the name is free (not atomic against a
      // concurrent writer of the same name, which only this function is).
      struct stat st {};
      if (::lstat(candidate.c_str(), &st) == 0) continue;
      if (::rename(tmp.c_str(), candidate.c_str()) != 0) return discard(file_error(errno, "publishing " + candidate));
      final_path = candidate;
      break;
    }
    return discard(file_error(e, "publishing " + candidate));
  }
  if (final_path.empty()) return discard(Error{ErrorKind::ResourceExhausted, "1000 receipts named " + base + " already in " + dir, std::nullopt});
  ::unlink(tmp.c_str());  // gone already after the rename fallback
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    Fd d(dfd);
    if (::fsync(dfd) != 0) return fail(file_error(errno, "syncing receipt folder " + dir));
  }
  return final_path;
}

Result<PrinterConfig> parse_printer_spec(std::string_view spec, const std::string& data_dir) {
  PrinterConfig c;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = spec.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? spec.size() : comma;
    parts.push_back(spec.substr(start, end - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  const std::string_view target = parts.front();
  const auto bad = [&](std::string_view what) {
    return fail(ErrorKind::InvalidArgument, "printer setting '" + std::string(spec) + "': " + std::string(what) +
                                                " (expected file, file:DIR or device:PATH, then options text|escpos, "
                                                "width=N, cut=partial|full|none, codepage=pc858|wpc1252|pc437, "
                                                "timeout_ms=N)");
  };
  if (target == "file" || target.empty()) {
    c.kind = PrinterKind::Folder;
    c.path = (fs::path(data_dir) / "receipts").string();
  } else if (target.starts_with("file:") && target.size() > 5) {
    c.kind = PrinterKind::Folder;
    c.path = std::string(target.substr(5));
  } else if (target.starts_with("device:") && target.size() > 7) {
    c.kind = PrinterKind::Device;
    c.path = std::string(target.substr(7));
    c.format = PrintFormat::EscPos;
  } else {
    return bad("unknown target '" + std::string(target) + "'");
  }
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string_view o = parts[i];
    long long n = 0;
    if (o == "text") {
      c.format = PrintFormat::Text;
    } else if (o == "escpos") {
      c.format = PrintFormat::EscPos;
    } else if (o.starts_with("width=")) {
      if (!parse_int(o.substr(6), n) || n < pos::kMinReceiptWidth || n > pos::kMaxReceiptWidth)
        return bad("width must be 28..96");
      c.escpos.width = static_cast<int>(n);
    } else if (o == "cut=partial") {
      c.escpos.cut = pos::Cut::Partial;
    } else if (o == "cut=full") {
      c.escpos.cut = pos::Cut::Full;
    } else if (o == "cut=none") {
      c.escpos.cut = pos::Cut::None;
    } else if (o == "codepage=pc858") {
      c.escpos.code_page = pos::CodePage::Pc858;
    } else if (o == "codepage=wpc1252") {
      c.escpos.code_page = pos::CodePage::Wpc1252;
    } else if (o == "codepage=pc437") {
      c.escpos.code_page = pos::CodePage::Pc437;
    } else if (o.starts_with("timeout_ms=")) {
      if (!parse_int(o.substr(11), n) || n < 0 || n > 600'000) return bad("timeout_ms must be 0..600000");
      c.device_timeout = std::chrono::milliseconds(n);
    } else {
      return bad("unknown option '" + std::string(o) + "'");
    }
  }
  return c;
}

namespace {

Result<std::string> deliver(const PrinterConfig& config, std::string_view stem, const std::string& bytes) {
  if (config.kind == PrinterKind::Device) {
    if (auto r = write_to_device(config.path, bytes, config.device_timeout); !r) return fail(r.error());
    return config.path;
  }
  return write_receipt_file(config.path, stem, config.format == PrintFormat::EscPos ? "escpos" : "txt", bytes);
}

}  // namespace

Result<std::string> print_receipt(const PrinterConfig& config, const pos::ReceiptInput& receipt) {
  if (config.format == PrintFormat::EscPos) {
    return deliver(config, receipt.sale.id, pos::escpos_receipt(receipt, config.escpos));
  }
  return deliver(config, receipt.sale.id, pos::render_receipt(receipt));
}

Result<std::string> print_receipt_text(const PrinterConfig& config, std::string_view stem, std::string_view text) {
  if (config.format == PrintFormat::EscPos) return deliver(config, stem, pos::escpos_from_text(text, config.escpos));
  return deliver(config, stem, pos::mask_card_numbers(text));
}

Status open_cash_drawer(const PrinterConfig& config) {
  if (config.kind != PrinterKind::Device || config.format != PrintFormat::EscPos) {
    return fail(ErrorKind::FailedPrecondition, "the cash drawer opens through an ESC/POS printer device; none is configured");
  }
  return write_to_device(config.path, pos::escpos_open_cash_drawer(), config.device_timeout);
}

}  // namespace till::app
