#pragma once
// The office's TLS certificate. With none configured, the office makes a self-signed EC P-256
// certificate in its data folder on first start (office-cert.pem, and office-key.pem with mode
// 0600) and reuses it afterwards; registers pin its SHA-256 fingerprint at enrolment, so it is
// valid for ten years (replacing it means re-pinning every register, not an expiry date).
// OpenSSL stays in tls.cpp. Any thread.

#include <filesystem>
#include <string>
#include <vector>

#include "till/base/result.hpp"

namespace till::office {

struct TlsFiles {
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  std::string fingerprint;  // SHA-256 of the certificate's DER, 64 lowercase hex digits
  bool generated = false;   // made just now
};

// The data folder's certificate, generated when missing (for 127.0.0.1, ::1, localhost and
// `extra_names`: DNS names or IP literals). PermissionDenied when an existing key file is
// readable by others; Internal when OpenSSL fails; Unavailable on I/O errors.
Result<TlsFiles> ensure_self_signed(const std::filesystem::path& data_dir,
                                    const std::vector<std::string>& extra_names = {});

// A configured certificate and key (PEM). Checks the key file's mode as above.
Result<TlsFiles> load_tls_files(const std::filesystem::path& cert_file, const std::filesystem::path& key_file);

// The SHA-256 fingerprint of the first certificate in a PEM text ("" when there is none), as
// above. The same digits as `openssl x509 -noout -fingerprint -sha256` without the colons.
std::string certificate_fingerprint(const std::string& pem);

// "Permission" check shared with the Stripe key file: ok() when `path` is a regular file that
// neither group nor others may read or write.
Status check_private_file(const std::filesystem::path& path, std::string_view what);

}  // namespace till::office
