#pragma once
// Errors are values. Result<T> is tl::expected<T, Error>; Error::kind tells the caller what to
// do next (Abseil status.h style), and Stripe-specific detail rides along when there is any.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace till {

enum class ErrorKind {
  InvalidArgument,     // the caller's input is wrong; do not retry as is
  FailedPrecondition,  // not allowed in the current state (e.g. a second reader operation)
  NotFound,            // the thing asked for does not exist
  Unavailable,         // transient: retrying this same call (same key) may succeed
  ResourceExhausted,   // disk full, rate limited, a risk cap reached: wait or free something
  OutcomeUnknown,      // a write whose answer never came: reconcile, never treat as failure
  Declined,            // the card or the issuer said no; final for this attempt
  Cancelled,           // someone cancelled it
  Unauthenticated,     // bad or missing API key
  PermissionDenied,    // authenticated but not allowed (403, file mode)
  DataLoss,            // corruption detected: refuse to continue with this data
  Internal,            // a bug or an unexpected response; a person should look
};

std::string_view to_string(ErrorKind kind) noexcept;

// What Stripe said about a failed call, when the error came from Stripe (or the simulator).
struct StripeErrorDetail {
  int http_status = 0;
  std::string type;          // api_error, card_error, idempotency_error, invalid_request_error
  std::string code;          // e.g. card_declined, idempotency_key_in_use, rate_limit
  std::string decline_code;  // e.g. insufficient_funds
  std::string param;
  std::string request_id;    // Request-Id header
  std::string request_log_url;
  std::string payment_intent_id;
  std::optional<bool> should_retry;  // Stripe-Should-Retry header, when present
  bool operator==(const StripeErrorDetail&) const = default;
};

struct Error {
  ErrorKind kind = ErrorKind::Internal;
  std::string message;
  std::optional<StripeErrorDetail> stripe;

  bool operator==(const Error&) const = default;
  // "kind: message" plus the Stripe code and request id when present. Never holds secrets:
  // messages are built by Till, and Stripe's messages do not echo keys.
  std::string describe() const;
};

template <class T>
using Result = tl::expected<T, Error>;
using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return tl::unexpected<Error>(Error{kind, std::move(message), std::nullopt});
}
inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }
inline Status ok() { return {}; }

}  // namespace till
