#pragma once
// The smart-reader (server-driven) payment chain, end to end (architecture.md "The one path",
// step 3, smart reader):
//
//   1. create the PaymentIntent, card_present, WITHOUT a payment method or confirm, keyed by the
//      attempt's idempotency key; the body comes from sync::make_payment_intent_operation
//      (server_driven), so it is built in one place for every path;
//   2. durably record it: in ONE store transaction the attempt becomes `submitting` with the
//      PaymentIntent id, and the same keyed create operation goes into the outbox, due only
//      after the collect deadline plus `recovery_margin` (the crash safety net: if Till dies
//      mid-payment, the sync engine later finds the attempt's PaymentIntent by its id and records
//      Stripe's answer; if the chain finished, the engine finds the attempt final and completes
//      the operation without sending anything). Nothing reaches the reader before this is on disk;
//   3. process_payment_intent on the reader (key: process_key_for(attempt), derived from the
//      attempt's key) through the terminal `stripe` driver, which watches the reader by polling
//      and by webhook (StripeReader::on_reader_update) and decides from the PaymentIntent's status;
//   4. manual capture: a keyed capture operation (sync::capture_key_for) is queued in the outbox
//      and the engine is woken; the engine captures (durable, retried with the same key).
//
// Outcomes: Approved (with the PaymentIntent and card), Declined (Stripe's decline code),
// Canceled (nothing charged), NotCharged (nothing was authorised: the PaymentIntent could not be
// created or recorded, or the reader refused / failed before authorising), Unknown (the answer
// was lost: never shown as a decline; the engine resolves it through the safety-net operation).
//
// Threading: core thread only (the io_context of the client, the reader and the store). The
// outcome callback is posted there, exactly once per accepted start().

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/pos/checkout.hpp"
#include "till/pos/records.hpp"
#include "till/store/store.hpp"
#include "till/sync/operations.hpp"
#include "till/sync/stripe_client.hpp"
#include "till/terminal/reader.hpp"

namespace till::app {

struct SmartReaderPaymentConfig {
  // Fee rule, capture method and description of the PaymentIntent (server_driven is forced on).
  sync::PaymentIntentOptions payment_intent;
  // How long the customer has at the reader (the driver's collect deadline).
  std::chrono::milliseconds collect_deadline{std::chrono::minutes(2)};
  // The safety-net operation is due this long after the collect deadline (leave room for the
  // driver's cancel grace).
  std::chrono::milliseconds recovery_margin{std::chrono::minutes(1)};
};

struct SmartPaymentOutcome {
  enum class Kind { Approved, Declined, Canceled, NotCharged, Unknown };
  Kind kind = Kind::NotCharged;
  std::string payment_intent_id;  // once created
  pos::CardDetails card;          // Approved: what Stripe returned for the receipt
  std::string decline_code;       // Declined
  std::string message;            // why (NotCharged / Unknown / Canceled), for the log and the cashier
  bool capture_queued = false;    // Approved with manual capture: the keyed capture is in the outbox
  bool operator==(const SmartPaymentOutcome&) const = default;
};
std::string_view to_string(SmartPaymentOutcome::Kind k) noexcept;

// The reducer action that reports `outcome` for the attempt: PaymentApproved, PaymentDeclined,
// CollectCanceled, CollectFailed (NotCharged) or PaymentOutcomeUnknown.
pos::Action to_action(const std::string& attempt_id, const SmartPaymentOutcome& outcome);

// The idempotency key of the attempt's process_payment_intent: derived from the attempt's key,
// never random, so a retry of the same step can only replay.
std::string process_key_for(const pos::PaymentAttempt& attempt);

class SmartReaderPayment {
 public:
  using Done = std::function<void(SmartPaymentOutcome)>;

  // Everything must outlive this object and live on `io`. `reader` is a connected `stripe`
  // driver (terminal::make_stripe_reader over app::StripeServerDrivenApi for the attempt's
  // account). `wake_engine` (optional) is called after a capture was queued.
  SmartReaderPayment(boost::asio::io_context& io, store::Store& store, sync::StripeClient& client,
                     terminal::Reader& reader, const Clock& clock, SmartReaderPaymentConfig config,
                     std::function<void()> wake_engine = {});
  ~SmartReaderPayment();  // drops a running payment's callback (its attempt is recovered as above)
  SmartReaderPayment(const SmartReaderPayment&) = delete;
  SmartReaderPayment& operator=(const SmartReaderPayment&) = delete;

  // Starts the chain for a persisted card attempt in state `collecting`. Fails at once (nothing
  // sent) with FailedPrecondition while another payment runs or when the attempt is not
  // collecting, NotFound for an unknown attempt/sale, InvalidArgument when its body cannot be
  // built (no key, no account, not a card attempt, bad fee rule).
  Status start(const std::string& attempt_id, Done done);
  // Cancels the running payment: before the reader started, nothing is sent to it; on the
  // reader, cancel_action (the driver never turns an approval into a cancellation).
  // FailedPrecondition when nothing runs.
  Status cancel();
  bool running() const noexcept;
  // The chain's own Stripe call (the create) is in flight. The client must outlive it: a runtime
  // that tears down waits for false before destroying this object and the client.
  bool call_in_flight() const noexcept;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace till::app
