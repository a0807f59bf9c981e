#include "rows.hpp"

namespace till::store::detail {

Result<pos::Sale> sale_from_row(const Stmt& st) {
  pos::Sale s;
  s.id = st.text(0);
  s.register_id = st.text(1);
  s.account_id = st.text(2);
  s.currency = st.text(3);
  auto state = pos::parse_sale_state(st.text(4));
  if (!state) return fail(data_loss("sale " + s.id + " has an unknown state '" + st.text(4) + "'"));
  s.state = *state;
  s.subtotal = st.i64(5);
  s.discount_total = st.i64(6);
  s.tax_total = st.i64(7);
  s.tip = st.i64(8);
  s.total = st.i64(9);
  s.customer_contact = st.text(10);
  s.created_at = st.time(11);
  s.updated_at = st.time(12);
  return s;
}

Result<pos::PaymentAttempt> attempt_from_row(const Connection& c, const Stmt& st, bool with_secret) {
  pos::PaymentAttempt a;
  a.id = st.text(0);
  a.sale_id = st.text(1);
  a.number = static_cast<int>(st.i64(2));
  a.tender = st.text(3) == "cash" ? pos::TenderKind::Cash : pos::TenderKind::Card;
  auto state = pos::parse_attempt_state(st.text(4));
  if (!state) return fail(data_loss("attempt " + a.id + " has an unknown state '" + st.text(4) + "'"));
  a.state = *state;
  a.amount = st.i64(5);
  a.currency = st.text(6);
  a.account_id = st.text(7);
  a.idempotency_key = st.text(8);
  a.offline = st.i64(9) != 0;
  if (with_secret) {
    auto pm = c.unseal(st, 10, attempt_aad(a.id), "the payment method of attempt " + a.id);
    if (!pm) return fail(pm.error());
    a.payment_method = std::move(*pm);
  }
  a.card.brand = st.text(11);
  a.card.last4 = st.text(12);
  a.card.exp_month_year = st.text(13);
  a.card.read_method = st.text(14);
  a.card.application_id = st.text(15);
  a.card.application_label = st.text(16);
  a.card.authorization_code = st.text(17);
  a.card.terminal_verification_results = st.text(18);
  a.card.cardholder_verification = st.text(19);
  a.payment_intent_id = st.text(20);
  a.decline_code = st.text(21);
  a.failure_message = st.text(22);
  a.created_at = st.time(23);
  a.updated_at = st.time(24);
  return a;
}

Result<pos::OutboxOperation> op_from_row(const Connection& c, const Stmt& st, bool with_body) {
  pos::OutboxOperation o;
  o.id = st.i64(0);
  auto kind = pos::parse_operation_kind(st.text(1));
  if (!kind) return fail(data_loss("operation " + std::to_string(o.id) + " has an unknown kind"));
  o.kind = *kind;
  o.sale_id = st.text(2);
  o.attempt_id = st.text(3);
  o.account_id = st.text(4);
  o.method = st.text(5);
  o.path = st.text(6);
  o.idempotency_key = st.text(8);
  if (with_body) {
    auto body = c.unseal(st, 7, op_aad(o.idempotency_key), "the body of operation " + std::to_string(o.id));
    if (!body) return fail(body.error());
    o.body = std::move(*body);
  }
  auto state = pos::parse_outbox_state(st.text(9));
  if (!state) return fail(data_loss("operation " + std::to_string(o.id) + " has an unknown state"));
  o.state = *state;
  o.attempts = static_cast<int>(st.i64(10));
  o.next_attempt_at = st.time(11);
  o.first_sent_at = st.opt_time(12);
  o.last_error = st.text(13);
  o.last_request_id = st.text(14);
  o.stripe_object_id = st.text(15);
  o.created_at = st.time(16);
  o.updated_at = st.time(17);
  return o;
}

Result<AttentionItem> attention_from_row(const Stmt& st) {
  AttentionItem a;
  a.id = st.i64(0);
  a.sale_id = st.text(1);
  a.attempt_id = st.text(2);
  a.reason = st.text(3);
  a.customer_contact = st.text(4);
  a.amount = st.i64(5);
  a.currency = st.text(6);
  a.decline_code = st.text(7);
  a.created_at = st.time(8);
  a.resolved_at = st.opt_time(9);
  a.resolution = st.text(10);
  return a;
}

}  // namespace till::store::detail
