#include "till/store/reports.hpp"

#include "connection.hpp"
#include "rows.hpp"
#include "tables.hpp"
#include "till/store/journal.hpp"
#include "till/store/sales.hpp"

namespace till::store {

using detail::Connection;
using detail::kAttemptColumns;
using detail::kOpColumns;
using detail::sql;
using detail::Stmt;

namespace {

using Count = std::pair<std::string, std::int64_t>;

template <class State, class Parse>
Status count_by_state(Connection& c, std::string_view table, std::string_view what,
                      std::map<State, std::int64_t>& into, Parse parse) {
  auto rows = c.query<Count>(sql("SELECT state, COUNT(*) FROM ", table, " GROUP BY state"), what,
                             [](const Stmt& st) -> Result<Count> { return Count{st.text(0), st.i64(1)}; });
  if (!rows) return fail(rows.error());
  for (const auto& [name, n] : *rows) {
    if (auto st = parse(name)) into[*st] = n;
  }
  return ok();
}

}  // namespace

Result<StatusSnapshot> ReportQueries::status() {
  Connection& db = c();
  StatusSnapshot s;
  for (auto st : {pos::OutboxState::Pending, pos::OutboxState::InFlight, pos::OutboxState::Done,
                  pos::OutboxState::FailedRetryable, pos::OutboxState::Dead}) {
    s.operations[st] = 0;
  }
  for (auto st : {pos::AttemptState::Collecting, pos::AttemptState::StoredOffline, pos::AttemptState::Submitting,
                  pos::AttemptState::InDoubt, pos::AttemptState::Approved, pos::AttemptState::Declined,
                  pos::AttemptState::DeclinedAfterForward, pos::AttemptState::Canceled}) {
    s.attempts[st] = 0;
  }
  if (auto r = count_by_state(db, "outbox_operations", "counting operations", s.operations, pos::parse_outbox_state); !r) return fail(r.error());
  if (auto r = count_by_state(db, "payment_attempts", "counting attempts", s.attempts, pos::parse_attempt_state); !r) return fail(r.error());
  auto oldest = db.query<std::optional<Timestamp>>(
      "SELECT MIN(created_at) FROM outbox_operations WHERE state IN ('pending', 'failed_retryable', 'in_flight')",
      "finding the oldest unsent operation",
      [](const Stmt& st) -> Result<std::optional<Timestamp>> { return st.opt_time(0); });
  if (!oldest) return fail(oldest.error());
  if (!oldest->empty() && oldest->front()) {
    s.oldest_unsent_created_at = oldest->front();
    s.oldest_unsent_age = db.now() - *oldest->front();
  }
  // Taken offline and not yet answered by Stripe: still stored, or being forwarded (the engine
  // marks the attempt submitting before it sends; a send that fails leaves it there), or in doubt.
  // All of it is exposure under the offline risk caps until Stripe's answer is recorded.
  auto offline = db.query<CurrencyTotal>(
      "SELECT currency, COUNT(*), SUM(amount), MIN(created_at) FROM payment_attempts WHERE offline = 1 "
      "AND state IN ('stored_offline', 'submitting', 'in_doubt') GROUP BY currency ORDER BY currency",
      "totalling offline payments", [](const Stmt& st) -> Result<CurrencyTotal> {
        return CurrencyTotal{st.text(0), st.i64(1), st.i64(2), st.time(3)};
      });
  if (!offline) return fail(offline.error());
  s.offline_stored = std::move(*offline);
  auto doubt = db.query<pos::PaymentAttempt>(
      sql("SELECT ", kAttemptColumns, " FROM payment_attempts WHERE state = 'in_doubt' ORDER BY created_at"),
      "listing in-doubt attempts", [&](const Stmt& st) { return detail::attempt_from_row(db, st, false); });
  if (!doubt) return fail(doubt.error());
  s.in_doubt = std::move(*doubt);
  auto dead = db.query<pos::OutboxOperation>(
      sql("SELECT ", kOpColumns, " FROM outbox_operations WHERE state = 'dead' ORDER BY id"),
      "listing dead operations", [&](const Stmt& st) { return detail::op_from_row(db, st, false); });
  if (!dead) return fail(dead.error());
  s.dead = std::move(*dead);
  auto attention = JournalRepository(db, false).attention(false);
  if (!attention) return fail(attention.error());
  s.attention = std::move(*attention);
  return s;
}

Result<std::string> ReportQueries::sale_id_for_receipt_number(std::string_view receipt_number) {
  std::string_view q = receipt_number;
  while (!q.empty() && (q.front() == ' ' || q.front() == '\t')) q.remove_prefix(1);
  while (!q.empty() && (q.back() == ' ' || q.back() == '\t' || q.back() == '\n' || q.back() == '\r')) {
    q.remove_suffix(1);
  }
  if (q.empty()) return fail(ErrorKind::InvalidArgument, "no receipt number given");
  std::string lower(q);
  for (auto& ch : lower) ch = static_cast<char>((ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch);
  const auto one_id = [](const Stmt& st) -> Result<std::string> { return st.text(0); };
  for (const std::string& exact : {std::string(q), lower}) {
    auto rows = c().query<std::string>("SELECT id FROM sales WHERE id = ?", "finding a sale by receipt number",
                                       one_id, exact);
    if (!rows) return fail(rows.error());
    if (!rows->empty()) return rows->front();
  }
  if (lower.size() < 8) {
    return fail(ErrorKind::InvalidArgument,
                "receipt number '" + std::string(q) + "' is too short: type at least its first 8 characters");
  }
  // A prefix: the primary key's index answers the range [prefix, prefix + 1).
  std::string upper = lower;
  if (static_cast<unsigned char>(upper.back()) == 0xFF) {
    return fail(ErrorKind::InvalidArgument, "receipt number '" + std::string(q) + "' is not printable text");
  }
  upper.back() = static_cast<char>(upper.back() + 1);
  auto rows = c().query<std::string>("SELECT id FROM sales WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                                     "finding a sale by receipt number", one_id, lower, upper);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return fail(ErrorKind::NotFound, "no sale with receipt number '" + std::string(q) + "'");
  if (rows->size() > 1) {
    return fail(ErrorKind::FailedPrecondition,
                "receipt number '" + std::string(q) + "' matches more than one sale: type more of it");
  }
  return rows->front();
}

Result<SaleRefunds> ReportQueries::sale_for_refund(std::string_view sale_id_or_receipt_number) {
  Connection& db = c();
  auto id = sale_id_for_receipt_number(sale_id_or_receipt_number);
  if (!id) return fail(id.error());
  auto sale = SaleRepository(db, false).get(*id);
  if (!sale) return fail(sale.error());
  auto attempts = db.query<pos::PaymentAttempt>(
      sql("SELECT ", kAttemptColumns, " FROM payment_attempts WHERE sale_id = ? ORDER BY number"),
      "reading a sale's attempts", [&](const Stmt& st) { return detail::attempt_from_row(db, st, false); }, *id);
  if (!attempts) return fail(attempts.error());
  auto refunds = detail::refund_operations(db, *id);
  if (!refunds) return fail(refunds.error());
  SaleRefunds out;
  out.sale = std::move(*sale);
  for (const auto& a : *attempts) {
    PaymentRefunds p = detail::refunds_of(a, *refunds);
    out.captured += p.captured;
    out.refunded += p.refunded;
    out.refund_pending += p.refund_pending;
    out.refundable += p.refundable();
    out.payments.push_back(std::move(p));
  }
  for (auto& o : *refunds) o.body.clear();  // the amounts are above; bodies stay in the store
  out.refunds = std::move(*refunds);
  return out;
}

}  // namespace till::store
