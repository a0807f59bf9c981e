#include "till/office/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace till::office {

Sha256 sha256(std::string_view data) {
  Sha256 out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

std::string sha256_hex(std::string_view data) { return to_hex(sha256(data)); }

std::vector<std::uint8_t> to_bytes(const Sha256& h) { return {h.begin(), h.end()}; }

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string new_id(std::string_view prefix, Random& random) {
  std::array<std::uint8_t, 8> bytes{};
  random.fill(bytes);
  return std::string(prefix) + to_hex(bytes);
}

}  // namespace till::office
