#pragma once
// Stripe webhook signatures (shared/design/stripe.md section 9).
//
// `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`; the signed payload is
// "<t>.<raw body bytes>", HMAC-SHA256 with the endpoint secret (whsec_...), lower-case hex.
// A header is accepted when ANY v1 signature matches (compared in constant time; Stripe sends
// several while a secret is being rolled) and the timestamp is not older than the tolerance.
// Other schemes (v0, ...) are ignored. Verify BEFORE parsing the JSON body.
//
// As in Stripe's SDKs, only age is checked: a timestamp ahead of `now` is accepted (clock skew).
//
// All functions are pure and may be called from any thread; time is passed in, never read.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/base/secret.hpp"

namespace till::sync {

inline constexpr std::chrono::seconds kWebhookTolerance{300};

enum class SignatureCheck {
  Valid,             // a v1 signature matched and the timestamp is within tolerance
  MalformedHeader,   // empty, an item without '=', no t=, or t= not a non-negative integer
  NoV1Signature,     // the header parses but carries no (hex) v1 signature
  Mismatch,          // no v1 signature matches this body with this secret
  TimestampTooOld,   // a signature matched but now - t > tolerance (a replay or a stale retry)
};

std::string_view to_string(SignatureCheck check) noexcept;

// The detailed verdict. Never fails otherwise.
SignatureCheck check_signature(std::string_view header, std::string_view raw_body, const Secret& secret,
                               Timestamp now, std::chrono::seconds tolerance = kWebhookTolerance);

// ok() when check_signature() says Valid; otherwise Unauthenticated (MalformedHeader,
// NoV1Signature, Mismatch, TimestampTooOld) with the verdict's name in the message.
Status verify_signature(std::string_view header, std::string_view raw_body, const Secret& secret,
                        Timestamp now, std::chrono::seconds tolerance = kWebhookTolerance);

// The header value Stripe would send: "t=<timestamp>,v1=<hex hmac>". For the simulator's
// deliveries and for tests.
std::string sign_payload(const Secret& secret, std::int64_t unix_seconds, std::string_view raw_body);

// Lower-case hex HMAC-SHA256 of "<t>.<raw_body>" with the secret.
std::string compute_signature(const Secret& secret, std::int64_t unix_seconds, std::string_view raw_body);

}  // namespace till::sync
