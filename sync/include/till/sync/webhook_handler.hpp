#pragma once
// The Connect webhook endpoint's logic (issue 4), without the HTTP: verify Stripe-Signature on
// the raw body BEFORE parsing it, dedupe by event id in the ledger (ledger.hpp), route by account
// and type, send the attempt its event, and answer fast.
//
//   payment_intent.succeeded                   -> attempt approved (sale paid when covered)
//   payment_intent.amount_capturable_updated   -> attempt approved (authorized); capture queued
//   payment_intent.payment_failed              -> attempt declined / declined_after_forward
//   payment_intent.canceled                    -> attempt canceled
//   charge.refunded, refund.updated            -> audited (refunds are the engine's operations)
//   terminal.reader.action_succeeded / _failed -> audited; a failed process_payment_intent with a
//                                                 card decline declines the attempt
//   anything else (account.updated, ...)       -> recorded, no change
//
// Delivery is at-least-once and unordered: a redelivered event id is answered 200 and changes
// nothing; an event never moves a final state backwards (a late payment_failed after succeeded
// is recorded and ignored); an event whose account differs from the attempt's is not applied.
// An event for a sale or PaymentIntent this register does not know is recorded (with an audit
// entry "webhook.unknown_object") for reconciliation, never dropped silently.
//
// Replies: 200 processed or duplicate; 400 bad signature / stale timestamp / unreadable event
// (Stripe will retry, a person should look); 500 when the store failed (nothing was recorded, so
// Stripe's redelivery will be processed).
//
// Threading: core thread (it writes the Ledger).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "till/base/clock.hpp"
#include "till/base/secret.hpp"
#include "till/sync/ledger.hpp"
#include "till/sync/webhook.hpp"

namespace till::store {
class Store;
}

namespace till::sync {

struct WebhookHandlerConfig {
  Secret secret;  // whsec_...
  std::chrono::seconds tolerance = kWebhookTolerance;
  bool auto_capture = true;  // queue a capture on amount_capturable_updated (as the engine does)
  std::chrono::milliseconds capture_delay{0};
  std::string actor = "till-sync webhook";
};

struct WebhookResult {
  enum class Kind {
    Processed,  // recorded and handled (possibly "no change")
    Duplicate,  // this event id was already recorded
    Rejected,   // signature / timestamp / body refused (nothing recorded)
    Failed,     // the store failed (nothing recorded)
  };
  Kind kind = Kind::Rejected;
  int http_status = 400;
  std::string event_id;
  std::string type;
  std::string result;  // what handling did (also stored with the event)
};

std::string_view to_string(WebhookResult::Kind kind) noexcept;

class WebhookHandler {
 public:
  // Both must outlive the handler.
  WebhookHandler(Ledger& ledger, const Clock& clock, WebhookHandlerConfig config);
  // On the register's SQLite store (a Writer), through a StoreLedger the handler owns. Defined in
  // store_ledger.cpp (target till_sync_engine).
  WebhookHandler(store::Store& store, const Clock& clock, WebhookHandlerConfig config);
  ~WebhookHandler();
  WebhookHandler(WebhookHandler&&) noexcept;

  WebhookResult handle(std::string_view raw_body, std::string_view signature_header);

 private:
  std::unique_ptr<Ledger> owned_;
  Ledger* ledger_;
  const Clock& clock_;
  WebhookHandlerConfig config_;
};

// Lower-case hex SHA-256 (the payload hash the store keeps).
std::string sha256_hex(std::string_view data);

}  // namespace till::sync
