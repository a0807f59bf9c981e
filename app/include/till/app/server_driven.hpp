#pragma once
// The real terminal::ServerDrivenApi: what the `stripe` reader driver needs from Stripe,
// implemented over the sync Stripe client (terminal never includes sync; the app joins them).
//
// - Every call carries `Stripe-Account: <the connected account>` given at construction (the
//   account the register sells for; readers, locations and PaymentIntents live there).
// - Every POST carries the idempotency key its caller passed (the driver passes the app's
//   process key, derived from the attempt's key, for process_payment_intent; fresh UUIDs for
//   display and cancel). A POST without a key is refused before anything is sent.
// - Errors keep Till's kinds from the client (terminal_reader_busy -> FailedPrecondition,
//   terminal_reader_offline -> Unavailable, terminal_reader_timeout / 5xx / lost answer on a POST
//   -> OutcomeUnknown). One more mapping: process_payment_intent refused with
//   payment_intent_unexpected_state is OutcomeUnknown, because the PaymentIntent may already be
//   paid (an earlier process went through): only its status may decide, never "nothing charged".
// - PaymentIntents are retrieved with latest_charge expanded, for the card's receipt fields.
//
// Threading: the client and this adapter belong to one io_context (the core thread), the same
// one the driver runs on. Call from that thread; every callback is posted there exactly once
// (a callback may run after the adapter is gone, never touching it; the client must outlive
// every call in flight).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "till/sync/form.hpp"
#include "till/sync/stripe_client.hpp"
#include "till/sync/stripe_types.hpp"
#include "till/terminal/stripe_reader.hpp"

namespace till::app {

class StripeServerDrivenApi final : public terminal::ServerDrivenApi {
 public:
  // `account_id`: acct_... (empty only for a platform-owned reader). `client` must belong to `io`.
  StripeServerDrivenApi(boost::asio::io_context& io, sync::StripeClient& client, std::string account_id);

  void async_list_readers(Callback<std::vector<terminal::ServerReader>> done) override;
  void async_register_reader(const std::string& registration_code, const std::string& label,
                             const std::string& location, const std::string& idempotency_key,
                             Callback<terminal::ServerReader> done) override;
  void async_retrieve_reader(const std::string& reader_id, Callback<terminal::ServerReader> done) override;
  void async_process_payment_intent(const std::string& reader_id, const std::string& payment_intent_id,
                                    const std::string& idempotency_key,
                                    Callback<terminal::ServerReader> done) override;
  void async_set_reader_display(const std::string& reader_id, const terminal::Cart& cart,
                                const std::string& idempotency_key, Callback<terminal::ServerReader> done) override;
  void async_cancel_action(const std::string& reader_id, const std::string& idempotency_key,
                           Callback<terminal::ServerReader> done) override;
  void async_retrieve_payment_intent(const std::string& payment_intent_id,
                                     Callback<terminal::ServerPaymentIntent> done) override;

  const std::string& account_id() const noexcept { return account_; }
  // Calls started here whose callback has not run yet. The client must outlive them: whoever
  // tears down waits for 0 (after destroying the reader, so no new call starts).
  int calls_in_flight() const noexcept { return *in_flight_; }

 private:
  boost::asio::io_context& io_;
  sync::StripeClient& client_;
  std::string account_;
  std::shared_ptr<int> in_flight_ = std::make_shared<int>(0);
};

// ---- conversions (pure; any thread) ----

terminal::ServerReader to_server_reader(const sync::Reader& reader);
// Status, amount, payment method, decline code (last_payment_error.decline_code, else its code)
// and the card's receipt fields (brand, last4, expiry MM/YY, read method, AID, label, auth code,
// TVR, CVM) when the charge or payment method was expanded.
terminal::ServerPaymentIntent to_server_payment_intent(const sync::PaymentIntent& pi);
// The `cart` object of set_reader_display. Stripe's line item `amount` is the unit price, Till's
// CartLine.amount the line total: a line whose total does not divide by its quantity is sent as
// one item "<quantity> x <description>" with the line total, so the display never shows a
// rounded price.
sync::FormValue cart_form(const terminal::Cart& cart);
// Which smart reader a register drives (RuntimeConfig::reader "stripe" / "stripe:tmr_..."), from
// the account's readers. `wanted` (tmr_...) names one: NotFound when the account has no such
// reader, Unavailable when it is offline. Empty `wanted`: the one online reader (at `location`
// when that is set); NotFound when none is registered there, Unavailable when all are offline,
// FailedPrecondition naming them when several are online (the register must be told which).
Result<sync::Reader> choose_smart_reader(const std::vector<sync::Reader>& readers, const std::string& wanted,
                                         const std::string& location);

// The reader update carried by a VERIFIED terminal.reader.action_succeeded/_failed event (feed it
// to StripeReader::on_reader_update); nullopt for any other event or an unreadable reader.
std::optional<terminal::ServerReader> reader_update_from_event(const sync::Event& event);

}  // namespace till::app
