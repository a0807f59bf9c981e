#pragma once
// The persistence the sync engine and the webhook handler need, and nothing more: claim due
// operations, read a sale with its attempts and operations, and apply everything one Stripe
// answer changes in ONE transaction. The engine's Stripe logic (verdicts, same-key retries, the
// >23 h look-up, captures, abandoned authorizations, refunds, webhooks) is written once against
// this interface; each database implements it:
//   - the register's SQLite store: sync::StoreLedger (store_ledger.hpp, target till_sync_engine);
//   - the office's PostgreSQL (issue 13), with the same semantics below;
//   - tests/sync/memory_ledger.hpp, an in-memory one the engine is tested against as well.
// This header, engine.hpp and webhook_handler.hpp name no database (target till_sync_engine_core
// links neither SQLite nor libpq).
//
// THE CONTRACT an implementation must keep (the engine's exactly-once promise rests on it):
//
// Threads. The engine calls a Ledger from one thread (the core thread / its io_context) and never
// concurrently; an implementation need not be thread-safe. Several engines may share one
// database (the office): claim_due must then never hand one operation to two engines
// (SELECT ... FOR UPDATE SKIP LOCKED, or SQLite's one writer).
//
// Errors are values, as Store's: Unavailable / ResourceExhausted (retry later; nothing was
// applied), FailedPrecondition (an illegal change; nothing was applied), NotFound (reads), DataLoss,
// Internal. Nothing throws.
//
// Atomicity. commit() applies the whole LedgerChange in one transaction or nothing of it. When it
// returns ok, every part is durable; when it fails, none is (the engine then leaves the operation
// in_flight: release_claimed / a restart puts it back to pending, and the same idempotency key
// fetches the same answer again). Reads need not be in a transaction.
//
// Attempts. An attempt's state changes only by its event: commit reads the attempt's state and
// offline flag inside the transaction and applies pos::next_state (pos/attempt.hpp): Moved writes
// the new state and the details; Unchanged writes only details that move no money (never a
// different PaymentIntent id over a known one); Refused fails the whole commit with
// FailedPrecondition "refused transition: <why>". A move to declined_after_forward puts the
// payment on the attention list. State changes are audited.
//
// Operations. claim_due moves pending / failed_retryable operations due at `now` (oldest due
// first, at most `limit`) to in_flight, increments `attempts`, sets first_sent_at on the first
// claim and returns them with their bodies. OperationResult::Done / Retry / Dead move an
// in_flight operation to done / failed_retryable (due at next_attempt_at) / dead (audited). The
// idempotency key, account, method, path and body of an operation never change. Enqueued
// operations get their own, never reused, idempotency key (a duplicate key is FailedPrecondition).
//
// Webhooks. A LedgerChange with `webhook` records the event id first: when the id was already
// recorded, commit applies NOTHING else and answers `duplicate_webhook` (delivery is
// at-least-once). The event is stored with its result and marked processed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/pos/attempt.hpp"
#include "till/pos/records.hpp"

namespace till::sync {

// What happened to an attempt, with the details Stripe's answer carried (empty: none).
struct AttemptChange {
  std::string attempt_id;
  pos::AttemptEvent event = pos::AttemptEvent::NoAnswer;
  std::string payment_intent_id;
  std::string decline_code;
  std::string failure_message;
  bool operator==(const AttemptChange&) const = default;
};

// What became of one claimed (in_flight) operation.
struct OperationResult {
  enum class Kind {
    Done,   // Stripe's final answer is recorded (stripe_object_id: pi_..., re_...)
    Retry,  // failed_retryable: due again at next_attempt_at, same key
    Dead,   // needs a person
  };
  Kind kind = Kind::Done;
  std::int64_t operation_id = 0;
  std::string request_id;        // Stripe's Request-Id of the deciding call; may be empty
  std::string stripe_object_id;  // Done
  std::string error;             // Retry / Dead: Error::describe(), never a secret
  Timestamp next_attempt_at{};   // Retry
  bool operator==(const OperationResult&) const = default;
};

struct AuditNote {
  std::string actor;
  std::string action;
  std::string subject;
  std::string detail;
  bool operator==(const AuditNote&) const = default;
};

// A verified webhook event: the dedupe key and what handling did.
struct WebhookRecord {
  std::string id;  // evt_...
  std::string type;
  std::string account;
  std::string payload_sha256;
  Timestamp received_at{};
  std::string result;
  bool operator==(const WebhookRecord&) const = default;
};

// Everything one Stripe answer (or one webhook) changes. Applied in this order, in one
// transaction: webhook (dedupe), attempt, sale paid, enqueue, audit, operation.
struct LedgerChange {
  std::optional<WebhookRecord> webhook;
  std::optional<AttemptChange> attempt;
  std::optional<std::string> sale_paid;         // this sale -> paid (from tendering / partially_paid)
  std::vector<pos::OutboxOperation> enqueue;    // follow-ups: a capture, a cancel (state pending)
  std::vector<AuditNote> audit;
  std::optional<OperationResult> operation;
  bool empty() const noexcept {
    return !webhook && !attempt && !sale_paid && enqueue.empty() && audit.empty() && !operation;
  }
};

struct Committed {
  bool duplicate_webhook = false;          // the webhook id was already recorded: nothing applied
  std::optional<pos::AttemptStep> attempt;  // what next_state answered for `attempt` (Moved/Unchanged)
};

class Ledger {
 public:
  virtual ~Ledger() = default;

  // ---- the outbox ----
  virtual Result<std::vector<pos::OutboxOperation>> claim_due(Timestamp now, int limit) = 0;
  // Claimed operations the engine did not start (it was stopped): in_flight -> pending, due now,
  // same key. Operations not in_flight are left alone.
  virtual Status release_claimed(const std::vector<std::int64_t>& operation_ids) = 0;

  // ---- reads (tokens and bodies decrypted where the database seals them) ----
  virtual Result<pos::Sale> sale(std::string_view sale_id) = 0;                   // NotFound
  virtual Result<pos::PaymentAttempt> attempt(std::string_view attempt_id) = 0;   // NotFound
  // nullopt when no attempt has that PaymentIntent.
  virtual Result<std::optional<pos::PaymentAttempt>> attempt_by_payment_intent(std::string_view pi_id) = 0;
  // In attempt-number order; empty for an unknown sale.
  virtual Result<std::vector<pos::PaymentAttempt>> attempts_for_sale(std::string_view sale_id) = 0;
  virtual Result<std::vector<pos::OutboxOperation>> operations_for_sale(std::string_view sale_id) = 0;
  virtual Result<bool> webhook_seen(std::string_view event_id) = 0;

  // ---- writes: all or nothing (see the contract above) ----
  virtual Result<Committed> commit(const LedgerChange& change) = 0;
};

}  // namespace till::sync
