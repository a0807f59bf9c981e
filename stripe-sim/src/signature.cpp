// Webhook signing (signature.hpp) with OpenSSL 3's one-shot MAC.

#include "till/stripesim/signature.hpp"

#include <array>
#include <cstdlib>

#include <openssl/evp.h>

namespace till::stripesim {

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  std::size_t length = 0;
  const unsigned char* done =
      EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), mac.size(),
                &length);
  // Only an OpenSSL without SHA-256 or out of memory fails here; an unsigned delivery would be
  // a lie about what Stripe sends, so stop.
  if (done == nullptr || length != 32) std::abort();
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (std::size_t i = 0; i < length; ++i) {
    hex.push_back(kDigits[mac[i] / 16]);
    hex.push_back(kDigits[mac[i] % 16]);
  }
  return hex;
}

std::string stripe_signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
  const std::string t = std::to_string(unix_seconds);
  std::string signed_payload;
  signed_payload.reserve(t.size() + 1 + body.size());
  signed_payload.append(t).append(1, '.').append(body);
  return "t=" + t + ",v1=" + hmac_sha256_hex(secret, signed_payload);
}

}  // namespace till::stripesim
