#pragma once
// Internal: the engine's parts, one file each (engine.hpp says what the engine does):
//   engine.cpp            the public API, the drain loop (claims, concurrency), backoff
//   engine_record.cpp     recording an outcome in one LedgerChange: done, retry (backoff), dead
//   engine_payment.cpp    PaymentIntent operations: resolve before re-sending (retrieve by id,
//                         the >23 h search), send with the same key, what the answer means
//   engine_followups.cpp  captures (never an abandoned authorization), cancels, refunds, others
// Core thread only, like the Engine.

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "attempt_plan.hpp"
#include "till/sync/engine.hpp"
#include "till/sync/ledger.hpp"

namespace till::sync {

namespace detail {

// A bad key is the configuration's fault, not the operation's: such errors keep it queued.
bool retryable(ErrorKind k);
inline int http_status(const Error& e) { return e.stripe ? e.stripe->http_status : 0; }
inline std::string request_id(const Error& e) { return e.stripe ? e.stripe->request_id : std::string(); }
// 409 idempotency_key_in_use means the first request with this key is still running: the
// outcome is open (OutcomeUnknown), never a reason to kill the operation.
Error normalized(Error e);
bool is_rate_limited(const Error& e);

}  // namespace detail

struct Engine::Impl {
  using Outcome = OperationReport::Outcome;

  std::unique_ptr<Ledger> owned;  // set when the engine was built on a store::Store
  Ledger& ledger;
  StripeClient& client;
  const Clock& clock;
  Random& random;
  EngineConfig config;
  Observer observer;
  bool stop_requested = false;
  boost::asio::steady_timer* idle_timer = nullptr;  // set while async_run() waits

  Impl(std::unique_ptr<Ledger> own, Ledger& l, StripeClient& c, const Clock& k, Random& r, EngineConfig cfg)
      : owned(std::move(own)), ledger(l), client(c), clock(k), random(r), config(std::move(cfg)) {}

  detail::FollowUps follow_ups() const { return {config.auto_capture, config.capture_delay}; }
  static OperationReport report_for(const pos::OutboxOperation& op);
  // Connect safety: the account stored with the operation, never the configured one.
  static RequestOptions options_for(const pos::OutboxOperation& op) {
    return RequestOptions{op.account_id, op.idempotency_key};
  }
  static RequestOptions read_options(const pos::OutboxOperation& op) { return RequestOptions{op.account_id, {}}; }
  Result<detail::AttemptPlan> plan(const pos::PaymentAttempt& a, const detail::AttemptTarget& t) {
    return detail::plan_attempt(ledger, a, t, follow_ups(), clock.now());
  }

  // ---- engine_record.cpp: every outcome is one LedgerChange ----
  // Commits `change` (+ the plan's writes); a failure leaves the operation in_flight (Stuck).
  void record(OperationReport& rep, const pos::OutboxOperation& op, const detail::AttemptPlan* plan,
              LedgerChange change);
  void complete(OperationReport& rep, const pos::OutboxOperation& op, const detail::AttemptPlan* plan,
                std::string object_id, std::string req_id, std::string detail, LedgerChange extra = {});
  void dead(OperationReport& rep, const pos::OutboxOperation& op, const detail::AttemptPlan* plan,
            const std::string& why, std::string req_id);
  // A failed send or lookup: retry later (same key) or, when it cannot succeed, dead.
  void failure(OperationReport& rep, const pos::OutboxOperation& op, const Error& original,
               const detail::AttemptPlan* plan);

  // ---- engine_payment.cpp ----
  boost::asio::awaitable<void> process_payment(OperationReport& rep, pos::OutboxOperation op);
  void apply_payment_intent(OperationReport& rep, const pos::OutboxOperation& op, const pos::PaymentAttempt& a,
                            const PaymentIntent& pi, const std::string& req_id, bool confirm_requested);
  boost::asio::awaitable<Result<std::optional<PaymentIntent>>> search_for(const pos::OutboxOperation& op,
                                                                          const pos::PaymentAttempt& a);

  // ---- engine_followups.cpp ----
  boost::asio::awaitable<void> process_capture(OperationReport& rep, pos::OutboxOperation op);
  boost::asio::awaitable<void> process_cancel(OperationReport& rep, pos::OutboxOperation op);
  boost::asio::awaitable<void> process_refund(OperationReport& rep, pos::OutboxOperation op);
  boost::asio::awaitable<void> process_other(OperationReport& rep, pos::OutboxOperation op);
  boost::asio::awaitable<OperationReport> process(pos::OutboxOperation op);
};

}  // namespace till::sync
