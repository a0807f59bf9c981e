// The guards every handler uses, the notices, and the one place an attempt's state changes.
#include "reducer.hpp"

#include <algorithm>

namespace till::pos::detail {

// ---- guards and notices -------------------------------------------------------------------------

void Reducer::reject(std::string_view text, std::string details) {
  m_ = original_;
  effects_.clear();
  notice(NoticeLevel::Warning, std::string(text), std::move(details));
}

void Reducer::notice(NoticeLevel level, std::string text, std::string details) {
  m_.notice = Notice{level, std::move(text), std::move(details)};
}

void Reducer::notice(NoticeLevel level, const CashierWords& words) {
  notice(level, words::fill(words::kThenAdvice, {words.headline, words.advice}), words.details);
}

std::string_view Reducer::busy_refusal(std::string_view otherwise) const {
  return m_.phase == PaymentPhase::InDoubt ? std::string_view(kInDoubtText) : otherwise;
}

bool Reducer::cashier_screen() {
  if (m_.screen == Screen::BackOffice) {
    reject(words::kCloseBackOfficeFirst);
    return false;
  }
  return true;
}

bool Reducer::busy_with_card() const {
  return m_.phase == PaymentPhase::Collecting || m_.phase == PaymentPhase::Canceling ||
         m_.phase == PaymentPhase::Authorizing || m_.phase == PaymentPhase::InDoubt;
}

bool Reducer::cart_editable() {
  if (!cashier_screen()) return false;
  if (m_.screen == Screen::Receipt) return reject(words::kSaleCompleteStartNew), false;
  if (busy_with_card() || (m_.sale && m_.sale->state != SaleState::Open) || amount_paid(m_) > 0) {
    return reject(busy_refusal(words::kCartLocked)), false;
  }
  if (m_.phase != PaymentPhase::None) return reject(words::kCancelBeforeEditing), false;
  return true;
}

bool Reducer::line_exists(std::size_t line) {
  if (line < m_.cart.lines.size()) return true;
  reject(words::kNoSuchLine);
  return false;
}

bool Reducer::can_tender() {
  if (!cashier_screen()) return false;
  // Nothing is written for a sale until the file it goes into is known to be sound.
  if (m_.store_check == StoreCheck::Checking) return reject(words::kDatabaseChecking), false;
  if (m_.store_check == StoreCheck::Failed) return reject(words::kDatabaseDamaged), false;
  if (m_.screen == Screen::Receipt) return reject(words::kSaleCompleteStartNew), false;
  switch (m_.phase) {
    case PaymentPhase::None:
    case PaymentPhase::Declined:
    case PaymentPhase::Refused:
    case PaymentPhase::Failed: break;
    case PaymentPhase::InDoubt: return reject(kInDoubtText), false;
    case PaymentPhase::Collecting:
    case PaymentPhase::Canceling:
    case PaymentPhase::Authorizing: return reject(words::kCardInProgress), false;
  }
  if (m_.cart.lines.empty()) return reject(words::kCartEmpty), false;
  if (balance_due(m_) <= 0) return reject(words::kNothingToPay), false;
  return true;
}

bool Reducer::manager() {
  if (m_.back_office.unlocked) return true;
  reject(words::kManagerPinRequired);
  return false;
}

// ---- attempts -----------------------------------------------------------------------------------

AttemptStep Reducer::apply(PaymentAttempt& at, AttemptEvent event) {
  AttemptStep step = next_state(at.state, at.offline, event);
  if (step.kind == AttemptStep::Kind::Moved) {
    at.state = step.to;  // the one write of an attempt's state
    if (event == AttemptEvent::StoredOffline) at.offline = true;
    at.updated_at = ctx_.now;
  }
  return step;
}

bool Reducer::moves(const PaymentAttempt& at, AttemptEvent event) {
  return next_state(at.state, at.offline, event).kind == AttemptStep::Kind::Moved;
}

void Reducer::record(const PaymentAttempt& at, std::optional<AttemptEvent> event) {
  effects_.push_back(UpdateAttempt{at, event});
}

const PaymentAttempt* Reducer::active() const {
  if (!m_.active_attempt_id) return nullptr;
  return find_attempt(m_, *m_.active_attempt_id);
}

PaymentAttempt* Reducer::active_mut() { return m_.active_attempt_id ? find(*m_.active_attempt_id) : nullptr; }

PaymentAttempt* Reducer::find(const std::string& id) {
  for (auto& a : m_.attempts) {
    if (a.id == id) return &a;
  }
  return nullptr;
}

bool Reducer::is_active(const PaymentAttempt& at) const { return m_.active_attempt_id && *m_.active_attempt_id == at.id; }

PaymentAttempt* Reducer::collecting_attempt(const std::string& id) {
  PaymentAttempt* at = active_mut();
  if (at == nullptr || at->id != id || at->state != AttemptState::Collecting ||
      (m_.phase != PaymentPhase::Collecting && m_.phase != PaymentPhase::Canceling)) {
    ignore_event();
    return nullptr;
  }
  return at;
}

PaymentAttempt Reducer::new_attempt(TenderKind tender, std::int64_t amount) {
  PaymentAttempt a;
  a.id = new_uuid_v4(ctx_.random);
  a.sale_id = m_.sale->id;
  a.number = static_cast<int>(m_.attempts.size()) + 1;
  a.tender = tender;
  a.state = AttemptState::Collecting;  // creation: a card attempt starts collecting
  a.amount = amount;
  a.currency = m_.sale->currency;
  a.account_id = ctx_.account_id;
  // Fixed here, before anything leaves the machine; every resend of this attempt uses it.
  a.idempotency_key = new_uuid_v4(ctx_.random);
  a.created_at = ctx_.now;
  a.updated_at = ctx_.now;
  return a;
}

bool Reducer::is_live(const PaymentAttempt& a) {
  return a.state == AttemptState::Collecting || a.state == AttemptState::Submitting ||
         a.state == AttemptState::InDoubt;
}

bool Reducer::has_live_attempt() const {
  return std::any_of(m_.attempts.begin(), m_.attempts.end(), [](const PaymentAttempt& a) { return is_live(a); });
}

std::string Reducer::money(std::int64_t minor) const { return Money(minor, ctx_.currency).format(); }

}  // namespace till::pos::detail
