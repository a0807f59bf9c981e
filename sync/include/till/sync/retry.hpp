#pragma once
// When to retry a Stripe call inside the call, and how long to wait first: the official SDKs'
// rules (shared/design/stripe.md section 3), as one pure function that always says why.
//
// Every retry reuses the request exactly as first sent, Idempotency-Key included: the key is
// fixed by the caller before the first attempt, never here.
//
// Pure functions; any thread.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "till/base/random.hpp"

namespace till::sync {

// What one attempt came to, as far as retrying is concerned.
struct AttemptOutcome {
  enum class Kind {
    Response,          // an HTTP response arrived (status, headers, error code below)
    NetworkFailure,    // connect refused/reset/EOF: Stripe may or may not have seen the request
    Timeout,           // a step ran out of time: the outcome is unknown
    TlsVerification,   // the peer's certificate did not verify: never retried
  };
  Kind kind = Kind::Response;
  int status = 0;                     // for Response
  std::optional<bool> should_retry;   // Stripe-Should-Retry header, when present
  std::string error_code;             // error.code from the body (e.g. lock_timeout), may be empty

  static AttemptOutcome response(int status, std::optional<bool> should_retry = std::nullopt,
                                 std::string error_code = {}) {
    return AttemptOutcome{Kind::Response, status, should_retry, std::move(error_code)};
  }
  static AttemptOutcome of(Kind kind) { return AttemptOutcome{kind, 0, std::nullopt, {}}; }
};

struct RetryDecision {
  bool retry = false;
  std::string_view reason;  // a static string, for the log line of the attempt
  bool operator==(const RetryDecision&) const = default;
};

inline constexpr int kDefaultMaxRetries = 2;  // the SDKs' default in-call retries

// Decides whether to make retry number `retries_done + 1`. `retries_done` counts retries
// already made (0 after the first attempt). In order:
//   max retries reached -> no; TLS verification failure -> no; network failure or timeout -> yes;
//   Stripe-Should-Retry: false -> no; Stripe-Should-Retry: true -> yes; 409 -> yes;
//   429 with code lock_timeout -> yes; 5xx -> yes; anything else (2xx, other 4xx) -> no.
RetryDecision decide_retry(int retries_done, int max_retries, const AttemptOutcome& outcome);

inline constexpr std::chrono::milliseconds kMinRetryDelay{500};
inline constexpr std::chrono::milliseconds kMaxRetryDelay{5000};

// The wait before retry number `retry` (1-based): 0.5 s x 2^(retry-1), capped at 5 s, then
// scaled by a jitter factor uniform in [0.5, 1.0] from `random`, never below 0.5 s.
std::chrono::milliseconds retry_delay(int retry, Random& random);

// The same with the jitter factor given (0.5..1.0; clamped), for tests and for callers that
// draw randomness elsewhere.
std::chrono::milliseconds retry_delay_with_jitter(int retry, double jitter);

}  // namespace till::sync
