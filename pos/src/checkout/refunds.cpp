// Refunds (manager): a past sale is found by its receipt number, and a refund of one of its card
// payments is queued as a keyed operation, never beyond what is left to refund.
#include "reducer.hpp"

namespace till::pos::detail {

void Reducer::operator()(const RequestRefund& a) {
  if (!manager()) return;
  if (a.payment_intent_id.empty()) return reject(words::kOnlyConfirmedRefundable);
  if (a.amount <= 0) return reject(words::kRefundMoreThanZero);
  auto cur = Currency::parse(a.currency);
  if (!cur) return reject(words::fill(words::kUnknownCurrency, {a.currency}));
  // A payment of the past sale on screen: never more than what is left to refund (the store
  // enforces the same limit when the operation is queued).
  const PastSale::Payment* past = nullptr;
  if (m_.back_office.refund_sale) {
    for (const auto& p : m_.back_office.refund_sale->payments) {
      if (p.attempt_id == a.attempt_id && !a.attempt_id.empty()) past = &p;
    }
  }
  if (past != nullptr && a.amount > past->refundable) {
    return reject(words::fill(words::kRefundAtMost, {Money(past->refundable, *cur).format()}));
  }
  OperationIntent op;
  op.kind = OperationKind::Refund;
  op.sale_id = a.sale_id;
  op.attempt_id = a.attempt_id;
  op.account_id = ctx_.account_id;
  op.currency = a.currency;
  op.payment_intent_id = a.payment_intent_id;
  op.refund_amount = a.amount;
  op.idempotency_key = new_uuid_v4(ctx_.random);  // a new refund, a new key
  op.at = ctx_.now;
  effects_.push_back(EnqueueOperation{op});
  effects_.push_back(Audit{"refund_requested", "sale=" + a.sale_id + " payment_intent=" + a.payment_intent_id +
                                                   " amount=" + Money(a.amount, *cur).format()});
  notice(NoticeLevel::Info, words::fill(words::kRefundQueued, {Money(a.amount, *cur).format()}));
  reload_back_office();
  if (past != nullptr) {
    // Show what is left to refund once the store has the new operation.
    m_.back_office.refund_lookup_running = true;
    effects_.push_back(LookUpSaleForRefund{m_.back_office.refund_sale->sale.id});
  }
}

void Reducer::operator()(const FindSaleForRefund& a) {
  if (!manager()) return;
  std::string number;
  for (char c : a.receipt_number) {
    if (c != ' ' && c != '\t') number += c;
  }
  if (number.size() < 8) return reject(words::kReceiptNumberTooShort);
  m_.back_office.refund_lookup_running = true;
  m_.back_office.refund_lookup_error.clear();
  effects_.push_back(LookUpSaleForRefund{number});
}

void Reducer::operator()(const SaleForRefundFound& a) {
  if (!m_.back_office.unlocked) return;
  m_.back_office.refund_lookup_running = false;
  m_.back_office.refund_sale = a.sale;
}

void Reducer::operator()(const SaleForRefundFailed& a) {
  if (!m_.back_office.unlocked) return;
  m_.back_office.refund_lookup_running = false;
  m_.back_office.refund_sale.reset();
  m_.back_office.refund_lookup_error = a.message;
}

// The runner skipped the rest of the refund's effects (its audit entry and the lookup of what
// is left), so nothing is loading any more. The store's reason ("only USD 2.00 is left to
// refund", "no payment pi_...") is for the details line.
void Reducer::operator()(const RefundRefused& a) {
  m_.back_office.refund_lookup_running = false;
  notice(NoticeLevel::Error, std::string(words::kRefundNotQueued), a.message);
}

}  // namespace till::pos::detail
