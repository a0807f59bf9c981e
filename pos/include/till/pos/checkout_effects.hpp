#pragma once
// The checkout reducer's Effects: what it asks the app's effect runner to do (the runner's
// contract is at the top of checkout.hpp). Plain data, comparable with ==, so tests compare them
// exactly.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "till/base/clock.hpp"
#include "till/pos/attempt.hpp"
#include "till/pos/checkout_actions.hpp"
#include "till/pos/receipt.hpp"
#include "till/pos/records.hpp"
#include "till/pos/states.hpp"

namespace till::pos {

// Upsert the sale header, lines and taxes in one transaction (the store refuses it for a sale
// already paid, partially_paid or voided). Emitted before any tender.
struct PersistSale { Sale sale; bool operator==(const PersistSale&) const = default; };
struct UpdateSaleState { std::string sale_id; SaleState state = SaleState::Open; Timestamp at{}; bool operator==(const UpdateSaleState&) const = default; };
// Insert the attempt row with its idempotency key, before anything leaves the machine.
struct CreateAttempt { PaymentAttempt attempt; bool operator==(const CreateAttempt&) const = default; };
// What happened to an attempt. `event` is the fact (absent: details only, such as card fields or
// the PaymentIntent id); the store applies it with pos::next_state itself and never trusts
// `attempt.state`, which is what the reducer's model now holds after applying the same event
// (for display and tests). The other fields are the details to write.
struct UpdateAttempt {
  PaymentAttempt attempt;
  std::optional<AttemptEvent> event;
  bool operator==(const UpdateAttempt&) const = default;
};
// Ask the active reader to collect a card for this attempt.
struct StartCollect {
  std::string attempt_id;
  std::int64_t amount = 0;
  std::string currency;
  bool offline_allowed = false;  // risk pre-check passed: the reader may store and forward
  bool operator==(const StartCollect&) const = default;
};
struct CancelCollect { std::string attempt_id; bool operator==(const CancelCollect&) const = default; };
// What to ask Stripe for, as an intent: the reducer decides WHAT (kind, amounts, token, target,
// key, account); the app builds the exact request from it with sync/operations (method, path,
// form body: one builder for the kiosk and till-sync, so they can never send different params),
// checks it against the attempt on disk, and stores those bytes in the outbox row, which the
// engine re-sends byte-identically under the same key. pos has no form encoder (layering).
struct OperationIntent {
  OperationKind kind = OperationKind::CreatePaymentIntent;
  std::string sale_id;
  std::string attempt_id;            // the payment attempt (for a refund: the one refunded)
  int attempt_number = 0;            // metadata[attempt] (CreatePaymentIntent)
  std::string account_id;            // the attempt's connected account (Connect safety)
  std::int64_t amount = 0;           // the payment's amount (CreatePaymentIntent)
  std::string currency;              // lowercase ISO
  std::string payment_method;        // pm_... reader token (CreatePaymentIntent)
  std::string capture_method;        // automatic | manual (CreatePaymentIntent; Context)
  std::string payment_intent_id;     // Refund: the PaymentIntent refunded
  std::optional<std::int64_t> refund_amount;  // Refund: empty = the whole remaining amount
  std::string idempotency_key;       // fixed here; every resend uses it
  Timestamp at{};
  bool operator==(const OperationIntent&) const = default;
};
// Insert into the outbox; the sync engine sends it at once when online.
struct EnqueueOperation { OperationIntent intent; bool operator==(const EnqueueOperation&) const = default; };
// Ask the resolver to settle an in-doubt attempt now (same key / lookup by metadata[sale_id]).
struct ResolveInDoubt { std::string attempt_id; bool operator==(const ResolveInDoubt&) const = default; };
// `text` is the receipt as shown; `receipt` what it was rendered from, so an ESC/POS printer can
// style it (absent: printed from the text, unstyled).
struct PrintReceipt {
  std::string text;
  std::optional<ReceiptInput> receipt;
  bool operator==(const PrintReceipt&) const = default;
};
struct OpenCashDrawer { bool operator==(const OpenCashDrawer&) const = default; };
// Load queue counts and the attention list; the runner answers with BackOfficeLoaded.
struct LoadBackOffice { bool operator==(const LoadBackOffice&) const = default; };
struct RequeueOperation { std::int64_t operation_id = 0; bool operator==(const RequeueOperation&) const = default; };
struct MarkOperationHandled { std::int64_t operation_id = 0; std::string note; bool operator==(const MarkOperationHandled&) const = default; };
// Append to the audit log (manager actions, refusals). Never carries a PIN or card data.
struct Audit { std::string event; std::string detail; bool operator==(const Audit&) const = default; };
// Run a reader command; the runner answers ReaderCommandDone (and ReaderDetailsUpdated /
// ReaderStatusChanged as the reader changes).
struct ReaderCommand { ReaderCommandKind command = ReaderCommandKind::RefreshStatus; bool operator==(const ReaderCommand&) const = default; };
// Build the end-of-day report for `day` (YYYY-MM-DD, UTC) from the store; the runner answers
// DayReportLoaded or DayReportFailed.
struct BuildDayReport { std::string day; bool operator==(const BuildDayReport&) const = default; };
// Queue the receipt text for `address` (the store seals the address and never audits it); the
// runner answers EmailQueued. Not a durable effect of the sale: a refusal does not stop a list.
struct QueueEmailReceipt { std::string sale_id; std::string address; std::string body; bool operator==(const QueueEmailReceipt&) const = default; };
// Look a past sale up for a refund; the runner answers SaleForRefundFound / SaleForRefundFailed.
struct LookUpSaleForRefund { std::string receipt_number; bool operator==(const LookUpSaleForRefund&) const = default; };

using Effect = std::variant<PersistSale, UpdateSaleState, CreateAttempt, UpdateAttempt, StartCollect,
                            CancelCollect, EnqueueOperation, ResolveInDoubt, PrintReceipt,
                            OpenCashDrawer, LoadBackOffice, RequeueOperation, MarkOperationHandled,
                            Audit, ReaderCommand, BuildDayReport, QueueEmailReceipt, LookUpSaleForRefund>;

}  // namespace till::pos
