// What follows for the sale once a card's outcome is known: completed and receipted when the
// money covers it and no card is live, back to the tender choice after a cancel, or reset for
// the next customer.
#include <algorithm>

#include "reducer.hpp"

namespace till::pos::detail {
namespace {

bool is_money_state(const PaymentAttempt& a) {
  return a.state == AttemptState::Approved || a.state == AttemptState::StoredOffline;
}

}  // namespace

void Reducer::end_card_phase() {
  m_.phase = PaymentPhase::None;
  m_.active_attempt_id.reset();
  m_.reader.prompt = ReaderPromptKind::None;
  m_.reader.prompt_text.clear();
}

// After a cancel (or giving up on a declined card): with nothing paid the sale is open again
// and the cart editable; with part paid the balance is still owed.
void Reducer::back_to_tendering_choice(std::string_view headline) {
  end_card_phase();
  if (settle()) return;  // a late approval had already covered the balance
  if (amount_paid(m_) == 0 && m_.sale && m_.sale->state == SaleState::Tendering) {
    m_.sale->state = SaleState::Open;
    m_.sale->updated_at = ctx_.now;
    effects_.push_back(UpdateSaleState{m_.sale->id, SaleState::Open, ctx_.now});
    m_.screen = Screen::Sell;
    notice(NoticeLevel::Info, words::fill(words::kThenNothingCharged, {headline}));
  } else {
    m_.screen = Screen::Payment;
    notice(NoticeLevel::Info, words::fill(words::kThenBalanceDue, {headline, money(balance_due(m_))}));
  }
}

ReceiptInput Reducer::receipt_input() const {
  ReceiptInput in;
  in.merchant = ctx_.merchant;
  in.sale = *m_.sale;
  in.cash_tendered = m_.cash_tendered;
  in.change = m_.change_due;
  return in;
}

void Reducer::print(ReceiptInput in) {
  m_.last_receipt = render_receipt(in);
  m_.last_receipt_input = in;
  effects_.push_back(PrintReceipt{m_.last_receipt, std::move(in)});
}

// Completes the sale when the money covers it and no card is still live (a sale is never
// marked paid while an outcome is pending). More money than the total can only come from a
// card approved after it had been given up: it is flagged for a refund. True if completed.
bool Reducer::settle() {
  if (!m_.sale || m_.sale->state != SaleState::Tendering) return false;
  if (amount_paid(m_) == 0 || balance_due(m_) != 0 || has_live_attempt()) return false;
  end_card_phase();
  complete_sale();
  const std::int64_t over = amount_paid(m_) - m_.sale->total;
  if (over > 0) {
    effects_.push_back(Audit{"over_collected", "sale=" + m_.sale->id + " amount=" + money(over)});
    notice(NoticeLevel::Error, words::fill(words::kOverCollected, {money(over)}));
  }
  return true;
}

void Reducer::complete_sale() {
  Sale& s = *m_.sale;
  s.state = SaleState::Paid;
  s.updated_at = ctx_.now;
  effects_.push_back(UpdateSaleState{s.id, SaleState::Paid, ctx_.now});
  ReceiptInput in = receipt_input();
  for (const auto& a : m_.attempts) {
    if (is_money_state(a)) in.tenders.push_back(a);
  }
  print(std::move(in));
  m_.screen = Screen::Receipt;
}

void Reducer::reset_checkout() {
  Model fresh;
  fresh.reader = m_.reader;
  fresh.reader.prompt = ReaderPromptKind::None;
  fresh.reader.prompt_text.clear();
  fresh.offline = m_.offline;
  fresh.back_office = m_.back_office;
  fresh.storage_error = m_.storage_error;
  fresh.last_receipt = m_.last_receipt;
  fresh.last_receipt_input = m_.last_receipt_input;
  fresh.store_check = m_.store_check;
  fresh.store_check_error = m_.store_check_error;
  fresh.screen = Screen::Sell;
  m_ = std::move(fresh);
}

Screen Reducer::home_screen() const {
  if (m_.sale && m_.sale->state == SaleState::Paid) return Screen::Receipt;
  if (m_.phase != PaymentPhase::None || amount_paid(m_) > 0) return Screen::Payment;
  return Screen::Sell;
}

}  // namespace till::pos::detail

namespace till::pos {

std::int64_t amount_paid(const Model& model) {
  std::int64_t paid = 0;
  for (const auto& a : model.attempts) {
    if (detail::is_money_state(a)) paid += a.amount;  // each <= the sale total, so no overflow
  }
  return paid;
}

std::int64_t balance_due(const Model& model) {
  const std::int64_t total = model.sale && model.sale->state != SaleState::Open ? model.sale->total : model.totals.total;
  return std::max<std::int64_t>(0, total - amount_paid(model));
}

}  // namespace till::pos
