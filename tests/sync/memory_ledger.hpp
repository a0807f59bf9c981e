#pragma once
// An in-memory sync::Ledger: the contract of ledger.hpp with no database, so the engine can be
// run (and its independence from SQLite proven: the test binary links no store) exactly as the
// office's PostgreSQL ledger will run it. Also the shortest reading of what a Ledger must do.
// Not thread-safe (the contract does not ask for it).

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "till/pos/attempt.hpp"
#include "till/sync/ledger.hpp"

namespace till::sync::testing {

class MemoryLedger final : public Ledger {
 public:
  struct Tables {
    std::map<std::string, pos::Sale> sales;
    std::map<std::string, pos::PaymentAttempt> attempts;
    std::map<std::int64_t, pos::OutboxOperation> operations;
    std::map<std::string, WebhookRecord> webhooks;
    std::vector<AuditNote> audit;
    std::vector<std::string> attention;  // attempt ids declined after forwarding
    std::int64_t next_operation_id = 1;
  };

  explicit MemoryLedger(const Clock& clock) : clock_(clock) {}

  // Test set-up (what the register's kiosk or the office's API would have written).
  void add_sale(const pos::Sale& s) { t_.sales[s.id] = s; }
  void add_attempt(const pos::PaymentAttempt& a) { t_.attempts[a.id] = a; }
  std::int64_t add_operation(pos::OutboxOperation op) {
    op.id = t_.next_operation_id++;
    if (op.next_attempt_at == Timestamp{}) op.next_attempt_at = clock_.now();
    op.created_at = clock_.now();
    t_.operations[op.id] = op;
    return op.id;
  }
  const Tables& tables() const { return t_; }
  int failing_commits = 0;  // the next N commits fail with Unavailable, applying nothing

  Result<std::vector<pos::OutboxOperation>> claim_due(Timestamp now, int limit) override {
    std::vector<pos::OutboxOperation*> due;
    for (auto& [id, op] : t_.operations) {
      const bool waiting = op.state == pos::OutboxState::Pending || op.state == pos::OutboxState::FailedRetryable;
      if (waiting && op.next_attempt_at <= now) due.push_back(&op);
    }
    std::stable_sort(due.begin(), due.end(), [](auto* a, auto* b) { return a->next_attempt_at < b->next_attempt_at; });
    std::vector<pos::OutboxOperation> out;
    for (auto* op : due) {
      if (static_cast<int>(out.size()) >= limit) break;
      op->state = pos::OutboxState::InFlight;
      op->attempts += 1;
      if (!op->first_sent_at) op->first_sent_at = now;
      out.push_back(*op);
    }
    return out;
  }

  Status release_claimed(const std::vector<std::int64_t>& ids) override {
    for (auto id : ids) {
      auto it = t_.operations.find(id);
      if (it != t_.operations.end() && it->second.state == pos::OutboxState::InFlight) {
        it->second.state = pos::OutboxState::Pending;
        it->second.next_attempt_at = clock_.now();
      }
    }
    return ok();
  }

