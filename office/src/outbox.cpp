#include "till/office/outbox.hpp"

#include <algorithm>
#include <functional>

namespace till::office {

Status Outbox::enqueue(pg::Transaction& tx, const NewOperation& op, Timestamp now) {
  auto r = tx.exec(
      "INSERT INTO stripe_operations (kind, stripe_account, rate_bucket, register_id, subject_id, method, path, body, "
      "idempotency_key, state, next_attempt_at, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $10, $10) ON CONFLICT (idempotency_key) DO NOTHING",
      {op.kind, op.stripe_account, op.rate_bucket, op.register_id.empty() ? pg::Param() : pg::Param(op.register_id),
       op.subject_id, op.method, op.path, op.body, op.idempotency_key, pg::Param::time(now)});
  if (!r) return fail(r.error());
  return ok();
}

// One statement: the inner SELECT picks and locks due rows that no other office holds (SKIP
// LOCKED), the UPDATE leases them; an in_flight row whose lease lapsed counts as due.
Result<std::vector<Operation>> Outbox::claim(const std::string& worker, int limit, std::chrono::milliseconds lease) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  const Timestamp now = clock_.now();
  auto r = (*conn)->exec(
      "UPDATE stripe_operations o SET state = 'in_flight', locked_by = $1, locked_until = $3, "
      "attempts = o.attempts + 1, first_sent_at = coalesce(o.first_sent_at, $2), updated_at = $2 "
      "WHERE o.id IN (SELECT id FROM stripe_operations "
      "  WHERE ((state IN ('pending', 'failed_retryable') AND next_attempt_at <= $2) "
      "     OR (state = 'in_flight' AND locked_until < $2)) "
      "  ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) "
      "RETURNING o.id, o.kind, o.stripe_account, o.rate_bucket, o.register_id, o.subject_id, o.method, o.path, o.body, "
      "o.idempotency_key, o.attempts, o.first_sent_at",
      {worker, pg::Param::time(now), pg::Param::time(now + lease), limit});
  if (!r) return fail(r.error());
  std::vector<Operation> out;
  for (int i = 0; i < r->size(); ++i) {
    const auto row = (*r)[i];
    out.push_back(Operation{row.i64(0), row.text(1), row.text(2), row.text(3), row.text(4), row.text(5), row.text(6),
                            row.text(7), row.text(8), row.text(9), static_cast<int>(row.i64(10)),
                            row.optional_time(11)});
  }
  std::sort(out.begin(), out.end(), [](const Operation& a, const Operation& b) { return a.id < b.id; });
  return out;
}

Status Outbox::finish(const Operation& op, const std::string& worker, const std::string& sql, const pg::Params& params,
                      const std::function<Status(pg::Transaction&)>& apply) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  return pg::with_transaction(**conn, pg::Isolation::ReadCommitted, [&](pg::Transaction& tx) -> Status {
    auto r = tx.exec(sql, params);
    if (!r) return fail(r.error());
    if (r->affected() == 0) {
      return fail(ErrorKind::FailedPrecondition,
                  "operation " + std::to_string(op.id) + " is no longer held by " + worker + " (lease lapsed)");
    }
    if (apply) return apply(tx);
    return ok();
  });
}

Status Outbox::finish_done(const Operation& op, const std::string& worker, int http_status,
                           const std::string& response_body, const std::string& request_id, const std::string& note,
                           const std::function<Status(pg::Transaction&)>& apply) {
  return finish(op, worker,
                "UPDATE stripe_operations SET state = 'done', locked_by = NULL, locked_until = NULL, "
                "response_status = $3, response_body = $4, request_id = $5, last_error = $6, updated_at = $7 "
                "WHERE id = $1 AND locked_by = $2 AND state = 'in_flight'",
                {op.id, worker, http_status, response_body, request_id, note, pg::Param::time(clock_.now())}, apply);
}

Status Outbox::finish_retry(const Operation& op, const std::string& worker, const std::string& error,
                            Timestamp next_attempt_at) {
  return finish(op, worker,
                "UPDATE stripe_operations SET state = 'failed_retryable', locked_by = NULL, locked_until = NULL, "
                "last_error = $3, next_attempt_at = $4, updated_at = $5 "
                "WHERE id = $1 AND locked_by = $2 AND state = 'in_flight'",
                {op.id, worker, error, pg::Param::time(next_attempt_at), pg::Param::time(clock_.now())}, {});
}

Status Outbox::finish_dead(const Operation& op, const std::string& worker, const std::string& error,
                           const std::function<Status(pg::Transaction&)>& apply) {
  return finish(op, worker,
                "UPDATE stripe_operations SET state = 'dead', locked_by = NULL, locked_until = NULL, "
                "last_error = $3, updated_at = $4 WHERE id = $1 AND locked_by = $2 AND state = 'in_flight'",
                {op.id, worker, error, pg::Param::time(clock_.now())}, apply);
}

Result<OutboxCounts> Outbox::counts() {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  auto r = (*conn)->exec("SELECT state, count(*) FROM stripe_operations GROUP BY state");
  if (!r) return fail(r.error());
  OutboxCounts c;
  for (int i = 0; i < r->size(); ++i) {
    const auto state = (*r)[i].text(0);
    const auto n = (*r)[i].i64(1);
    if (state == "pending") c.pending = n;
    else if (state == "in_flight") c.in_flight = n;
    else if (state == "done") c.done = n;
    else if (state == "failed_retryable") c.failed_retryable = n;
    else if (state == "dead") c.dead = n;
  }
  return c;
}

}  // namespace till::office
