// How the engine records what became of an operation: one LedgerChange per outcome, so the
// attempt, the sale, a follow-up and the operation's own state commit together or not at all.
#include <algorithm>

#include "engine_impl.hpp"
#include "till/base/log.hpp"

namespace till::sync {

using pos::OperationKind;
using Outcome = OperationReport::Outcome;

bool detail::retryable(ErrorKind k) {
  return k == ErrorKind::OutcomeUnknown || k == ErrorKind::Unavailable || k == ErrorKind::ResourceExhausted ||
         k == ErrorKind::Unauthenticated;
}

// (The client's classify_response() checks type == idempotency_error before the status and
// reports a 409 as InvalidArgument.)
Error detail::normalized(Error e) {
  if (e.stripe && (e.stripe->http_status == 409 || e.stripe->code == "idempotency_key_in_use")) {
    e.kind = ErrorKind::OutcomeUnknown;
  }
  return e;
}

bool detail::is_rate_limited(const Error& e) {
  return e.kind == ErrorKind::ResourceExhausted && http_status(e) == 429;
}

OperationReport Engine::Impl::report_for(const pos::OutboxOperation& op) {
  OperationReport r;
  r.operation_id = op.id;
  r.kind = op.kind;
  r.sale_id = op.sale_id;
  r.attempt_id = op.attempt_id;
  r.account_id = op.account_id;
  return r;
}

void Engine::Impl::record(OperationReport& rep, const pos::OutboxOperation& op, const detail::AttemptPlan* plan,
                          LedgerChange change) {
  if (plan != nullptr) {
    detail::add_to(change, *plan);
    rep.attempt_state = plan->final_state;
  }
  auto r = ledger.commit(change);
  if (r) {
    if (r->attempt) rep.attempt_state = r->attempt->to;
    return;
  }
  // Stripe's answer is not recorded. The operation stays in_flight; the next start puts it back
  // to pending and the same key fetches the same answer again.
  log::error("sync.record_failed", {{"operation_id", op.id}, {"error", r.error().describe()}});
  rep.outcome = Outcome::Stuck;
  rep.error = r.error().kind;
  rep.detail = "could not record the result: " + r.error().describe();
}

void Engine::Impl::complete(OperationReport& rep, const pos::OutboxOperation& op, const detail::AttemptPlan* plan,
                            std::string object_id, std::string req_id, std::string detail, LedgerChange extra) {
  rep.outcome = Outcome::Done;
  rep.stripe_object_id = object_id;
  rep.request_id = req_id;
  rep.detail = std::move(detail);
  extra.operation = OperationResult{OperationResult::Kind::Done, op.id, std::move(req_id), std::move(object_id), {}, {}};
  record(rep, op, plan, std::move(extra));
}

void Engine::Impl::dead(OperationReport& rep, const pos::OutboxOperation& op, const detail::AttemptPlan* plan,
                        const std::string& why, std::string req_id) {
  rep.outcome = Outcome::Dead;
  rep.detail = why;
  rep.request_id = req_id;
  log::error("sync.operation_dead", {{"operation_id", op.id},
                                     {"kind", pos::to_string(op.kind)},
                                     {"sale_id", op.sale_id},
                                     {"attempts", op.attempts},
                                     {"error", why}});
  LedgerChange change;
  change.operation = OperationResult{OperationResult::Kind::Dead, op.id, std::move(req_id), {}, why, {}};
  record(rep, op, plan, std::move(change));
}

void Engine::Impl::failure(OperationReport& rep, const pos::OutboxOperation& op, const Error& original,
                           const detail::AttemptPlan* plan) {
  const Error e = detail::normalized(original);
  rep.error = e.kind;
  rep.rate_limited = rep.rate_limited || detail::is_rate_limited(e);
  const std::string why = e.describe();
  if (!detail::retryable(e.kind)) return dead(rep, op, plan, why, detail::request_id(e));
  if (op.attempts >= config.max_attempts) {
    return dead(rep, op, plan, "gave up after " + std::to_string(op.attempts) + " attempts: " + why,
                detail::request_id(e));
  }
  const Timestamp now = clock.now();
  std::chrono::milliseconds wait = config.backoff.delay(op.attempts, random);
  if (e.kind == ErrorKind::OutcomeUnknown && detail::http_status(e) == 409) wait = config.in_flight_retry;
  if (detail::is_rate_limited(e)) wait = config.rate_limited_retry;
  Timestamp next = now + wait;
  if (op.kind == OperationKind::Capture) {
    const Timestamp deadline = op.created_at + config.capture_deadline;
    if (now >= deadline) return dead(rep, op, plan, "capture deadline passed: " + why, detail::request_id(e));
    next = std::min(next, deadline);
  }
  rep.outcome = Outcome::Retry;
  rep.detail = why;
  rep.request_id = detail::request_id(e);
  rep.next_attempt_at = next;
  log::warn("sync.operation_retry", {{"operation_id", op.id},
                                     {"kind", pos::to_string(op.kind)},
                                     {"attempts", op.attempts},
                                     {"error", why},
                                     {"retry_in_ms", static_cast<std::int64_t>((next - now).count())}});
  LedgerChange change;
  change.operation = OperationResult{OperationResult::Kind::Retry, op.id, detail::request_id(e), {}, why, next};
  record(rep, op, plan, std::move(change));
}

}  // namespace till::sync
