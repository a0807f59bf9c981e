#pragma once
// The office's outbox of Stripe operations (table stripe_operations). An operation's request
// (method, path, form body, idempotency key, Stripe-Account) is fixed when it is written, in
// the same transaction as the fact that caused it, and sent identically on every attempt.
//
// States: pending -> in_flight -> done | failed_retryable (backoff, then in_flight again) |
// dead (a person must look). Several office processes share the table: claim() takes due
// rows with FOR UPDATE SKIP LOCKED and leases them to one worker until locked_until; a row
// whose lease lapsed (its office died mid-call) is claimed again, and resending it with the
// same idempotency key is safe. finish_*() only act on rows the worker still holds, so a
// worker whose lease was taken over cannot overwrite the new holder's result.
//
// Threading: thread-safe (a connection per call).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/office/pg.hpp"

namespace till::office {

struct NewOperation {
  std::string kind;  // create_payment_intent | process_payment_intent | capture | cancel | refund | retrieve
  std::string stripe_account;
  std::string rate_bucket = "platform";
  std::string register_id;
  std::string subject_id;  // the payment or refund id it is for
  std::string method = "POST";
  std::string path;
  std::string body;  // form-encoded
  std::string idempotency_key;
};

struct Operation {
  std::int64_t id = 0;
  std::string kind;
  std::string stripe_account;
  std::string rate_bucket;
  std::string register_id;
  std::string subject_id;
  std::string method;
  std::string path;
  std::string body;
  std::string idempotency_key;
  int attempts = 0;  // including the one this claim starts
  std::optional<Timestamp> first_sent_at;
};

struct OutboxCounts {
  std::int64_t pending = 0, in_flight = 0, done = 0, failed_retryable = 0, dead = 0;
};

class Outbox {
 public:
  Outbox(pg::Pool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  // Writes an operation inside the caller's transaction. A second operation with the same
  // idempotency key is a no-op (the first stands), so re-ingesting a fact never doubles it.
  static Status enqueue(pg::Transaction& tx, const NewOperation& op, Timestamp now);

  // Leases up to `limit` due operations to `worker` for `lease`, oldest due first.
  Result<std::vector<Operation>> claim(const std::string& worker, int limit, std::chrono::milliseconds lease);

  // Stripe answered and the operation is finished (2xx, or a final refusal such as a decline).
  // `apply` runs in the same transaction to record the result where it belongs (payments,
  // refunds). FailedPrecondition when the worker no longer holds the row.
  Status finish_done(const Operation& op, const std::string& worker, int http_status, const std::string& response_body,
                     const std::string& request_id, const std::string& note,
                     const std::function<Status(pg::Transaction&)>& apply = {});
  // Try again at `next_attempt_at` (same key).
  Status finish_retry(const Operation& op, const std::string& worker, const std::string& error,
                      Timestamp next_attempt_at);
  // Give up: a person must look.
  Status finish_dead(const Operation& op, const std::string& worker, const std::string& error,
                     const std::function<Status(pg::Transaction&)>& apply = {});

  Result<OutboxCounts> counts();

 private:
  Status finish(const Operation& op, const std::string& worker, const std::string& sql, const pg::Params& params,
                const std::function<Status(pg::Transaction&)>& apply);
  pg::Pool& pool_;
  const Clock& clock_;
};

}  // namespace till::office
