#include "till/sync/webhook.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>
#include <vector>

#include "till/base/random.hpp"

namespace till::sync {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes hex into bytes; false when the text is not whole hex bytes.
bool from_hex(std::string_view hex, std::vector<std::uint8_t>& out) {
  if (hex.empty() || hex.size() % 2 != 0) return false;
  out.clear();
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_digit(hex[i]);
    const int lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<std::uint8_t>((hi << 4) | lo));
  }
  return true;
}

std::array<std::uint8_t, 32> hmac_sha256(const Secret& secret, std::int64_t t, std::string_view body) {
  std::string payload = std::to_string(t);
  payload.push_back('.');
  payload.append(body);
  std::array<std::uint8_t, 32> mac{};
  unsigned int len = 0;
  const std::string& key = secret.reveal();
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac.data(), &len);
  return mac;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(SignatureCheck check) noexcept {
  switch (check) {
    case SignatureCheck::Valid: return "valid";
    case SignatureCheck::MalformedHeader: return "malformed_header";
    case SignatureCheck::NoV1Signature: return "no_v1_signature";
    case SignatureCheck::Mismatch: return "signature_mismatch";
    case SignatureCheck::TimestampTooOld: return "timestamp_too_old";
  }
  return "unknown";
}

std::string compute_signature(const Secret& secret, std::int64_t unix_seconds, std::string_view raw_body) {
  const auto mac = hmac_sha256(secret, unix_seconds, raw_body);
  return to_hex(mac);
}

std::string sign_payload(const Secret& secret, std::int64_t unix_seconds, std::string_view raw_body) {
  return "t=" + std::to_string(unix_seconds) + ",v1=" + compute_signature(secret, unix_seconds, raw_body);
}

SignatureCheck check_signature(std::string_view header, std::string_view raw_body, const Secret& secret,
                               Timestamp now, std::chrono::seconds tolerance) {
  if (trim(header).empty()) return SignatureCheck::MalformedHeader;
  bool have_t = false;
  std::int64_t t = 0;
  std::vector<std::vector<std::uint8_t>> v1;
  std::size_t start = 0;
  while (start <= header.size()) {
    const auto comma = header.find(',', start);
    const std::string_view item =
        trim(header.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) return SignatureCheck::MalformedHeader;
    const std::string_view scheme = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    if (scheme == "t") {
      if (have_t || value.empty()) return SignatureCheck::MalformedHeader;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), t);
      if (ec != std::errc{} || ptr != value.data() + value.size() || t < 0) {
        return SignatureCheck::MalformedHeader;
      }
      have_t = true;
    } else if (scheme == "v1") {
      std::vector<std::uint8_t> bytes;
      // A v1 that is not hex cannot match anything; skipping it lets a good one still count.
      if (from_hex(value, bytes)) v1.push_back(std::move(bytes));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (!have_t) return SignatureCheck::MalformedHeader;
  if (v1.empty()) return SignatureCheck::NoV1Signature;

  const auto expected = hmac_sha256(secret, t, raw_body);
  bool matched = false;
  for (const auto& sig : v1) {
    // Every candidate is compared in full (no early exit) so timing says nothing about which.
    if (sig.size() == expected.size() && CRYPTO_memcmp(sig.data(), expected.data(), expected.size()) == 0) {
      matched = true;
    }
  }
  if (!matched) return SignatureCheck::Mismatch;

  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (now_s - t > tolerance.count()) return SignatureCheck::TimestampTooOld;
  return SignatureCheck::Valid;
}

Status verify_signature(std::string_view header, std::string_view raw_body, const Secret& secret,
                        Timestamp now, std::chrono::seconds tolerance) {
  const auto check = check_signature(header, raw_body, secret, now, tolerance);
  if (check == SignatureCheck::Valid) return ok();
  return fail(ErrorKind::Unauthenticated, "webhook signature rejected: " + std::string(to_string(check)));
}

}  // namespace till::sync
