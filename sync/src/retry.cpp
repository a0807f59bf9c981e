#include "till/sync/retry.hpp"

#include <algorithm>
#include <cmath>

namespace till::sync {

RetryDecision decide_retry(int retries_done, int max_retries, const AttemptOutcome& outcome) {
  using K = AttemptOutcome::Kind;
  if (retries_done >= max_retries) return {false, "max retries reached"};
  switch (outcome.kind) {
    case K::TlsVerification: return {false, "TLS certificate verification failed"};
    case K::NetworkFailure: return {true, "network failure (same idempotency key)"};
    case K::Timeout: return {true, "timeout (same idempotency key)"};
    case K::Response: break;
  }
  if (outcome.should_retry == false) return {false, "Stripe-Should-Retry: false"};
  if (outcome.should_retry == true) return {true, "Stripe-Should-Retry: true"};
  if (outcome.status == 409) return {true, "409 conflict"};
  if (outcome.status == 429 && outcome.error_code == "lock_timeout") return {true, "429 lock_timeout"};
  if (outcome.status >= 500) return {true, "5xx server error"};
  if (outcome.status >= 200 && outcome.status < 300) return {false, "succeeded"};
  return {false, "response not known to be safe to retry"};
}

std::chrono::milliseconds retry_delay_with_jitter(int retry, double jitter) {
  jitter = std::clamp(jitter, 0.5, 1.0);
  const int exponent = std::clamp(retry - 1, 0, 16);  // beyond 2^4 the cap applies anyway
  const double base_ms = std::min(static_cast<double>(kMinRetryDelay.count()) * std::ldexp(1.0, exponent),
                                  static_cast<double>(kMaxRetryDelay.count()));
  const auto ms = static_cast<std::int64_t>(std::floor(base_ms * jitter));
  return std::max(std::chrono::milliseconds{ms}, kMinRetryDelay);
}

std::chrono::milliseconds retry_delay(int retry, Random& random) {
  return retry_delay_with_jitter(retry, 0.5 + 0.5 * random.unit());
}

}  // namespace till::sync
