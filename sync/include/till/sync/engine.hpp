#pragma once
// The sync engine (issue 4): drains an outbox to Stripe, exactly once per operation, whatever
// fails in between. The outbox lives behind a sync::Ledger (ledger.hpp): the register's SQLite
// store (StoreLedger) or the office's PostgreSQL; the engine itself names no database.
//
// Each outbox operation carries its method, path, exact form body, idempotency key and
// connected account from the ledger; the engine sends those bytes as they are
// (StripeClient::async_request_encoded) with the account stored on the operation, never a
// configured one. What Stripe answers decides the attempt and the sale:
//
//   PaymentIntent succeeded            -> attempt approved; sale paid once approved tenders cover it
//   PaymentIntent requires_capture     -> attempt approved (authorized); a keyed capture is queued
//   402 card_error / decline           -> attempt declined, or declined_after_forward when the card
//                                         was stored offline (the store lists it for attention)
//   OutcomeUnknown (timeout, lost      -> attempt in_doubt; the operation is retried later with
//   answer, 5xx, 409 key in use)          the SAME key; never shown as a decline
//   429, not sent, bad key             -> retried later (attempt unchanged)
//   any other error (400, 403, ...)    -> operation dead (needs a person); others carry on
//
// Before a payment operation is sent again the engine resolves what Stripe already has:
//   - when the attempt knows its PaymentIntent id, it retrieves it (a GET changes nothing);
//   - once the first send is older than the key-retention margin (default 23 h; Stripe may prune
//     keys after 24 h, after which the same key would create a SECOND PaymentIntent), it
//     searches PaymentIntents by metadata[sale_id] and matches metadata[attempt]; only when
//     nothing is found is the operation re-sent (a PaymentIntent over 23 h old is in Stripe's
//     search index, so "not found" is reliable there).
//
// Failed operations back off on a growing, jittered schedule; after max_attempts sends (or a
// non-retryable error) an operation goes dead. Operations are independent: one failing never
// holds back another.
//
// Threading: an Engine lives on the core thread: the io_context its StripeClient belongs to,
// which also owns the Ledger (and the Store behind it, which is not thread-safe). Every member
// function must be called there. async_ functions never throw; ledger failures are logged and
// counted in the summary.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/base/result.hpp"
#include "till/pos/records.hpp"
#include "till/sync/ledger.hpp"
#include "till/sync/stripe_client.hpp"

namespace till::store {
class Store;
}

namespace till::sync {

// The engine's own retry schedule (the durable queue's, after the client's in-call retries):
// first x factor^(failures-1), capped, then jittered to 50-100 % (never below first / 2), so a
// crowd of registers recovering from one outage does not retry in lockstep.
struct BackoffSchedule {
  std::chrono::milliseconds first{5'000};
  double factor = 2.0;
  std::chrono::milliseconds cap{15 * 60 * 1000};

  std::chrono::milliseconds delay(int failures, Random& random) const;
  std::chrono::milliseconds delay_with_jitter(int failures, double jitter) const;  // jitter 0.5..1
};

struct EngineConfig {
  int concurrency = 8;   // operations in flight at once
  int claim_batch = 16;  // operations claimed per store transaction
  // Sends before an operation goes dead. Every claim counts (the store's `attempts`).
  int max_attempts = 20;
  BackoffSchedule backoff;
  // 409 idempotency_key_in_use: the first request with the key is still running at Stripe.
  std::chrono::milliseconds in_flight_retry{2'000};
  // 429 rate_limit: the client's limiter has already slowed down; try again soon.
  std::chrono::milliseconds rate_limited_retry{1'000};
  // A payment first sent longer ago than this is looked up before it is sent again.
  std::chrono::milliseconds key_retention_margin{std::chrono::hours(23)};
  // Queue a keyed capture when a payment comes back requires_capture (manual capture).
  bool auto_capture = true;
  std::chrono::milliseconds capture_delay{0};  // from authorization to the capture being due
  // Captures must happen before the issuer's hold lapses (~2 days in person, stripe.md §4).
  // Retries are never scheduled past the deadline; a capture still failing after it goes dead.
  std::chrono::milliseconds capture_deadline{std::chrono::hours(36)};
  // How often async_run() looks for due operations when idle (wake() shortcuts the wait).
  std::chrono::milliseconds idle_poll{1'000};
  std::string actor = "till-sync";  // written into audit entries
};

// What became of one claimed operation.
struct OperationReport {
  enum class Outcome {
    Done,   // Stripe's final answer is recorded (or it was already known)
    Retry,  // failed_retryable: due again at next_attempt_at
    Dead,   // needs a person
    Stuck,  // the result could not be recorded (store error); it stays in_flight until restart
  };
  std::int64_t operation_id = 0;
  pos::OperationKind kind = pos::OperationKind::CreatePaymentIntent;
  std::string sale_id;
  std::string attempt_id;
  std::string account_id;
  Outcome outcome = Outcome::Done;
  std::optional<pos::AttemptState> attempt_state;  // the attempt's state afterwards, if any
  std::string stripe_object_id;
  std::string request_id;
  std::optional<ErrorKind> error;  // the failure that decided Retry/Dead
  std::string detail;              // human-readable, never a secret
  bool looked_up = false;          // resolved by a retrieve/search instead of (or before) a send
  bool sent = false;               // a write went to Stripe
  bool rate_limited = false;       // answered 429 rate_limit
  std::optional<Timestamp> next_attempt_at;
};

std::string_view to_string(OperationReport::Outcome outcome) noexcept;

struct DrainSummary {
  int claimed = 0;
  int done = 0;
  int retry = 0;
  int dead = 0;
  int stuck = 0;
  int in_doubt = 0;      // operations whose attempt ended this drain in_doubt
  int rate_limited = 0;  // 429 rate_limit answers seen
  int looked_up = 0;
  int store_errors = 0;  // claims or records that failed
  bool operator==(const DrainSummary&) const = default;
};

class Engine {
 public:
  using Observer = std::function<void(const OperationReport&)>;

  // Everything passed must outlive the engine.
  Engine(Ledger& ledger, StripeClient& client, const Clock& clock, Random& random, EngineConfig config = {});
  // On the register's SQLite store (a Writer), through a StoreLedger the engine owns. Defined in
  // store_ledger.cpp (target till_sync_engine); a program on another database links only
  // till_sync_engine_core and uses the constructor above.
  Engine(store::Store& store, StripeClient& client, const Clock& clock, Random& random, EngineConfig config = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Claims and processes every operation due now (and those that fall due while draining), at
  // most `config.concurrency` at a time, until nothing is due or `max_operations` (> 0) were
  // claimed. Returns what happened.
  boost::asio::awaitable<DrainSummary> async_drain_once(int max_operations = 0);
  // Drains, waits up to idle_poll (or until wake()/stop()), drains again... until stop().
  boost::asio::awaitable<void> async_run();
  // Ask async_run() to finish after the operations in flight; makes it return soon.
  void stop();
  // Shortcut async_run()'s idle wait (the kiosk just enqueued something).
  void wake();
  bool stopping() const noexcept;

  // Called for every processed operation, on the core thread, after its result is recorded.
  void set_observer(Observer observer);
  const EngineConfig& config() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace till::sync
