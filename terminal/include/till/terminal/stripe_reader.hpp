#pragma once
// The `stripe` driver: Stripe smart readers driven through the server-driven Terminal API
// (stripe.md §6). terminal never includes sync: the driver talks to ServerDrivenApi, the small
// interface below, and the app implements it with the real Stripe client (keyed POSTs with
// Stripe-Account). Tests use a Fake of it.
//
// Outcome rule: the PaymentIntent is the truth (lesson 8). When the reader's action stops being
// in_progress (seen by polling retrieve_reader, or pushed by a terminal.reader.action_* webhook
// through on_reader_update), the driver retrieves the PaymentIntent and decides from its status:
// requires_capture/succeeded -> ApprovedToForward (with payment_intent_id), a last_payment_error
// decline -> Declined, canceled (or our cancel_action took effect) -> Cancelled. A lost answer to
// process_payment_intent, or a deadline with no decision after cancel_action + grace, is
// OutcomeUnknown: the app resolves it by retrieving the PaymentIntent.
//
// Threading: core thread only (see reader.hpp); ServerDrivenApi callbacks must arrive there.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "till/base/random.hpp"
#include "till/terminal/reader.hpp"

namespace till::terminal {

struct ServerReaderAction {
  std::string type;               // process_payment_intent, set_reader_display, ...
  std::string status;             // in_progress | succeeded | failed
  std::string failure_code;       // when failed, e.g. card_declined
  std::string failure_message;
  std::string payment_intent_id;  // process_payment_intent only
  bool operator==(const ServerReaderAction&) const = default;
};

struct ServerReader {
  std::string id;  // tmr_...
  std::string label;
  std::string device_type;  // bbpos_wisepos_e, simulated_wisepos_e, ...
  std::string serial_number;
  std::string status;  // online | offline
  std::string device_sw_version;
  std::optional<ServerReaderAction> action;
  bool operator==(const ServerReader&) const = default;
};

struct ServerPaymentIntent {
  std::string id;
  std::string status;  // requires_payment_method, requires_capture, succeeded, processing, canceled, ...
  std::int64_t amount = 0;
  std::string currency;
  std::string payment_method_id;  // pm_... once a card was presented
  pos::CardDetails card;          // latest_charge.payment_method_details.card_present, if any
  std::string decline_code;       // last_payment_error.decline_code
  bool operator==(const ServerPaymentIntent&) const = default;
};

// What the stripe driver needs from Stripe. Implemented by the app over the sync Stripe client.
// Every call completes exactly once, on the core thread. Errors use Till's kinds with Stripe
// detail when Stripe answered (terminal_reader_busy -> FailedPrecondition, terminal_reader_offline
// -> Unavailable, ...); a request whose answer was lost completes with OutcomeUnknown.
class ServerDrivenApi {
 public:
  template <class T>
  using Callback = std::function<void(Result<T>)>;
  virtual ~ServerDrivenApi() = default;
  virtual void async_list_readers(Callback<std::vector<ServerReader>> done) = 0;
  virtual void async_register_reader(const std::string& registration_code, const std::string& label,
                                     const std::string& location, const std::string& idempotency_key,
                                     Callback<ServerReader> done) = 0;
  virtual void async_retrieve_reader(const std::string& reader_id, Callback<ServerReader> done) = 0;
  virtual void async_process_payment_intent(const std::string& reader_id, const std::string& payment_intent_id,
                                            const std::string& idempotency_key, Callback<ServerReader> done) = 0;
  virtual void async_set_reader_display(const std::string& reader_id, const Cart& cart,
                                        const std::string& idempotency_key, Callback<ServerReader> done) = 0;
  virtual void async_cancel_action(const std::string& reader_id, const std::string& idempotency_key,
                                   Callback<ServerReader> done) = 0;
  virtual void async_retrieve_payment_intent(const std::string& payment_intent_id,
                                             Callback<ServerPaymentIntent> done) = 0;
};

struct StripeReaderOptions {
  std::chrono::milliseconds poll_interval{1000};
  // After a deadline (or cancel) the driver asks cancel_action and keeps watching this long.
  std::chrono::milliseconds cancel_grace{5000};
};

class StripeReader : public Reader {
 public:
  // Registers a reader with a registration code (simulated-wpe in test mode). Core thread. A
  // deadline without an answer is OutcomeUnknown (it may have registered: list the readers).
  virtual void async_register(const std::string& registration_code, const std::string& label,
                              const std::string& location, std::chrono::milliseconds deadline,
                              ConnectCallback done) = 0;
  // Feed terminal.reader.action_succeeded / action_failed webhook payloads (already verified by
  // the app). Duplicates and stale events are ignored; polling covers lost webhooks.
  virtual void on_reader_update(const ServerReader& reader) = 0;
};

// `api` and `random` (for idempotency keys of display/cancel calls) must outlive the reader.
std::unique_ptr<StripeReader> make_stripe_reader(boost::asio::io_context& io, ServerDrivenApi& api, Random& random,
                                                 StripeReaderOptions options = {});

}  // namespace till::terminal