  Result<pos::Sale> sale(std::string_view id) override {
    auto it = t_.sales.find(std::string(id));
    if (it == t_.sales.end()) return fail(ErrorKind::NotFound, "no sale " + std::string(id));
    return it->second;
  }
  Result<pos::PaymentAttempt> attempt(std::string_view id) override {
    auto it = t_.attempts.find(std::string(id));
    if (it == t_.attempts.end()) return fail(ErrorKind::NotFound, "no attempt " + std::string(id));
    return it->second;
  }
  Result<std::optional<pos::PaymentAttempt>> attempt_by_payment_intent(std::string_view pi) override {
    for (const auto& [id, a] : t_.attempts) {
      if (!pi.empty() && a.payment_intent_id == pi) return std::optional<pos::PaymentAttempt>(a);
    }
    return std::optional<pos::PaymentAttempt>();
  }
  Result<std::vector<pos::PaymentAttempt>> attempts_for_sale(std::string_view sale_id) override {
    std::vector<pos::PaymentAttempt> out;
    for (const auto& [id, a] : t_.attempts) {
      if (a.sale_id == sale_id) out.push_back(a);
    }
    std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.number < y.number; });
    return out;
  }
  Result<std::vector<pos::OutboxOperation>> operations_for_sale(std::string_view sale_id) override {
    std::vector<pos::OutboxOperation> out;
    for (const auto& [id, op] : t_.operations) {
      if (op.sale_id == sale_id) out.push_back(op);
    }
    return out;
  }
  Result<bool> webhook_seen(std::string_view id) override { return t_.webhooks.count(std::string(id)) != 0; }

  // All or nothing: applied to a copy that replaces the tables only when every part succeeded.
  Result<Committed> commit(const LedgerChange& change) override {
    if (failing_commits > 0) {
      --failing_commits;
      return fail(ErrorKind::Unavailable, "injected commit failure");
    }
    Tables next = t_;
    Committed out;
    if (change.webhook) {
      if (next.webhooks.count(change.webhook->id) != 0) {
        out.duplicate_webhook = true;
        return out;
      }
      next.webhooks[change.webhook->id] = *change.webhook;
    }
    if (change.attempt) {
      auto step = apply(next, *change.attempt);
      if (!step) return fail(step.error());
      out.attempt = *step;
    }
    if (change.sale_paid) {
      auto it = next.sales.find(*change.sale_paid);
      if (it == next.sales.end()) return fail(ErrorKind::NotFound, "no sale " + *change.sale_paid);
      if (auto tr = pos::transition(it->second.state, pos::SaleState::Paid); !tr) return fail(tr.error());
      it->second.state = pos::SaleState::Paid;
    }
    for (auto op : change.enqueue) {
      for (const auto& [id, o] : next.operations) {
        if (o.idempotency_key == op.idempotency_key) return fail(ErrorKind::FailedPrecondition, "key reused");
      }
      op.id = next.next_operation_id++;
      if (op.next_attempt_at == Timestamp{}) op.next_attempt_at = clock_.now();
      op.created_at = clock_.now();
      next.operations[op.id] = op;
    }
    for (const auto& n : change.audit) next.audit.push_back(n);
    if (change.operation) {
      if (auto r = apply(next, *change.operation); !r) return fail(r.error());
    }
    t_ = std::move(next);
    return out;
  }

 private:
  static Result<pos::AttemptStep> apply(Tables& t, const AttemptChange& c) {
    auto it = t.attempts.find(c.attempt_id);
    if (it == t.attempts.end()) return fail(ErrorKind::NotFound, "no attempt " + c.attempt_id);
    pos::PaymentAttempt& a = it->second;
    const pos::AttemptStep step = pos::next_state(a.state, a.offline, c.event);
    if (step.kind == pos::AttemptStep::Kind::Refused) {
      return fail(ErrorKind::FailedPrecondition, "refused transition: " + step.why);
    }
    if (!c.payment_intent_id.empty() && !a.payment_intent_id.empty() && c.payment_intent_id != a.payment_intent_id) {
      return fail(ErrorKind::FailedPrecondition, "a PaymentIntent id is never replaced");
    }
    if (a.payment_intent_id.empty()) a.payment_intent_id = c.payment_intent_id;
    if (!c.decline_code.empty()) a.decline_code = c.decline_code;
    if (!c.failure_message.empty()) a.failure_message = c.failure_message;
    if (step.kind == pos::AttemptStep::Kind::Moved) {
      a.state = step.to;
      if (c.event == pos::AttemptEvent::StoredOffline) a.offline = true;
      if (a.state == pos::AttemptState::DeclinedAfterForward) t.attention.push_back(a.id);
      t.audit.push_back(AuditNote{"ledger", "attempt.state", a.id, std::string(pos::to_string(step.to))});
    }
    return step;
  }

  Status apply(Tables& t, const OperationResult& r) const {
    auto it = t.operations.find(r.operation_id);
    if (it == t.operations.end()) return fail(ErrorKind::NotFound, "no operation");
    pos::OutboxOperation& op = it->second;
    const pos::OutboxState to = r.kind == OperationResult::Kind::Done    ? pos::OutboxState::Done
                                : r.kind == OperationResult::Kind::Retry ? pos::OutboxState::FailedRetryable
                                                                         : pos::OutboxState::Dead;
    if (auto tr = pos::transition(op.state, to); !tr) return fail(tr.error());
    op.state = to;
    op.last_request_id = r.request_id;
    if (to == pos::OutboxState::Done) op.stripe_object_id = r.stripe_object_id;
    if (to != pos::OutboxState::Done) op.last_error = r.error;
    if (to == pos::OutboxState::FailedRetryable) op.next_attempt_at = r.next_attempt_at;
    return ok();
  }

  const Clock& clock_;
  Tables t_;
};

}  // namespace till::sync::testing
