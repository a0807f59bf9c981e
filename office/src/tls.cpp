#include "till/office/tls.hpp"

#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "till/base/random.hpp"

namespace till::office {

namespace fs = std::filesystem;

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

bool add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool is_ip_literal(const std::string& name) {
  return std::regex_match(name, std::regex(R"(\d{1,3}(\.\d{1,3}){3})")) || name.find(':') != std::string::npos;
}

// A self-signed certificate; both PEMs, or an error.
Result<std::pair<std::string, std::string>> make_self_signed(const std::vector<std::string>& extra_names) {
  std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, CertFree> x(X509_new());
  if (!key || !x) return fail(ErrorKind::Internal, "EC key generation failed");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return fail(ErrorKind::Internal, "RAND_bytes failed");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_set_version(x.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Till"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("till-office"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  std::string san = "IP:127.0.0.1,IP:::1,DNS:localhost";
  for (const auto& n : extra_names) {
    if (n.empty() || n.find_first_of(", ") != std::string::npos) continue;
    san += (is_ip_literal(n) ? ",IP:" : ",DNS:") + n;
  }
  const bool ok = add_ext(x.get(), NID_basic_constraints, "critical,CA:FALSE") &&
                  add_ext(x.get(), NID_key_usage, "critical,digitalSignature") &&
                  add_ext(x.get(), NID_ext_key_usage, "serverAuth") &&
                  add_ext(x.get(), NID_subject_key_identifier, "hash") &&
                  add_ext(x.get(), NID_subject_alt_name, san);
  if (!ok) return fail(ErrorKind::Internal, "certificate extensions refused: " + san);
  if (X509_sign(x.get(), key.get(), EVP_sha256()) <= 0) return fail(ErrorKind::Internal, "certificate signing failed");
  std::unique_ptr<BIO, BioFree> cert_bio(BIO_new(BIO_s_mem()));
  std::unique_ptr<BIO, BioFree> key_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_bio.get(), x.get());
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return std::pair{bio_text(cert_bio.get()), bio_text(key_bio.get())};
}

// Writes `text` to a new file with `mode`, atomically (temp file + rename).
Status write_file(const fs::path& path, const std::string& text, mode_t mode) {
  const fs::path tmp = path.string() + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return fail(ErrorKind::Unavailable, "cannot create " + tmp.string());
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) return fail(ErrorKind::Unavailable, "cannot write " + path.string());
  return ok();
}

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorKind::Unavailable, "cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Status check_private_file(const fs::path& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(ErrorKind::NotFound, std::string(what) + " " + path.string() + " does not exist");
  if (!S_ISREG(st.st_mode)) return fail(ErrorKind::InvalidArgument, std::string(what) + " " + path.string() + " is not a file");
  if ((st.st_mode & 077) != 0) {
    return fail(ErrorKind::PermissionDenied, std::string(what) + " " + path.string() +
                                                 " is readable by others; chmod 600 it");
  }
  return ok();
}

std::string certificate_fingerprint(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, CertFree> x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(x.get(), EVP_sha256(), md, &n) != 1) return {};
  return to_hex(std::span<const std::uint8_t>(md, n));
}

Result<TlsFiles> load_tls_files(const fs::path& cert_file, const fs::path& key_file) {
  if (auto st = check_private_file(key_file, "TLS key file"); !st) return fail(st.error());
  auto pem = read_file(cert_file);
  if (!pem) return fail(pem.error());
  TlsFiles out{cert_file, key_file, certificate_fingerprint(*pem), false};
  if (out.fingerprint.empty()) return fail(ErrorKind::InvalidArgument, cert_file.string() + " holds no PEM certificate");
  return out;
}

Result<TlsFiles> ensure_self_signed(const fs::path& data_dir, const std::vector<std::string>& extra_names) {
  const fs::path cert = data_dir / "office-cert.pem";
  const fs::path key = data_dir / "office-key.pem";
  std::error_code ec;
  if (fs::exists(cert, ec) && fs::exists(key, ec)) return load_tls_files(cert, key);
  fs::create_directories(data_dir, ec);
  if (ec) return fail(ErrorKind::Unavailable, "cannot create the data folder " + data_dir.string());
  auto made = make_self_signed(extra_names);
  if (!made) return fail(made.error());
  // Key first: a certificate without its key would be reused and fail at every start.
  if (auto st = write_file(key, made->second, 0600); !st) return fail(st.error());
  if (auto st = write_file(cert, made->first, 0644); !st) return fail(st.error());
  TlsFiles out{cert, key, certificate_fingerprint(made->first), true};
  return out;
}

}  // namespace till::office
