#pragma once
// The key that encrypts offline payment tokens (and the outbox bodies that carry them) at rest
// with AES-256-GCM. It comes from the environment (TILL_DATA_KEY, 64 hex characters) or from a
// key file holding the same hex text with mode 0600; looser file modes are refused. The key
// never reaches a log: DataKey has no accessor that prints it.
//
// Any thread may create, copy or use a DataKey; it is an immutable value.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/result.hpp"

namespace till::store {

class DataKey {
 public:
  static constexpr std::size_t kBytes = 32;

  // 64 hex characters (surrounding whitespace ignored). InvalidArgument otherwise; the message
  // never repeats the input.
  static Result<DataKey> from_hex(std::string_view hex);
  // A file holding the hex key. PermissionDenied when group/other have any access (the file
  // must be 0600 or 0400), NotFound when missing, InvalidArgument when malformed.
  static Result<DataKey> from_file(const std::string& path);
  // TILL_DATA_KEY if set, else the file named by TILL_DATA_KEY_FILE if set, else `fallback_file`
  // if non-empty and present. Ok(nullopt) when no key is configured anywhere.
  static Result<std::optional<DataKey>> from_environment(const std::string& fallback_file = {});

  DataKey(const DataKey&) = default;
  DataKey& operator=(const DataKey&) = default;
  ~DataKey();

  // AES-256-GCM with a fresh random 96-bit nonce. `aad` binds the ciphertext to its row (the
  // attempt or operation id) so a sealed value copied to another row does not open.
  // Output: version byte 0x01 | nonce(12) | ciphertext | tag(16). Internal on OpenSSL failure.
  Result<std::vector<std::uint8_t>> seal(std::string_view plaintext, std::string_view aad) const;
  // DataLoss when the tag does not verify (wrong key, tampering, another row's value).
  Result<std::string> open(const std::vector<std::uint8_t>& sealed, std::string_view aad) const;

 private:
  DataKey() = default;
  std::array<std::uint8_t, kBytes> bytes_{};
};

}  // namespace till::store
