#pragma once
// Secrets (API keys, webhook secrets, client secrets) live in Secret, which never prints its
// value: streaming or formatting it yields a mask such as "sk_test_...abcd". The value is only
// reachable through reveal(), which is easy to grep for.

#include <ostream>
#include <string>
#include <string_view>

namespace till {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  Secret(Secret&&) noexcept = default;
  Secret& operator=(Secret&&) noexcept = default;
  ~Secret();  // wipes the buffer

  bool empty() const noexcept { return value_.empty(); }
  const std::string& reveal() const noexcept { return value_; }
  std::string masked() const { return mask_secret(value_); }

  // "sk_test_...abcd": the prefix up to the last '_' of a known scheme and the last 4 chars.
  // Anything shorter than 12 chars masks to "****".
  static std::string mask_secret(std::string_view value);

  friend std::ostream& operator<<(std::ostream& os, const Secret& s) { return os << s.masked(); }

 private:
  std::string value_;
};

// Replaces anything in text that looks like a Stripe secret (sk_, rk_, whsec_, pst_, and
// client secrets pi_..._secret_...) with its mask. Logging runs every key and text value
// through this as a second line of defence; the first is never passing secrets to the logger.
std::string redact_secrets(std::string_view text);
// True exactly when redact_secrets(text) would mask something; reads the text without copying
// it (the logger asks before it redacts).
bool has_secret(std::string_view text);

}  // namespace till
