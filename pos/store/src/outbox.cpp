#include "till/store/outbox.hpp"

#include "connection.hpp"
#include "rows.hpp"
#include "tables.hpp"
#include "till/store/attempts.hpp"

namespace till::store {

using detail::Connection;
using detail::kOpColumns;
using detail::sql;
using detail::Stmt;

namespace {

Result<std::vector<pos::OutboxOperation>> select(Connection& c, std::string_view where, std::string_view what,
                                                 const auto&... args) {
  return c.query<pos::OutboxOperation>(
      sql("SELECT ", kOpColumns, " FROM outbox_operations WHERE ") + std::string(where), what,
      [&](const Stmt& st) { return detail::op_from_row(c, st, true); }, args...);
}

Result<pos::OutboxOperation> get_operation(Connection& c, std::int64_t id) {
  auto rows = select(c, "id = ?", "reading an operation", id);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return fail(ErrorKind::NotFound, "no outbox operation " + std::to_string(id));
  return std::move(rows->front());
}

// The state of an operation, without touching its (maybe sealed) body.
Result<pos::OutboxState> state_of(Connection& c, std::int64_t id) {
  auto rows = c.query<pos::OutboxState>(
      "SELECT state FROM outbox_operations WHERE id = ?", "reading an operation",
      [](const Stmt& st) -> Result<pos::OutboxState> {
        auto s = pos::parse_outbox_state(st.text(0));
        if (!s) return fail(detail::data_loss("operation has an unknown state '" + st.text(0) + "'"));
        return *s;
      },
      id);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return fail(ErrorKind::NotFound, "no outbox operation " + std::to_string(id));
  return rows->front();
}

Result<std::int64_t> enqueue_operation(Connection& c, const pos::OutboxOperation& op) {
  if (op.sale_id.empty() || op.account_id.empty() || op.idempotency_key.empty() || op.path.empty()) {
    return fail(ErrorKind::InvalidArgument, "an outbox operation needs a sale, an account, a path and its key");
  }
  if (op.state != pos::OutboxState::Pending) {
    return fail(ErrorKind::InvalidArgument, "an operation is enqueued pending");
  }
  if (!op.attempt_id.empty()) {
    auto a = AttemptRepository(c, c.in_write).get(op.attempt_id);
    if (!a) return fail(a.error());
    // Connect safety: an attempt's payment is only ever forwarded to the account it was taken for.
    if (a->account_id != op.account_id) {
      return fail(ErrorKind::FailedPrecondition,
                  "operation account " + op.account_id + " differs from attempt " + a->id + "'s account " +
                      a->account_id + "; payments never move between accounts");
    }
    if (a->offline && !c.options.data_key) {
      return fail(ErrorKind::FailedPrecondition, std::string(detail::kNoKeyMessage));
    }
    if (op.kind == pos::OperationKind::Refund) {
      if (auto r = detail::check_refund(c, *a, op); !r) return fail(r.error());
    }
  } else if (op.kind == pos::OperationKind::Refund) {
    return fail(ErrorKind::InvalidArgument, "a refund names the payment attempt it refunds");
  }
  auto dup = c.query<std::int64_t>(
      "SELECT id FROM outbox_operations WHERE idempotency_key = ?", "checking an idempotency key",
      [](const Stmt& st) -> Result<std::int64_t> { return st.i64(0); }, op.idempotency_key);
  if (!dup) return fail(dup.error());
  if (!dup->empty()) {
    return fail(ErrorKind::FailedPrecondition,
                "idempotency key already belongs to outbox operation " + std::to_string(dup->front()));
  }
  auto body = c.seal(op.body, detail::op_aad(op.idempotency_key));
  if (!body) return fail(body.error());
  const Timestamp t = c.now();
  auto st = c.db.prepare(
      "INSERT INTO outbox_operations (kind, sale_id, attempt_id, account_id, method, path, body, idempotency_key, "
      "state, attempts, next_attempt_at, first_sent_at, last_error, last_request_id, stripe_object_id, created_at, "
      "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, NULL, '', '', ?, ?, ?)");
  if (!st) return fail(st.error());
  st->bind_all(pos::to_string(op.kind), op.sale_id);
  if (op.attempt_id.empty()) {
    st->bind(std::nullopt);
  } else {
    st->bind(op.attempt_id);
  }
  st->bind_all(op.account_id, op.method, op.path);
  Connection::bind_sealed(*st, *body);
  st->bind_all(op.idempotency_key, pos::to_string(pos::OutboxState::Pending),
               op.next_attempt_at == Timestamp{} ? t : op.next_attempt_at, op.stripe_object_id,
               op.created_at == Timestamp{} ? t : op.created_at, t);
  if (auto r = st->run("enqueueing an operation"); !r) return fail(r.error());
  return c.db.last_insert_rowid();
}

// Every state change of an operation: checked by pos::transition(), then `set_sql` with the
// values `bind_extra` binds.
Status move_operation(Connection& c, std::int64_t id, pos::OutboxState to, std::string_view set_sql,
                      const std::function<void(Stmt&)>& bind_extra) {
  auto from = state_of(c, id);
  if (!from) return fail(from.error());
  if (auto tr = pos::transition(*from, to); !tr) {
    return fail(ErrorKind::FailedPrecondition, "operation " + std::to_string(id) + ": " + tr.error().message);
  }
  auto st = c.db.prepare(std::string("UPDATE outbox_operations SET state = ?, updated_at = ?") +
                         std::string(set_sql) + " WHERE id = ?");
  if (!st) return fail(st.error());
  st->bind_all(pos::to_string(to), c.now());
  bind_extra(*st);
  st->bind(id);
  return st->run("updating an operation");
}

Result<std::vector<pos::OutboxOperation>> claim_due(Connection& c, Timestamp at, int limit) {
  auto ids = c.query<std::int64_t>(
      "SELECT id FROM outbox_operations WHERE state IN ('pending', 'failed_retryable') AND next_attempt_at <= ? "
      "ORDER BY next_attempt_at, id LIMIT ?",
      "finding due operations", [](const Stmt& st) -> Result<std::int64_t> { return st.i64(0); }, at,
      static_cast<std::int64_t>(limit));
  if (!ids) return fail(ids.error());
  std::vector<pos::OutboxOperation> out;
  for (std::int64_t id : *ids) {
    auto r = move_operation(c, id, pos::OutboxState::InFlight,
                            ", attempts = attempts + 1, first_sent_at = COALESCE(first_sent_at, ?)",
                            [&](Stmt& st) { st.bind(at); });
    if (!r) return fail(r.error());
    auto op = get_operation(c, id);
    if (!op) return fail(op.error());
    out.push_back(std::move(*op));
  }
  return out;
}

Result<int> recover(Connection& c) {
  const Timestamp at = c.now();
  if (auto r = c.run("UPDATE outbox_operations SET state = 'pending', next_attempt_at = ?, updated_at = ? "
                     "WHERE state = 'in_flight'",
                     "recovering in-flight operations", at, at);
      !r) {
    return fail(r.error());
  }
  const int n = static_cast<int>(c.db.changes());
  if (n > 0) {
    if (auto r = detail::audit(c, "store", "operation.recover_in_flight", "", std::to_string(n) + " back to pending");
        !r) {
      return fail(r.error());
    }
  }
  return n;
}

}  // namespace

Result<std::vector<pos::OutboxOperation>> detail::refund_operations(Connection& c, std::string_view sale_id) {
  return select(c, "sale_id = ? AND kind = 'refund' ORDER BY id", "reading a sale's refunds", sale_id);
}

Result<std::int64_t> OutboxRepository::enqueue(const pos::OutboxOperation& op) {
  return c().write_value<std::int64_t>(in_transaction(), [&] { return enqueue_operation(c(), op); });
}

Result<std::vector<pos::OutboxOperation>> OutboxRepository::claim_due(Timestamp now, int limit) {
  if (limit <= 0) return std::vector<pos::OutboxOperation>{};
  return c().write_value<std::vector<pos::OutboxOperation>>(in_transaction(),
                                                            [&] { return store::claim_due(c(), now, limit); });
}

Status OutboxRepository::complete(std::int64_t id, const OperationOutcome& o) {
  return c().write(in_transaction(), [&]() -> Status {
    auto from = state_of(c(), id);
    if (!from) return fail(from.error());
    auto r = move_operation(c(), id, pos::OutboxState::Done, ", last_request_id = ?, stripe_object_id = ?",
                            [&](Stmt& st) { st.bind_all(o.request_id, o.stripe_object_id); });
    if (!r || *from != pos::OutboxState::Dead) return r;
    return detail::audit(c(), "store", "operation.done_after_dead", std::to_string(id), o.stripe_object_id);
  });
}

Status OutboxRepository::mark_failed(std::int64_t id, const OperationFailure& f) {
  return c().write(in_transaction(), [&] {
    return move_operation(c(), id, pos::OutboxState::FailedRetryable,
                          ", last_error = ?, last_request_id = ?, next_attempt_at = ?",
                          [&](Stmt& st) { st.bind_all(f.error, f.request_id, f.next_attempt_at); });
  });
}

Status OutboxRepository::mark_dead(std::int64_t id, const OperationFailure& f) {
  return c().write(in_transaction(), [&]() -> Status {
    auto r = move_operation(c(), id, pos::OutboxState::Dead, ", last_error = ?, last_request_id = ?",
                            [&](Stmt& st) { st.bind_all(f.error, f.request_id); });
    if (!r) return r;
    return detail::audit(c(), "store", "operation.dead", std::to_string(id), f.error);
  });
}

Status OutboxRepository::retry(std::int64_t id, std::string_view actor, std::string_view reason) {
  return c().write(in_transaction(), [&]() -> Status {
    auto r = move_operation(c(), id, pos::OutboxState::Pending, ", next_attempt_at = ?",
                            [&](Stmt& st) { st.bind(c().now()); });
    if (!r) return r;
    return detail::audit(c(), actor, "operation.retry", std::to_string(id), reason);
  });
}

Result<int> OutboxRepository::recover_in_flight() {
  return c().write_value<int>(in_transaction(), [&] { return recover(c()); });
}

Result<bool> OutboxRepository::release(std::int64_t id) {
  return c().write_value<bool>(in_transaction(), [&]() -> Result<bool> {
    auto from = state_of(c(), id);
    if (!from) return fail(from.error());
    if (*from != pos::OutboxState::InFlight) return false;
    if (auto r = move_operation(c(), id, pos::OutboxState::Pending, ", next_attempt_at = ?",
                                [&](Stmt& st) { st.bind(c().now()); });
        !r) {
      return fail(r.error());
    }
    return true;
  });
}

Result<pos::OutboxOperation> OutboxRepository::get(std::int64_t id) { return get_operation(c(), id); }

Result<std::vector<pos::OutboxOperation>> OutboxRepository::for_sale(std::string_view sale_id) {
  return select(c(), "sale_id = ? ORDER BY id", "reading a sale's operations", sale_id);
}

}  // namespace till::store
