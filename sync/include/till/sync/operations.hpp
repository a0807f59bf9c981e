#pragma once
// Builders for the keyed outbox operations the sync engine sends (issue 4): the card-present
// PaymentIntent of a payment attempt, captures, cancels and refunds. Each returns the exact
// method, path, form body and idempotency key to store, so that whatever happens later (a crash,
// a lost answer, a restart a day later) the same bytes go out under the same key.
//
// Connect safety: every builder takes the account from the attempt (which was bound to it when
// the card was taken), never from configuration.
//
// Pure functions; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/pos/records.hpp"

namespace till::sync {

// The platform's application fee on a direct charge: fixed + amount x basis points / 10,000
// (rounded half up), in the payment's minor units, never more than the amount.
struct FeeRule {
  std::int64_t fixed = 0;         // minor units
  std::int64_t basis_points = 0;  // 1 bp = 0.01 %: 290 = 2.9 %

  // InvalidArgument for a negative amount or rule; the fee is capped at the amount.
  Result<std::int64_t> fee_for(std::int64_t amount) const;
  // "30+290bp", "290bp", "30", "0" (fixed in minor units, then basis points). InvalidArgument
  // otherwise.
  static Result<FeeRule> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const FeeRule&) const = default;
};

struct PaymentIntentOptions {
  FeeRule fee;
  // automatic | automatic_async | manual. Manual PIs are captured by the engine (see
  // EngineConfig::auto_capture) before the capture deadline.
  std::string capture_method = "automatic";
  // Empty: "Till sale <sale id>".
  std::string description;
  // Server-driven smart readers: the PaymentIntent is created WITHOUT payment_method and
  // confirm; the reader's process_payment_intent action collects the card and confirms it
  // (stripe.md section 6). Everything else in the body is the same.
  bool server_driven = false;
};

// POST /v1/payment_intents for a card collected by a USB/simulated reader, created and
// confirmed in one call. Params, in this order: amount, currency,
// allowed_payment_method_types[0]=card_present, payment_method, confirm=true, capture_method,
// application_fee_amount, metadata[sale_id], metadata[register_id], metadata[attempt] (the
// attempt number), description. Account and key from the attempt.
// With options.server_driven, payment_method and confirm are left out (the smart reader collects
// and confirms) and no token is needed.
// InvalidArgument when the attempt is not a card attempt of this sale with an amount, a
// currency, a payment method token (unless server_driven), an account and a key, or when the fee
// rule is invalid.
Result<pos::OutboxOperation> make_payment_intent_operation(const pos::Sale& sale, const pos::PaymentAttempt& attempt,
                                                           const PaymentIntentOptions& options, Timestamp now);

// POST /v1/payment_intents/{id}/capture. `amount_to_capture` empty: the whole capturable
// amount. InvalidArgument without a PaymentIntent id or key.
Result<pos::OutboxOperation> make_capture_operation(const pos::PaymentAttempt& attempt, std::string_view payment_intent,
                                                    std::optional<std::int64_t> amount_to_capture,
                                                    std::string idempotency_key, Timestamp now);

// POST /v1/payment_intents/{id}/cancel with cancellation_reason (duplicate | fraudulent |
// requested_by_customer | abandoned).
Result<pos::OutboxOperation> make_cancel_operation(const pos::PaymentAttempt& attempt, std::string_view payment_intent,
                                                   std::string_view reason, std::string idempotency_key,
                                                   Timestamp now);

// POST /v1/refunds: full (amount empty) or partial, optionally refunding the application fee.
// reason: empty | duplicate | fraudulent | requested_by_customer.
struct RefundRequest {
  std::optional<std::int64_t> amount;
  std::string reason;
  std::optional<bool> refund_application_fee;
};
Result<pos::OutboxOperation> make_refund_operation(const pos::PaymentAttempt& attempt, std::string_view payment_intent,
                                                   const RefundRequest& refund, std::string idempotency_key,
                                                   Timestamp now);

// The deterministic keys the engine uses for the operations it enqueues by itself (a capture
// after an authorization, the cancel of an abandoned one): derived from the attempt's key so a
// second enqueue of the same follow-up is refused by the store instead of sending twice.
std::string capture_key_for(const pos::PaymentAttempt& attempt);
std::string cancel_key_for(const pos::PaymentAttempt& attempt);

// A form-field value of a stored body (first occurrence, decoded), e.g. "application_fee_amount".
// nullopt when absent or when the body does not decode.
std::optional<std::string> body_field(std::string_view body, std::string_view key);

}  // namespace till::sync
