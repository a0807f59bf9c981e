#include "till/store/data_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace till::store {
namespace {

constexpr std::uint8_t kFormatV1 = 0x01;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

}  // namespace

DataKey::~DataKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

Result<DataKey> DataKey::from_hex(std::string_view hex) {
  hex = trim(hex);
  if (hex.size() != kBytes * 2) {
    return fail(ErrorKind::InvalidArgument,
                "data key must be 64 hex characters (32 bytes), got " + std::to_string(hex.size()));
  }
  DataKey key;
  for (std::size_t i = 0; i < kBytes; ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail(ErrorKind::InvalidArgument, "data key is not hexadecimal");
    key.bytes_[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return key;
}

Result<DataKey> DataKey::from_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return fail(ErrorKind::NotFound, "data key file " + path + " does not exist");
    return fail(ErrorKind::Unavailable, "cannot stat data key file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    return fail(ErrorKind::InvalidArgument, "data key file " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(ErrorKind::PermissionDenied, "data key file " + path + " has mode " + mode +
                                                 "; it must not be readable by group or others (chmod 600 " +
                                                 path + ")");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorKind::Unavailable, "cannot read data key file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string content = text.str();
  auto key = from_hex(content);
  OPENSSL_cleanse(content.data(), content.size());
  if (!key) return fail(key.error().kind, key.error().message + " (in " + path + ")");
  return key;
}

Result<std::optional<DataKey>> DataKey::from_environment(const std::string& fallback_file) {
  if (const char* hex = std::getenv("TILL_DATA_KEY"); hex != nullptr && *hex != '\0') {
    auto key = from_hex(hex);
    if (!key) return fail(key.error().kind, "TILL_DATA_KEY: " + key.error().message);
    return std::optional<DataKey>(*key);
  }
  if (const char* file = std::getenv("TILL_DATA_KEY_FILE"); file != nullptr && *file != '\0') {
    auto key = from_file(file);
    if (!key) return fail(key.error());
    return std::optional<DataKey>(*key);
  }
  if (!fallback_file.empty()) {
    auto key = from_file(fallback_file);
    if (key) return std::optional<DataKey>(*key);
    if (key.error().kind != ErrorKind::NotFound) return fail(key.error());
  }
  return std::optional<DataKey>();
}

Result<std::vector<std::uint8_t>> DataKey::seal(std::string_view plaintext, std::string_view aad) const {
  std::vector<std::uint8_t> out(1 + kNonceBytes + plaintext.size() + kTagBytes);
  out[0] = kFormatV1;
  std::uint8_t* nonce = out.data() + 1;
  std::uint8_t* ct = nonce + kNonceBytes;
  if (RAND_bytes(nonce, static_cast<int>(kNonceBytes)) != 1) {
    return fail(ErrorKind::Internal, "RAND_bytes failed: cannot make a nonce");
  }
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes_.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          ct + plaintext.size()) != 1) {
    return fail(ErrorKind::Internal, "AES-256-GCM encryption failed");
  }
  return out;
}

Result<std::string> DataKey::open(const std::vector<std::uint8_t>& sealed, std::string_view aad) const {
  if (sealed.size() < 1 + kNonceBytes + kTagBytes || sealed[0] != kFormatV1) {
    return fail(ErrorKind::DataLoss, "sealed value has an unknown format or is truncated");
  }
  const std::uint8_t* nonce = sealed.data() + 1;
  const std::uint8_t* ct = nonce + kNonceBytes;
  const std::size_t ct_len = sealed.size() - 1 - kNonceBytes - kTagBytes;
  std::vector<std::uint8_t> tag(ct + ct_len, ct + ct_len + kTagBytes);
  std::string plain(ct_len, '\0');
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes_.data(), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, ct,
                        static_cast<int>(ct_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) != 1) {
    return fail(ErrorKind::Internal, "AES-256-GCM decryption could not start");
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &final_len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return fail(ErrorKind::DataLoss,
                "sealed value does not verify (wrong data key, or the value was altered or moved)");
  }
  return plain;
}

}  // namespace till::store
