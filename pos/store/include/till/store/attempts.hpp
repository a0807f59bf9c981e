#pragma once
// Payment attempts (table payment_attempts): one try at taking money for a sale, with its
// idempotency key and connected account fixed at creation, before anything is sent. An attempt
// is never deleted (a trigger refuses it). See repository.hpp for how writes commit.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/result.hpp"
#include "till/pos/records.hpp"
#include "till/pos/states.hpp"
#include "till/store/repository.hpp"

namespace till::store {

// Changes to an attempt. `state` may equal the current state (details only); otherwise the
// change goes through pos::transition(). The account and the idempotency key never change.
struct AttemptUpdate {
  std::string attempt_id{};
  pos::AttemptState state = pos::AttemptState::Collecting;
  std::optional<bool> offline{};
  std::optional<std::string> payment_method{};  // sealed at rest when a data key is configured
  std::optional<pos::CardDetails> card{};
  std::optional<std::string> payment_intent_id{};
  std::optional<std::string> decline_code{};
  std::optional<std::string> failure_message{};
};

class AttemptRepository : public Repository {
 public:
  using Repository::Repository;

  // A card attempt needs its idempotency key and connected account (InvalidArgument otherwise);
  // FailedPrecondition if the key or (sale, number) already exists, or for an offline token
  // without a data key; NotFound without the sale.
  Status create(const pos::PaymentAttempt& attempt);
  // A move to declined_after_forward also puts the payment on the attention list.
  Status update(const AttemptUpdate& update);

  // Tokens decrypted: FailedPrecondition when sealed and no data key is configured.
  Result<pos::PaymentAttempt> get(std::string_view attempt_id);
  Result<pos::PaymentAttempt> by_idempotency_key(std::string_view key);
  // nullopt when no attempt has that PaymentIntent (or `payment_intent_id` is empty).
  Result<std::optional<pos::PaymentAttempt>> by_payment_intent(std::string_view payment_intent_id);
  // In attempt-number order.
  Result<std::vector<pos::PaymentAttempt>> for_sale(std::string_view sale_id);
};

}  // namespace till::store
