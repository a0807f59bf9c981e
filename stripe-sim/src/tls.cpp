#include "tls.hpp"

#include <memory>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace till::stripesim {

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
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

bool add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key`, signed by `signer_key` as `issuer` (nullptr: self-signed CA).
Cert make_cert(EVP_PKEY* key, EVP_PKEY* signer_key, X509* issuer, const char* cn, bool ca) {
  Cert x(X509_new());
  if (!x) return nullptr;
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return nullptr;
  serial_bytes[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  if (!bn) return nullptr;
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_set_version(x.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 7L * 24 * 3600);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("till-stripe-sim"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  bool ok = add_ext(x.get(), &ctx, NID_subject_key_identifier, "hash");
  if (ca) {
    ok = ok && add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
         add_ext(x.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
         add_ext(x.get(), &ctx, NID_key_usage, "critical,digitalSignature") &&
         add_ext(x.get(), &ctx, NID_ext_key_usage, "serverAuth") &&
         add_ext(x.get(), &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") &&
         add_ext(x.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  }
  if (!ok) return nullptr;
  if (X509_sign(x.get(), signer_key, EVP_sha256()) <= 0) return nullptr;
  return x;
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string cert_pem(X509* x) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), x);
  return bio_string(bio.get());
}

std::string key_pem(EVP_PKEY* k) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_string(bio.get());
}

}  // namespace

Result<LoopbackPki> make_loopback_pki() {
  Key ca_key(EVP_EC_gen("P-256"));
  Key server_key(EVP_EC_gen("P-256"));
  if (!ca_key || !server_key) return fail(ErrorKind::Internal, "EC key generation failed");
  Cert ca = make_cert(ca_key.get(), ca_key.get(), nullptr, "till-stripe-sim loopback CA", true);
  if (!ca) return fail(ErrorKind::Internal, "CA certificate generation failed");
  Cert leaf = make_cert(server_key.get(), ca_key.get(), ca.get(), "127.0.0.1", false);
  if (!leaf) return fail(ErrorKind::Internal, "server certificate generation failed");
  LoopbackPki pki;
  pki.ca_cert_pem = cert_pem(ca.get());
  pki.server_cert_pem = cert_pem(leaf.get()) + pki.ca_cert_pem;
  pki.server_key_pem = key_pem(server_key.get());
  return pki;
}

}  // namespace till::stripesim
