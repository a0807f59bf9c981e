#pragma once
// The outbox (table outbox_operations): the keyed Stripe requests the sync engine drains, with
// the exact form body (sealed when a data key is configured) and the connected account of the
// payment. State changes go through pos::transition(); dead and retried operations are audited
// in the same transaction. See repository.hpp for how writes commit.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/pos/records.hpp"
#include "till/store/repository.hpp"

namespace till::store {

struct OperationOutcome {
  std::string request_id;        // Stripe's Request-Id of the call that decided it
  std::string stripe_object_id;  // pi_..., re_..., empty when none
};

struct OperationFailure {
  std::string error;            // Error::describe(); never a secret
  std::string request_id;       // may be empty (no response)
  Timestamp next_attempt_at{};  // mark_failed only: when it is due again
};

class OutboxRepository : public Repository {
 public:
  using Repository::Repository;

  // Returns the new operation id. The operation's account must equal its attempt's. A refund must
  // name an approved card attempt and may not exceed what is left of it after every earlier
  // refund operation (done or not): FailedPrecondition otherwise (see ReportQueries::sale_for_refund).
  Result<std::int64_t> enqueue(const pos::OutboxOperation& op);
  // pending / failed_retryable operations due at `now` (oldest due first) -> in_flight, attempts
  // incremented, first_sent_at set on the first claim. Bodies are returned decrypted.
  Result<std::vector<pos::OutboxOperation>> claim_due(Timestamp now, int limit);
  // -> done (from in_flight, or from dead when a person resolved it).
  Status complete(std::int64_t id, const OperationOutcome& outcome);
  // in_flight -> failed_retryable, due again at failure.next_attempt_at.
  Status mark_failed(std::int64_t id, const OperationFailure& failure);
  // -> dead: needs a person. Never blocks other operations.
  Status mark_dead(std::int64_t id, const OperationFailure& failure);
  // dead -> pending with the same key, due now; audited with the actor and reason.
  Status retry(std::int64_t id, std::string_view actor, std::string_view reason);
  // in_flight -> pending (same key, due now). Returns how many. Done at open by default.
  Result<int> recover_in_flight();
  // One claimed operation the caller did not start: in_flight -> pending (same key, due now);
  // false (nothing changed) when it is not in_flight. NotFound without the operation.
  Result<bool> release(std::int64_t id);

  // Bodies decrypted: FailedPrecondition when sealed and no data key is configured.
  Result<pos::OutboxOperation> get(std::int64_t id);
  Result<std::vector<pos::OutboxOperation>> for_sale(std::string_view sale_id);
};

}  // namespace till::store
