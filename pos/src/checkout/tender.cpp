// Starting to pay, and giving up: charge a card (the whole balance or part of it), retry with
// another card, take cash, cancel the card payment, void the sale, start the next one.
#include <algorithm>

#include "reducer.hpp"

namespace till::pos::detail {

void Reducer::operator()(const Charge& a) {
  if (!can_tender()) return;
  const std::int64_t balance = balance_due(m_);
  const std::int64_t amount = a.amount.value_or(balance);
  if (amount <= 0) return reject(words::kChargeMoreThanZero);
  if (amount > balance) return reject(words::fill(words::kChargeOverBalance, {money(balance)}));
  start_card(amount);
}

void Reducer::operator()(const RetryWithAnotherCard&) {
  if (m_.phase != PaymentPhase::Declined && m_.phase != PaymentPhase::Refused && m_.phase != PaymentPhase::Failed) {
    return reject(busy_refusal(words::kNothingToRetry));
  }
  if (!can_tender()) return;
  // Same amount as the failed attempt (a split stays a split), never more than the balance.
  std::int64_t amount = balance_due(m_);
  if (const PaymentAttempt* last = active(); last != nullptr) amount = std::min(amount, last->amount);
  start_card(amount);
}

void Reducer::operator()(const PayCash& a) {
  if (!can_tender()) return;
  if (a.tendered <= 0) return reject(words::kCashMoreThanZero);
  const std::int64_t balance = balance_due(m_);
  const std::int64_t applied = std::min(a.tendered, balance);
  const std::int64_t change = a.tendered - applied;
  persist_sale_for_tender();
  PaymentAttempt cash = new_attempt(TenderKind::Cash, applied);
  cash.state = AttemptState::Approved;  // creation: cash in the drawer needs no authorization
  m_.attempts.push_back(cash);
  effects_.push_back(CreateAttempt{cash});
  effects_.push_back(OpenCashDrawer{});
  m_.cash_tendered += a.tendered;
  m_.change_due += change;
  end_card_phase();
  if (settle()) {
    if (change > 0) notice(NoticeLevel::Info, words::fill(words::kChangeDue, {money(change)}));
  } else {
    m_.screen = Screen::Payment;
    notice(NoticeLevel::Info, words::fill(words::kCashTaken, {money(applied), money(balance_due(m_))}));
  }
}

void Reducer::operator()(const CancelPayment&) {
  switch (m_.phase) {
    case PaymentPhase::Collecting: {
      const PaymentAttempt* a = active();
      effects_.push_back(CancelCollect{a->id});
      m_.phase = PaymentPhase::Canceling;
      notice(NoticeLevel::Info, std::string(words::kCanceling));
      return;
    }
    case PaymentPhase::Canceling: return reject(words::kAlreadyCanceling);
    case PaymentPhase::Authorizing: return reject(words::kCannotCancelAuthorizing);
    case PaymentPhase::InDoubt: return reject(kInDoubtText);
    case PaymentPhase::None: return reject(words::kNoCardPayment);
    case PaymentPhase::Declined:
    case PaymentPhase::Refused:
    case PaymentPhase::Failed:
      // The card was given up on: the same words as a cancel the reader confirmed.
      back_to_tendering_choice(cashier_words(AttemptState::Canceled, AttemptEvent::Canceled, {}).headline);
      return;
  }
}

void Reducer::operator()(const VoidSale&) {
  if (!cashier_screen()) return;
  if (m_.screen == Screen::Receipt) return reject(words::kSaleCompleteRefund);
  if (busy_with_card()) return reject(busy_refusal(words::kFinishCardFirst));
  if (amount_paid(m_) > 0) return reject(words::kMoneyTaken);
  if (m_.sale) {
    if (!transition(m_.sale->state, SaleState::Voided)) return reject(words::kCannotVoid);
    effects_.push_back(UpdateSaleState{m_.sale->id, SaleState::Voided, ctx_.now});
    effects_.push_back(Audit{"sale_voided", "sale=" + m_.sale->id});
  }
  reset_checkout();
  notice(NoticeLevel::Info, std::string(words::kSaleVoided));
}

void Reducer::operator()(const NewSale&) {
  if (m_.screen == Screen::BackOffice) return reject(words::kCloseBackOfficeFirst);
  const bool complete = m_.sale && is_final(m_.sale->state);
  const bool untouched = !m_.sale && m_.cart.lines.empty();
  if (!complete && !untouched) {
    if (m_.phase == PaymentPhase::InDoubt) return reject(kInDoubtText);
    return reject(words::kFinishOrVoidFirst);
  }
  reset_checkout();
}

// The sale record as the cart says, persisted (upserted) before the first tender, and again
// if the cart changed after a cancel. Emits PersistSale when the sale is (back) open.
void Reducer::persist_sale_for_tender() {
  if (m_.sale && m_.sale->state == SaleState::Tendering) return;
  if (!m_.sale) {
    Sale s;
    s.id = new_uuid_v4(ctx_.random);
    s.register_id = ctx_.register_id;
    s.account_id = ctx_.account_id;
    s.currency = std::string(ctx_.currency.code());
    s.created_at = ctx_.now;
    m_.sale = std::move(s);
    m_.sale_saved = false;
  }
  Sale& s = *m_.sale;
  apply_totals(s, m_.totals);
  s.customer_contact = m_.customer_contact;
  s.state = SaleState::Tendering;
  s.updated_at = ctx_.now;
  effects_.push_back(PersistSale{s});
}

void Reducer::start_card(std::int64_t amount) {
  if (!m_.reader.connected) return reject(words::kNoReader);
  const OfflinePayment pre{amount, std::string(ctx_.currency.code()), "", "", false, ctx_.now};
  const RiskDecision decision = evaluate(ctx_.risk, m_.offline.stored, pre);
  const auto* refused = std::get_if<Refused>(&decision);
  if (!m_.offline.online && refused != nullptr) {
    reject(words::fill(words::kOfflineNeedsConnection, {refused->message}));
    m_.offline.require_online_reason = refused->message;
    return;
  }
  persist_sale_for_tender();
  PaymentAttempt a = new_attempt(TenderKind::Card, amount);
  m_.attempts.push_back(a);
  m_.active_attempt_id = a.id;
  effects_.push_back(CreateAttempt{a});
  effects_.push_back(StartCollect{a.id, amount, a.currency, refused == nullptr});
  m_.phase = PaymentPhase::Collecting;
  m_.screen = Screen::Payment;
  notice(NoticeLevel::Info, cashier_words(AttemptState::Collecting));  // the view shows the amount
}

OperationIntent Reducer::payment_intent_operation(const PaymentAttempt& a) const {
  OperationIntent op;
  op.kind = OperationKind::CreatePaymentIntent;
  op.sale_id = a.sale_id;
  op.attempt_id = a.id;
  op.attempt_number = a.number;
  op.account_id = a.account_id;
  op.amount = a.amount;
  op.currency = a.currency;
  op.payment_method = a.payment_method;
  op.capture_method = ctx_.capture_method;
  op.idempotency_key = a.idempotency_key;
  op.at = ctx_.now;
  return op;
}

}  // namespace till::pos::detail
