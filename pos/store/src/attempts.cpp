#include "till/store/attempts.hpp"

#include "connection.hpp"
#include "rows.hpp"
#include "tables.hpp"
#include "till/base/log.hpp"

namespace till::store {

using detail::Connection;
using detail::kAttemptColumns;
using detail::sql;
using detail::Stmt;

namespace {

Result<std::vector<pos::PaymentAttempt>> select(Connection& c, std::string_view where, std::string_view value,
                                                bool with_secret = true) {
  return c.query<pos::PaymentAttempt>(
      sql("SELECT ", kAttemptColumns, " FROM payment_attempts WHERE ") + std::string(where), "reading an attempt",
      [&](const Stmt& st) { return detail::attempt_from_row(c, st, with_secret); }, value);
}

Result<pos::PaymentAttempt> one(Connection& c, std::string_view where, std::string_view value,
                                std::string_view what) {
  auto rows = select(c, where, value);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return fail(ErrorKind::NotFound, "no payment attempt with " + std::string(what));
  return std::move(rows->front());
}

Status create_attempt(Connection& c, const pos::PaymentAttempt& a) {
  if (a.id.empty() || a.sale_id.empty()) {
    return fail(ErrorKind::InvalidArgument, "a payment attempt needs an id and a sale id");
  }
  if (a.tender == pos::TenderKind::Card && (a.idempotency_key.empty() || a.account_id.empty())) {
    return fail(ErrorKind::InvalidArgument,
                "a card attempt needs its idempotency key and connected account before anything is sent");
  }
  if (a.offline && !a.payment_method.empty() && !c.options.data_key) {
    return fail(ErrorKind::FailedPrecondition, std::string(detail::kNoKeyMessage));
  }
  auto sale = detail::sale_exists(c, a.sale_id);
  if (!sale) return fail(sale.error());
  if (!*sale) return fail(ErrorKind::NotFound, "no sale " + a.sale_id + " for attempt " + a.id);
  auto dup = c.query<std::string>(
      "SELECT id FROM payment_attempts WHERE idempotency_key = ?", "checking an idempotency key",
      [](const Stmt& st) -> Result<std::string> { return st.text(0); }, a.idempotency_key);
  if (!dup) return fail(dup.error());
  if (!dup->empty()) {
    return fail(ErrorKind::FailedPrecondition,
                "idempotency key already belongs to attempt " + dup->front() + "; keys are never reused");
  }
  auto pm = c.seal(a.payment_method, detail::attempt_aad(a.id));
  if (!pm) return fail(pm.error());
  const Timestamp t = c.now();
  const Timestamp created = a.created_at == Timestamp{} ? t : a.created_at;
  // Creation is not a transition: a card attempt starts collecting, a cash one approved.
  auto st = c.db.prepare(sql("INSERT INTO payment_attempts (", kAttemptColumns,
                             ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  if (!st) return fail(st.error());
  st->bind_all(a.id, a.sale_id, a.number, detail::tender_name(a.tender), pos::to_string(a.state), a.amount,
               a.currency, a.account_id);
  if (a.idempotency_key.empty()) {
    st->bind(std::nullopt);
  } else {
    st->bind(a.idempotency_key);
  }
  st->bind(a.offline);
  Connection::bind_sealed(*st, *pm);
  st->bind_all(a.card.brand, a.card.last4, a.card.exp_month_year, a.card.read_method, a.card.application_id,
               a.card.application_label, a.card.authorization_code, a.card.terminal_verification_results,
               a.card.cardholder_verification, a.payment_intent_id, a.decline_code, a.failure_message, created,
               t);
  return st->run("writing a payment attempt");
}

std::string arrow(pos::AttemptState from, pos::AttemptState to, std::optional<pos::AttemptEvent> event) {
  std::string s = std::string(pos::to_string(from)) + " -> " + std::string(pos::to_string(to));
  if (event) s += " (" + std::string(pos::to_string(*event)) + ")";
  return s;
}

// The one writer of an attempt's state (AttemptUpdate says what each answer of the machine does).
Result<pos::AttemptStep> update_attempt(Connection& c, const AttemptUpdate& u) {
  auto cur = one(c, "id = ?", u.attempt_id, "id " + u.attempt_id);
  if (!cur) return fail(cur.error());
  pos::PaymentAttempt a = std::move(*cur);
  const pos::AttemptState from = a.state;
  const pos::AttemptStep step = u.event ? pos::next_state(from, a.offline, *u.event)
                                        : pos::AttemptStep{pos::AttemptStep::Kind::Unchanged, from, {}};
  if (step.kind == pos::AttemptStep::Kind::Refused) {
    log::error("store.attempt.refused", {{"attempt_id", a.id},
                                         {"state", pos::to_string(from)},
                                         {"attempt_event", pos::to_string(*u.event)},
                                         {"why", step.why}});
    return fail(ErrorKind::FailedPrecondition, "refused transition: " + step.why);
  }
  if (u.payment_intent_id && !u.payment_intent_id->empty() && !a.payment_intent_id.empty() &&
      *u.payment_intent_id != a.payment_intent_id) {
    return fail(ErrorKind::FailedPrecondition, "attempt " + a.id + " already has PaymentIntent " +
                                                   a.payment_intent_id + "; it is never replaced by " +
                                                   *u.payment_intent_id);
  }
  const bool moved = step.kind == pos::AttemptStep::Kind::Moved;
  if (!u.event && u.payment_method && pos::is_final(from)) {
    return fail(ErrorKind::FailedPrecondition, "attempt " + a.id + " is final; its payment details are fixed");
  }
  // A repeat of a known event changes no money: the payment method stays as it was.
  const bool money_details = moved || !u.event;
  a.state = step.to;
  if (moved && *u.event == pos::AttemptEvent::StoredOffline) a.offline = true;
  if (u.payment_method && money_details) a.payment_method = *u.payment_method;
  if (u.card) a.card = *u.card;
  if (u.payment_intent_id && a.payment_intent_id.empty()) a.payment_intent_id = *u.payment_intent_id;
  if (u.decline_code) a.decline_code = *u.decline_code;
  if (u.failure_message) a.failure_message = *u.failure_message;
  if (a.offline && !a.payment_method.empty() && !c.options.data_key) {
    return fail(ErrorKind::FailedPrecondition, std::string(detail::kNoKeyMessage));
  }
  auto pm = c.seal(a.payment_method, detail::attempt_aad(a.id));
  if (!pm) return fail(pm.error());
  auto st = c.db.prepare(
      "UPDATE payment_attempts SET state = ?, offline = ?, payment_method = ?, card_brand = ?, card_last4 = ?, "
      "card_exp = ?, card_read_method = ?, card_aid = ?, card_app_label = ?, card_auth_code = ?, card_tvr = ?, "
      "card_cvm = ?, payment_intent_id = ?, decline_code = ?, failure_message = ?, updated_at = ? WHERE id = ?");
  if (!st) return fail(st.error());
  st->bind_all(pos::to_string(a.state), a.offline);
  Connection::bind_sealed(*st, *pm);
  st->bind_all(a.card.brand, a.card.last4, a.card.exp_month_year, a.card.read_method, a.card.application_id,
               a.card.application_label, a.card.authorization_code, a.card.terminal_verification_results,
               a.card.cardholder_verification, a.payment_intent_id, a.decline_code, a.failure_message, c.now(),
               a.id);
  if (auto r = st->run("updating a payment attempt"); !r) return fail(r.error());
  if (!moved) return step;
  if (auto r = detail::audit(c, "store", "attempt.state", a.id, arrow(from, step.to, u.event)); !r) {
    return fail(r.error());
  }
  // Money already handed over is lost: a person must contact the customer (lesson 7).
  if (step.to == pos::AttemptState::DeclinedAfterForward) {
    if (auto r = detail::add_declined_after_forward(c, a.id); !r) return fail(r.error());
  }
  return step;
}

}  // namespace

Status AttemptRepository::create(const pos::PaymentAttempt& attempt) {
  return c().write(in_transaction(), [&] { return create_attempt(c(), attempt); });
}

Result<pos::AttemptStep> AttemptRepository::update(const AttemptUpdate& update) {
  return c().write_value<pos::AttemptStep>(in_transaction(), [&] { return update_attempt(c(), update); });
}

Result<pos::PaymentAttempt> AttemptRepository::get(std::string_view attempt_id) {
  return one(c(), "id = ?", attempt_id, "id " + std::string(attempt_id));
}

Result<pos::PaymentAttempt> AttemptRepository::by_idempotency_key(std::string_view key) {
  return one(c(), "idempotency_key = ?", key, "that idempotency key");
}

Result<std::optional<pos::PaymentAttempt>> AttemptRepository::by_payment_intent(std::string_view pi) {
  if (pi.empty()) return std::optional<pos::PaymentAttempt>();
  auto rows = select(c(), "payment_intent_id = ?", pi);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return std::optional<pos::PaymentAttempt>();
  return std::optional<pos::PaymentAttempt>(std::move(rows->front()));
}

Result<std::vector<pos::PaymentAttempt>> AttemptRepository::for_sale(std::string_view sale_id) {
  return select(c(), "sale_id = ? ORDER BY number", sale_id);
}

}  // namespace till::store
