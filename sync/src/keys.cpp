#include "till/sync/keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace till::sync {

Status validate_api_key(std::string_view key) {
  static constexpr std::array<std::string_view, 4> kPrefixes = {"sk_test_", "sk_live_", "rk_test_", "rk_live_"};
  bool prefixed = false;
  for (auto p : kPrefixes) prefixed = prefixed || key.rfind(p, 0) == 0;
  if (!prefixed) {
    if (key.rfind("pk_", 0) == 0) {
      return fail(ErrorKind::InvalidArgument, "a publishable key (pk_) cannot call the API; use a restricted (rk_) "
                                              "or secret (sk_) key");
    }
    return fail(ErrorKind::InvalidArgument, "the API key must start with rk_live_, rk_test_, sk_live_ or sk_test_");
  }
  if (key.size() < 16) return fail(ErrorKind::InvalidArgument, "the API key is too short");
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return fail(ErrorKind::InvalidArgument, "the API key contains characters a Stripe key never has");
  }
  return ok();
}

Result<Secret> load_api_key_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return fail(ErrorKind::NotFound, "key file " + path + " does not exist");
    return fail(ErrorKind::PermissionDenied, "cannot open key file " + path + ": " + std::strerror(err));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(ErrorKind::PermissionDenied, "cannot stat key file " + path);
  if (!S_ISREG(st.st_mode)) return fail(ErrorKind::PermissionDenied, "key file " + path + " is not a regular file");
  if (st.st_uid != ::geteuid()) {
    return fail(ErrorKind::PermissionDenied, "key file " + path + " is not owned by the user running Till");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(ErrorKind::PermissionDenied, "key file " + path + " has mode " + mode +
                                                 "; it must be readable by its owner only (chmod 600 " + path + ")");
  }
  std::string content;
  char buf[512];
  while (true) {
    const auto n = ::read(fd, buf, sizeof buf);
    if (n < 0) return fail(ErrorKind::Unavailable, "cannot read key file " + path);
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > 4096) return fail(ErrorKind::InvalidArgument, "key file " + path + " is too large");
  }
  Secret holder(std::move(content));  // wipes the raw buffer when done
  std::string_view key = holder.reveal();
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.front()))) key.remove_prefix(1);
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.remove_suffix(1);
  if (auto st2 = validate_api_key(key); !st2) {
    return fail(st2.error().kind, "key file " + path + ": " + st2.error().message);
  }
  return Secret(std::string(key));
}

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<Secret> load_api_key(const EnvLookup& env, const std::string& key_file) {
  if (auto v = env(kApiKeyEnv); v && !v->empty()) {
    Secret key(std::move(*v));
    if (auto st = validate_api_key(key.reveal()); !st) {
      return fail(st.error().kind, std::string(kApiKeyEnv) + ": " + st.error().message);
    }
    return key;
  }
  if (!key_file.empty()) return load_api_key_file(key_file);
  return fail(ErrorKind::NotFound, "no Stripe API key: set " + std::string(kApiKeyEnv) +
                                       " or configure a key file with mode 0600");
}

}  // namespace till::sync
