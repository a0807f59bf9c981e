// What the reader reports while it collects a card: its connection, its prompts, the card read
// (online: submitted now; offline: the risk policy decides), a confirmed cancel, a failure
// before a card was read. Each applies to the active attempt only while it is collecting;
// anything else is a stale report and changes nothing.
#include "reducer.hpp"

namespace till::pos::detail {

void Reducer::operator()(const ReaderStatusChanged& a) {
  m_.reader.connected = a.connected;
  m_.reader.details.connection = a.connected ? "connected" : "disconnected";
  m_.reader.label = a.label;
  m_.reader.detail = a.detail;
  if (!a.connected) {
    m_.reader.prompt = ReaderPromptKind::None;
    m_.reader.prompt_text.clear();
    // Lesson 1: a reader that drops while it holds the card may still complete the payment.
    if (m_.phase == PaymentPhase::Collecting || m_.phase == PaymentPhase::Canceling) {
      go_in_doubt(*active_mut(), "reader disconnected during the payment");
    }
  }
}

void Reducer::operator()(const ReaderPrompt& a) {
  if (!a.attempt_id.empty() && (active() == nullptr || active()->id != a.attempt_id)) return;  // stale
  m_.reader.prompt = a.kind;
  m_.reader.prompt_text = a.text;
}

void Reducer::operator()(const CardCollected& a) {
  PaymentAttempt* at = collecting_attempt(a.attempt_id);
  if (at == nullptr || drop_if_already_paid(*at)) return;
  if (!m_.offline.online) return store_offline(*at, a.payment_method, a.card, a.online_pin_required);
  at->payment_method = a.payment_method;
  at->card = a.card;
  apply(*at, AttemptEvent::Submitted);
  record(*at, AttemptEvent::Submitted);
  effects_.push_back(EnqueueOperation{payment_intent_operation(*at)});
  m_.phase = PaymentPhase::Authorizing;
  notice(NoticeLevel::Info, cashier_words(AttemptState::Submitting));
}

void Reducer::operator()(const PaymentStoredOffline& a) {
  PaymentAttempt* at = collecting_attempt(a.attempt_id);
  if (at == nullptr || drop_if_already_paid(*at)) return;
  store_offline(*at, a.payment_method, a.card, a.online_pin_required);
}

void Reducer::operator()(const CollectCanceled& a) {
  PaymentAttempt* at = collecting_attempt(a.attempt_id);
  if (at == nullptr) return;
  apply(*at, AttemptEvent::Canceled);
  record(*at, AttemptEvent::Canceled);
  back_to_tendering_choice(cashier_words(AttemptState::Canceled, AttemptEvent::Canceled, {}).headline);
}

void Reducer::operator()(const CollectFailed& a) {
  PaymentAttempt* at = collecting_attempt(a.attempt_id);
  if (at == nullptr) return;
  const bool was_canceling = m_.phase == PaymentPhase::Canceling;
  at->failure_message = a.reason;
  apply(*at, AttemptEvent::ReaderFailed);  // no card was read: nothing can have been authorized
  record(*at, AttemptEvent::ReaderFailed);
  if (was_canceling) {
    return back_to_tendering_choice(cashier_words(AttemptState::Canceled, AttemptEvent::Canceled, {}).headline);
  }
  m_.phase = PaymentPhase::Failed;
  m_.screen = Screen::Payment;
  m_.reader.prompt = ReaderPromptKind::None;
  m_.reader.prompt_text.clear();
  // The reader's own message ("card removed before the read finished") is for the details line.
  notice(NoticeLevel::Warning, cashier_words(AttemptState::Canceled, AttemptEvent::ReaderFailed, a.reason));
}

// Store and forward: the full risk policy runs with the card's brand and read method.
void Reducer::store_offline(PaymentAttempt& at, const std::string& payment_method, const CardDetails& card,
                            bool online_pin) {
  const OfflinePayment p{at.amount, at.currency, card.brand, card.read_method, online_pin, ctx_.now};
  const RiskDecision decision = evaluate(ctx_.risk, m_.offline.stored, p);
  at.card = card;
  at.updated_at = ctx_.now;
  if (const auto* refused = std::get_if<Refused>(&decision)) {
    // Nothing was authorized, so dropping the token moves no money.
    at.failure_message = "refused offline: " + refused->message;
    apply(at, AttemptEvent::OfflineRefused);
    record(at, AttemptEvent::OfflineRefused);
    effects_.push_back(Audit{"offline_refused", "attempt=" + at.id + " reason=" + std::string(to_string(refused->reason))});
    m_.phase = PaymentPhase::Refused;
    m_.screen = Screen::Payment;
    notice(NoticeLevel::Warning, cashier_words(AttemptState::Canceled, AttemptEvent::OfflineRefused, refused->message));
    return;
  }
  at.payment_method = payment_method;
  apply(at, AttemptEvent::StoredOffline);  // also marks it offline
  record(at, AttemptEvent::StoredOffline);
  effects_.push_back(EnqueueOperation{payment_intent_operation(at)});
  // Count it now, so the next payment meets the caps before the store reports back.
  auto& cur = m_.offline.stored.by_currency[at.currency];
  cur.count += 1;
  cur.amount += at.amount;
  m_.offline.stored.count += 1;
  if (!m_.offline.stored.oldest || ctx_.now < *m_.offline.stored.oldest) m_.offline.stored.oldest = ctx_.now;
  refresh_offline();
  const std::int64_t stored_amount = at.amount;
  end_card_phase();
  const CashierWords w = cashier_words(AttemptState::StoredOffline);
  const std::string headline = w.headline + " " + money(stored_amount);
  if (settle()) {
    notice(NoticeLevel::Info, words::fill(words::kThenAdvice, {headline, w.advice}));
  } else {
    m_.screen = Screen::Payment;
    notice(NoticeLevel::Info, words::fill(words::kThenBalanceDue, {headline, money(balance_due(m_))}));
  }
}

// A card read after the balance was covered (a late approval of an earlier card arrived
// while this one was on the reader): nothing is owed, so the token is dropped unsubmitted.
bool Reducer::drop_if_already_paid(PaymentAttempt& at) {
  if (balance_due(m_) != 0) return false;
  at.failure_message = "not submitted: the balance was already paid";
  apply(at, AttemptEvent::NotCharged);
  record(at, AttemptEvent::NotCharged);
  end_card_phase();
  settle();
  return true;
}

}  // namespace till::pos::detail
