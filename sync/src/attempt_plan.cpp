#include "attempt_plan.hpp"

#include "till/base/log.hpp"
#include "till/sync/operations.hpp"

namespace till::sync::detail {

namespace {

using pos::AttemptState;

bool counts_as_paid(const pos::PaymentAttempt& a) {
  // A stored-offline payment was accepted at the counter (the merchant carries the risk), so the
  // kiosk marks the sale paid with it; the engine counts it the same way.
  return a.state == AttemptState::Approved || a.state == AttemptState::StoredOffline;
}


}  // namespace

std::string_view to_string(Verdict::Kind k) noexcept {
  switch (k) {
    case Verdict::Kind::Approved: return "approved";
    case Verdict::Kind::Authorized: return "authorized";
    case Verdict::Kind::Declined: return "declined";
    case Verdict::Kind::Canceled: return "canceled";
    case Verdict::Kind::Created: return "created";
    case Verdict::Kind::Unknown: return "unknown";
  }
  return "unknown";
}

pos::AttemptEvent event_for(Verdict::Kind kind, const pos::PaymentAttempt& current) {
  switch (kind) {
    case Verdict::Kind::Approved:
    case Verdict::Kind::Authorized: return pos::AttemptEvent::StripeApproved;
    case Verdict::Kind::Declined: return pos::AttemptEvent::StripeDeclined;
    case Verdict::Kind::Canceled: return pos::AttemptEvent::StripeCanceled;
    case Verdict::Kind::Created:
      // A PaymentIntent exists and awaits processing: the payment is on its way to Stripe.
      return current.state == AttemptState::StoredOffline ? pos::AttemptEvent::Forwarded
                                                          : pos::AttemptEvent::Submitted;
    case Verdict::Kind::Unknown: return pos::AttemptEvent::NoAnswer;
  }
  return pos::AttemptEvent::NoAnswer;
}

Verdict verdict_for(const PaymentIntent& pi, bool confirm_requested) {
  Verdict v;
  switch (pi.status) {
    case PaymentIntentStatus::Succeeded: v.kind = Verdict::Kind::Approved; break;
    case PaymentIntentStatus::RequiresCapture: v.kind = Verdict::Kind::Authorized; break;
    case PaymentIntentStatus::Canceled: v.kind = Verdict::Kind::Canceled; break;
    case PaymentIntentStatus::RequiresPaymentMethod:
      if (pi.last_payment_error) {
        v.kind = Verdict::Kind::Declined;
        v.decline_code = !pi.last_payment_error->decline_code.empty() ? pi.last_payment_error->decline_code
                                                                      : pi.last_payment_error->code;
        v.message = pi.last_payment_error->message;
      } else {
        v.kind = confirm_requested ? Verdict::Kind::Unknown : Verdict::Kind::Created;
      }
      break;
    case PaymentIntentStatus::RequiresConfirmation:
      v.kind = confirm_requested ? Verdict::Kind::Unknown : Verdict::Kind::Created;
      break;
    case PaymentIntentStatus::RequiresAction:
    case PaymentIntentStatus::Processing:
    case PaymentIntentStatus::Unknown: v.kind = Verdict::Kind::Unknown; break;
  }
  return v;
}

Result<AttemptPlan> plan_attempt(Ledger& ledger, const pos::PaymentAttempt& cur, const AttemptTarget& target,
                                 const FollowUps& follow, Timestamp now) {
  AttemptPlan plan;
  plan.attempt_id = cur.id;

  if (!target.payment_intent_id.empty() && !cur.payment_intent_id.empty() &&
      target.payment_intent_id != cur.payment_intent_id) {
    // Two PaymentIntents for one attempt must never happen; if Stripe shows one, a person must
    // look. Nothing is changed on the strength of the second one.
    plan.conflicting_payment_intent = true;
    plan.final_state = cur.state;
    plan.note = "attempt " + cur.id + " already has PaymentIntent " + cur.payment_intent_id + ", not " +
                target.payment_intent_id;
    log::error("sync.conflicting_payment_intent", {{"attempt_id", cur.id},
                                                   {"known", cur.payment_intent_id},
                                                   {"other", target.payment_intent_id}});
    return plan;
  }

  const pos::AttemptStep step = pos::next_state(cur.state, cur.offline, target.event);
  plan.final_state = step.to;
  if (step.kind == pos::AttemptStep::Kind::Refused) {
    // Delivery is at-least-once and unordered: a late decline after an approval is recorded and
    // not applied (the store would refuse it the same way).
    plan.refused_regression = true;
    plan.note = "attempt " + cur.id + ": " + step.why;
    log::error("sync.attempt_refused", {{"attempt_id", cur.id},
                                        {"state", pos::to_string(cur.state)},
                                        {"attempt_event", pos::to_string(target.event)},
                                        {"why", step.why}});
    return plan;
  }
  const bool moved = step.kind == pos::AttemptStep::Kind::Moved;
  const bool new_payment_intent = !target.payment_intent_id.empty() && cur.payment_intent_id.empty();
  // A repeat changes the state of nothing; it is worth a write only for what it adds.
  if (moved || new_payment_intent || (!pos::is_final(cur.state) && !target.decline_code.empty())) {
    plan.update = AttemptChange{cur.id, target.event, target.payment_intent_id, target.decline_code,
                                target.failure_message};
  }
  const AttemptState state = step.to;

  const bool became_approved = state == AttemptState::Approved && cur.state != AttemptState::Approved;
  if (became_approved) {
    auto sale = ledger.sale(cur.sale_id);
    if (!sale) return fail(sale.error());
    if (sale->state == pos::SaleState::Tendering || sale->state == pos::SaleState::PartiallyPaid) {
      auto attempts = ledger.attempts_for_sale(cur.sale_id);
      if (!attempts) return fail(attempts.error());
      std::int64_t covered = 0;
      for (const auto& a : *attempts) {
        if (a.id == cur.id || counts_as_paid(a)) covered += a.amount;
      }
      if (covered >= sale->total) plan.sale_to_paid = sale->id;
    }
  }

  // Only an authorization recorded now queues its capture: a late amount_capturable_updated
  // for a payment already approved (perhaps already captured) must not capture again.
  if (target.needs_capture && follow.auto_capture && became_approved && !target.payment_intent_id.empty()) {
    const std::string key = capture_key_for(cur);
    auto ops = ledger.operations_for_sale(cur.sale_id);
    if (!ops) return fail(ops.error());
    bool exists = false;
    for (const auto& o : *ops) exists = exists || o.idempotency_key == key;
    if (!exists) {
      auto op = make_capture_operation(cur, target.payment_intent_id,
                                       target.capturable > 0 ? std::optional<std::int64_t>(target.capturable)
                                                             : std::nullopt,
                                       key, now);
      if (!op) return fail(op.error());
      op->next_attempt_at = now + follow.capture_delay;
      plan.capture = std::move(*op);
    }
  }
  return plan;
}

void add_to(LedgerChange& change, const AttemptPlan& plan) {
  if (plan.update) change.attempt = *plan.update;
  if (plan.sale_to_paid) change.sale_paid = *plan.sale_to_paid;
  if (plan.capture) change.enqueue.push_back(*plan.capture);
}

Result<std::optional<pos::PaymentAttempt>> find_attempt_for(Ledger& ledger, const PaymentIntent& pi) {
  if (!pi.id.empty()) {
    auto by_id = ledger.attempt_by_payment_intent(pi.id);
    if (!by_id) return fail(by_id.error());
    if (*by_id) return by_id;
  }
  const std::string* sale_id = pi.metadata_value("sale_id");
  const std::string* number = pi.metadata_value("attempt");
  if (sale_id == nullptr || number == nullptr) return std::optional<pos::PaymentAttempt>{};
  auto attempts = ledger.attempts_for_sale(*sale_id);
  if (!attempts) {
    if (attempts.error().kind == ErrorKind::NotFound) return std::optional<pos::PaymentAttempt>{};
    return fail(attempts.error());
  }
  for (auto& a : *attempts) {
    if (std::to_string(a.number) == *number) return std::optional<pos::PaymentAttempt>(std::move(a));
  }
  return std::optional<pos::PaymentAttempt>{};
}

}  // namespace till::sync::detail
