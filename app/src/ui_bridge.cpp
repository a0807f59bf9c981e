#include "ui_bridge.hpp"

#include "reader_session.hpp"
#include "sync_bridge.hpp"
#include "till/base/log.hpp"

namespace till::app::detail {

void UiBridge::execute(const std::vector<pos::Effect>& effects) {
  std::string saved_sale;
  for (const auto& effect : effects) {
    Status s = std::visit([this](const auto& e) { return perform(e); }, effect);
    if (!s && refused_refund(effect, s.error())) {
      // The manager's refund asks for more than is left, or for a payment the store does not
      // know: nothing was queued, and it is no storage failure. The rest of the list (its audit
      // entry, the lookup of what is left) belongs to a refund that did not happen.
      log::warn("app.refund_refused", {{"error", s.error().describe()}});
      core_.emit(pos::RefundRefused{s.error().message});
      return;
    }
    if (!s) {
      log::error("app.effect_failed", {{"error", s.error().describe()}});
      core_.emit(pos::StoreFailed{s.error().message});
      return;  // a card is never collected for a sale or attempt that is not on disk
    }
    if (const auto* p = std::get_if<pos::PersistSale>(&effect)) saved_sale = p->sale.id;
  }
  if (!saved_sale.empty()) core_.emit(pos::SaleSaved{saved_sale});
}

bool UiBridge::refused_refund(const pos::Effect& effect, const Error& error) {
  const auto* enqueue = std::get_if<pos::EnqueueOperation>(&effect);
  if (enqueue == nullptr || enqueue->intent.kind != pos::OperationKind::Refund) return false;
  return error.kind == ErrorKind::FailedPrecondition || error.kind == ErrorKind::NotFound ||
         error.kind == ErrorKind::InvalidArgument;
}

// ---- durable effects -----------------------------------------------------------------------

// The register's id on the sale is what Stripe's metadata[register_id] will carry and reconcile
// scopes to: a sale for another register (a kiosk that did not take the runtime's identity) is
// refused before anything is written.
Status UiBridge::perform(const pos::PersistSale& e) {
  if (e.sale.register_id != core_.identity.id) {
    return fail(ErrorKind::Internal, "sale " + e.sale.id + " is for register '" + e.sale.register_id +
                                         "', and this is register " + core_.identity.id);
  }
  return core_.store->persist_sale(e.sale);
}

Status UiBridge::perform(const pos::UpdateSaleState& e) {
  auto s = core_.store->update_sale_state(e.sale_id, e.state);
  if (s || s.error().kind != ErrorKind::FailedPrecondition) return s;
  // The engine may already have recorded Stripe's answer (e.g. paid); the store is ahead.
  auto sale = core_.store->get_sale(e.sale_id);
  if (sale && (sale->state == e.state || pos::is_final(sale->state))) return ok();
  return s;
}

Status UiBridge::perform(const pos::CreateAttempt& e) { return core_.store->create_attempt(e.attempt); }

Status UiBridge::perform(const pos::UpdateAttempt& e) {
  const auto& a = e.attempt;
  store::AttemptUpdate u;
  u.attempt_id = a.id;
  u.state = a.state;
  u.offline = a.offline;
  if (!a.payment_method.empty()) u.payment_method = a.payment_method;
  u.card = a.card;
  if (!a.payment_intent_id.empty()) u.payment_intent_id = a.payment_intent_id;
  if (!a.decline_code.empty()) u.decline_code = a.decline_code;
  if (!a.failure_message.empty()) u.failure_message = a.failure_message;
  auto s = core_.store->update_attempt(u);
  if (s || s.error().kind != ErrorKind::FailedPrecondition) return s;
  // Stripe's answer, recorded by the engine, beats the kiosk's view: never regress it.
  auto stored = core_.store->get_attempt(a.id);
  if (stored && pos::is_final(stored->state)) {
    log::info("app.attempt_already_final", {{"attempt", a.id}, {"state", std::string(pos::to_string(stored->state))}});
    return ok();
  }
  return s;
}

// ---- the reader (reader_session.cpp does the work; nothing here is durable) ----------------

Status UiBridge::perform(const pos::StartCollect& e) {
  reader_.start_collect(e);
  return ok();
}

Status UiBridge::perform(const pos::CancelCollect&) {
  reader_.cancel_collect();
  return ok();
}

Status UiBridge::perform(const pos::ReaderCommand& e) {
  reader_.command(e);
  return ok();
}

// ---- operations ----------------------------------------------------------------------------

// The reducer's intent becomes the exact request here, in one place (sync/operations), from the
// records on disk and the configured fee rule, so the kiosk and till-sync can never send
// different params. An intent that disagrees with the attempt on disk is refused (Internal):
// the list stops and the kiosk shows a storage error instead of sending something unintended.
Status UiBridge::perform(const pos::EnqueueOperation& e) {
  const pos::OperationIntent& in = e.intent;
  const Timestamp now = core_.clock->now();
  Result<pos::OutboxOperation> built = fail(ErrorKind::InvalidArgument, "unsupported operation kind");
  if (in.kind == pos::OperationKind::CreatePaymentIntent) {
    built = build_payment_intent(in, now);
  } else if (in.kind == pos::OperationKind::Refund) {
    built = build_refund(in, now);
  }
  if (!built) return fail(built.error());
  auto id = core_.store->enqueue_operation(*built);
  if (!id) return fail(id.error());
  sync_.wake();
  return ok();
}

namespace {
Error mismatch(const pos::OperationIntent& in, const std::string& what) {
  return Error{ErrorKind::Internal,
               "operation intent for attempt " + in.attempt_id + " disagrees with the store: " + what, std::nullopt};
}
}  // namespace

Result<pos::OutboxOperation> UiBridge::build_payment_intent(const pos::OperationIntent& in, Timestamp now) {
  auto sale = core_.store->get_sale(in.sale_id);
  if (!sale) return fail(sale.error());
  auto attempt = core_.store->get_attempt(in.attempt_id);
  if (!attempt) return fail(attempt.error());
  if (attempt->sale_id != in.sale_id) return fail(mismatch(in, "sale"));
  if (attempt->amount != in.amount || attempt->currency != in.currency) return fail(mismatch(in, "amount"));
  if (attempt->account_id != in.account_id) return fail(mismatch(in, "account"));
  if (attempt->idempotency_key != in.idempotency_key) return fail(mismatch(in, "idempotency key"));
  if (attempt->payment_method != in.payment_method) return fail(mismatch(in, "payment method"));
  if (attempt->number != in.attempt_number) return fail(mismatch(in, "attempt number"));
  sync::PaymentIntentOptions options = core_.pi_options;
  if (!in.capture_method.empty()) options.capture_method = in.capture_method;
  return sync::make_payment_intent_operation(*sale, *attempt, options, now);
}

// The refunded attempt: named by the intent, or found by its PaymentIntent (a refund typed in by
// a manager).
Result<pos::OutboxOperation> UiBridge::build_refund(const pos::OperationIntent& in, Timestamp now) {
  std::optional<pos::PaymentAttempt> attempt;
  if (!in.attempt_id.empty()) {
    auto a = core_.store->get_attempt(in.attempt_id);
    if (!a) return fail(a.error());
    attempt = std::move(*a);
  } else {
    auto a = core_.store->attempt_by_payment_intent(in.payment_intent_id);
    if (!a) return fail(a.error());
    if (!*a) return fail(ErrorKind::NotFound, "no payment of this register has PaymentIntent " + in.payment_intent_id);
    attempt = std::move(**a);
  }
  if (attempt->payment_intent_id != in.payment_intent_id) return fail(mismatch(in, "payment intent"));
  if (attempt->currency != in.currency) return fail(mismatch(in, "currency"));
  sync::RefundRequest refund;
  refund.amount = in.refund_amount;
  return sync::make_refund_operation(*attempt, in.payment_intent_id, refund, in.idempotency_key, now);
}

Status UiBridge::perform(const pos::ResolveInDoubt& e) {
  auto attempt = core_.store->get_attempt(e.attempt_id);
  if (!attempt) return ok();
  auto sale_ops = core_.store->operations_for_sale(attempt->sale_id);
  bool sent = false;
  if (sale_ops) {
    for (const auto& op : *sale_ops) sent = sent || op.attempt_id == e.attempt_id;
  }
  if (!sent && attempt->state == pos::AttemptState::InDoubt) {
    // The reader lost the answer before Till sent anything to Stripe. A PaymentIntent can
    // only exist if Till created it with this attempt's key, and nothing was ever enqueued:
    // the card was not charged. (Server-driven readers always have an operation.)
    store::AttemptUpdate u;
    u.attempt_id = e.attempt_id;
    u.state = pos::AttemptState::Canceled;
    u.failure_message = "reader lost the card before anything reached Stripe; not charged";
    if (auto s = core_.store->update_attempt(u); !s) return s;
    // NotCharged, never a decline: the reducer says "not charged" and the card may be tried again.
    core_.emit(pos::InDoubtResolved{e.attempt_id, pos::AttemptEvent::NotCharged, {}, {},
                                    "Nothing reached Stripe: the card was not charged", {}});
    return ok();
  }
  sync_.wake();  // the engine retries in-doubt operations with the same key or looks them up
  return ok();
}

}  // namespace till::app::detail
