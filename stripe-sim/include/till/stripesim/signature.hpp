#pragma once
// How the simulator signs the webhook events it delivers, as Stripe documents it
// (shared/design/stripe.md section 9): the header
//   Stripe-Signature: t=<unix seconds>,v1=<lower-case hex HMAC-SHA256(secret, "<t>.<body>")>
// where the secret is the endpoint's whole `whsec_...` string and the body the exact bytes sent.
//
// The simulator's own signer, apart from the client's verifier (sync/webhook.hpp), so that the
// cross-check tests can catch a bug on either side. Pure functions; any thread.

#include <cstdint>
#include <string>
#include <string_view>

namespace till::stripesim {

// Lower-case hex HMAC-SHA256 of `message` with `key` (OpenSSL). Exposed for the known-answer test.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// The Stripe-Signature header value for one delivery attempt.
std::string stripe_signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

}  // namespace till::stripesim
