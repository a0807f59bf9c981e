// What became of a card: Stripe's answer (approved, declined), no answer (in doubt: the money
// may have moved), and the resolver's verdict for an in-doubt attempt (approved, declined, or
// proof that nothing reached Stripe). Reports arrive late, twice and out of order (webhooks,
// polls, the engine): next_state() and the guards below decide which ones the counter takes.
#include "reducer.hpp"

namespace till::pos::detail {
namespace {

void merge_card(CardDetails& into, const CardDetails& from) {
  auto take = [](std::string& a, const std::string& b) {
    if (!b.empty()) a = b;
  };
  take(into.brand, from.brand);
  take(into.last4, from.last4);
  take(into.exp_month_year, from.exp_month_year);
  take(into.read_method, from.read_method);
  take(into.application_id, from.application_id);
  take(into.application_label, from.application_label);
  take(into.authorization_code, from.authorization_code);
  take(into.terminal_verification_results, from.terminal_verification_results);
  take(into.cardholder_verification, from.cardholder_verification);
}

std::string_view earlier_outcome_words(AttemptEvent e) {
  switch (e) {
    case AttemptEvent::StripeApproved: return words::kEarlierApproved;
    case AttemptEvent::StripeDeclined: return words::kEarlierDeclined;
    default: return words::kEarlierNotCharged;
  }
}

}  // namespace

void Reducer::operator()(const PaymentApproved& a) {
  PaymentAttempt* at = find(a.attempt_id);
  if (at == nullptr) return unknown_attempt_outcome(a.attempt_id, words::kEarlierApproved);
  // From any other state Stripe's answer wins (lesson 8); a repeated report changes nothing.
  if (!moves(*at, AttemptEvent::StripeApproved)) return ignore_event();
  approve(*at, a.payment_intent_id, a.card);
}

void Reducer::operator()(const PaymentDeclined& a) {
  PaymentAttempt* at = find(a.attempt_id);
  if (at == nullptr) return unknown_attempt_outcome(a.attempt_id, words::kEarlierDeclined);
  // A payment taken offline was completed at the counter; its decline when forwarded is money
  // lost (declined_after_forward), which the engine records and the back office shows.
  if (at->offline) return ignore_event();
  // The reader itself declines before anything reached Stripe (no PaymentIntent); otherwise it
  // is Stripe's decline (a smart reader's, or the engine's answer to the queued operation).
  const AttemptEvent event = at->state == AttemptState::Collecting && a.payment_intent_id.empty()
                                 ? AttemptEvent::ReaderDeclined
                                 : AttemptEvent::StripeDeclined;
  // Webhooks arrive unordered: a decline cannot undo an approval, and a repeat changes nothing.
  if (!moves(*at, event)) return ignore_event();
  decline(*at, event, a.code, a.message, a.payment_intent_id);
}

void Reducer::operator()(const PaymentOutcomeUnknown& a) {
  PaymentAttempt* at = find(a.attempt_id);
  if (at == nullptr) return unknown_attempt_outcome(a.attempt_id, words::kEarlierUnknown);
  // A stored payment being forwarded is the engine's (its sale is complete); an attempt already
  // in doubt or answered keeps what is known.
  if (at->offline || !moves(*at, AttemptEvent::NoAnswer)) return ignore_event();
  go_in_doubt(*at, a.detail);
}

void Reducer::operator()(const InDoubtResolved& a) {
  PaymentAttempt* at = find(a.attempt_id);
  if (at == nullptr) return unknown_attempt_outcome(a.attempt_id, earlier_outcome_words(a.outcome));
  // Only an attempt this register holds in doubt takes a verdict here (a repeat, or one that is
  // already answered, changes nothing), and only a verdict ends in_doubt.
  if (at->state != AttemptState::InDoubt) return ignore_event();
  const AttemptStep step = next_state(at->state, at->offline, a.outcome);
  if (step.kind != AttemptStep::Kind::Moved) return ignore_event();
  switch (step.to) {
    case AttemptState::Approved: return approve(*at, a.payment_intent_id, a.card);
    case AttemptState::Declined:
    case AttemptState::DeclinedAfterForward:
      return decline(*at, a.outcome, a.decline_code, a.message, a.payment_intent_id);
    case AttemptState::Canceled: return not_charged(*at, a.outcome, a.message, a.payment_intent_id);
    default: return ignore_event();  // in_doubt leaves for nothing else (attempt_test.cpp)
  }
}

// An approval may come for the active card, for a card given up earlier (Stripe's answer wins:
// flagged for staff), or while another card is still on the reader after a late approval
// covered the balance.
void Reducer::approve(PaymentAttempt& at, const std::string& payment_intent_id, const CardDetails& card) {
  // A smart reader reports the outcome without a separate CardCollected: collecting ->
  // approved is one step of the machine.
  const bool was_given_up = is_final(at.state);
  if (!payment_intent_id.empty()) at.payment_intent_id = payment_intent_id;
  merge_card(at.card, card);
  at.failure_message.clear();
  apply(at, AttemptEvent::StripeApproved);
  record(at, AttemptEvent::StripeApproved);
  const bool current = is_active(at);
  const std::int64_t approved_amount = at.amount;
  if (current) end_card_phase();
  if (m_.sale && m_.sale->state == SaleState::Open) {
    // A late approval for an attempt whose cancel had reopened the sale: money was taken, so
    // the sale is being paid again (and its cart is locked by amount_paid).
    m_.sale->state = SaleState::Tendering;
    m_.sale->updated_at = ctx_.now;
    effects_.push_back(UpdateSaleState{m_.sale->id, SaleState::Tendering, ctx_.now});
  }
  const CashierWords w = cashier_words(AttemptState::Approved);
  const std::string headline = w.headline + " " + money(approved_amount);
  notice(NoticeLevel::Info, words::fill(words::kThenBalanceDue, {headline, money(balance_due(m_))}));
  if (current) m_.screen = Screen::Payment;
  if (was_given_up) {
    // Stripe's answer wins (lesson 8): the money was taken although the attempt had been
    // given up. Staff must look at this sale.
    notice(NoticeLevel::Error, words::fill(words::kApprovedAfterGivenUp, {money(approved_amount)}),
           "attempt " + at.id + " sale " + at.sale_id);
    effects_.push_back(Audit{"approved_after_given_up", "attempt=" + at.id + " sale=" + at.sale_id});
  }
  PaymentAttempt* other = active_mut();
  if (balance_due(m_) == 0 && other != nullptr && other->id != at.id && is_live(*other)) {
    // Paid in full while another card is still live: stop it if the reader still holds it;
    // otherwise its outcome decides (and an approval then is over-collected, see settle()).
    if (m_.phase == PaymentPhase::Collecting) {
      effects_.push_back(CancelCollect{other->id});
      m_.phase = PaymentPhase::Canceling;
    }
    return;
  }
  if (settle() && !was_given_up && amount_paid(m_) == m_.sale->total) {
    notice(NoticeLevel::Info, words::fill(words::kThenAdvice, {headline, w.advice}));
  }
}

void Reducer::decline(PaymentAttempt& at, AttemptEvent event, const std::string& code, const std::string& message,
                      const std::string& payment_intent_id) {
  at.decline_code = code.empty() ? "card_declined" : code;
  at.failure_message = message;
  if (!payment_intent_id.empty()) at.payment_intent_id = payment_intent_id;
  apply(at, event);
  record(at, event);
  // Card schemes want a receipt for a decline too (lesson 17).
  ReceiptInput in = receipt_input();
  in.tenders = {at};
  in.cash_tendered = 0;
  in.change = 0;
  print(std::move(in));
  if (is_active(at)) {
    m_.phase = PaymentPhase::Declined;
    m_.screen = Screen::Payment;
    m_.reader.prompt = ReaderPromptKind::None;
    m_.reader.prompt_text.clear();
  }
  CashierWords w = cashier_words(at.state, at.decline_code);
  if (!message.empty()) w.details += ": " + message;
  notice(NoticeLevel::Warning, w);
  // A decline of the card that was still live after an earlier late approval covered the
  // balance: the sale is now complete.
  settle();
}

void Reducer::go_in_doubt(PaymentAttempt& at, const std::string& detail) {
  at.failure_message = detail;
  apply(at, AttemptEvent::NoAnswer);
  record(at, AttemptEvent::NoAnswer);
  effects_.push_back(ResolveInDoubt{at.id});
  if (is_active(at)) {
    m_.phase = PaymentPhase::InDoubt;
    m_.screen = Screen::Payment;
  }
  // Whatever the transport said ("outcome_unknown: ... Connection reset by peer") is details.
  notice(NoticeLevel::Warning, cashier_words(AttemptState::InDoubt, detail));
}

// Proof that nothing reached Stripe (no request ever left), or Stripe canceled the
// PaymentIntent: not charged, and never shown as a decline. Safe to try the card again.
void Reducer::not_charged(PaymentAttempt& at, AttemptEvent event, const std::string& message,
                          const std::string& payment_intent_id) {
  if (!message.empty()) at.failure_message = message;
  if (!payment_intent_id.empty()) at.payment_intent_id = payment_intent_id;  // the canceled one
  apply(at, event);
  record(at, event);
  if (is_active(at)) {
    m_.phase = PaymentPhase::Failed;
    m_.screen = Screen::Payment;
    m_.reader.prompt = ReaderPromptKind::None;
    m_.reader.prompt_text.clear();
  }
  notice(NoticeLevel::Warning, cashier_words(at.state, event, message));
  settle();  // a card approved late may have covered the balance meanwhile
}

void Reducer::unknown_attempt_outcome(const std::string& id, std::string_view what) {
  // Not this sale's attempt (set aside, or an earlier sale): the sync engine records the
  // outcome in the store; staff find it in the back office.
  notice(NoticeLevel::Warning, words::fill(words::kEarlierPayment, {what}), "attempt " + id);
}

}  // namespace till::pos::detail
