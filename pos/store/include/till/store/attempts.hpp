#pragma once
// Payment attempts (table payment_attempts): one try at taking money for a sale, with its
// idempotency key and connected account fixed at creation, before anything is sent. An attempt
// is never deleted (a trigger refuses it). See repository.hpp for how writes commit.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/result.hpp"
#include "till/pos/attempt.hpp"
#include "till/pos/records.hpp"
#include "till/pos/states.hpp"
#include "till/store/repository.hpp"

namespace till::store {

// What happened to an attempt, and the details that came with it. The state is never given:
// the repository reads the current state and offline flag in the same transaction and asks
// pos::next_state(state, offline, *event) (pos/attempt.hpp) what the event means:
//   Moved      the new state and the details are written, audited ("attempt.state"); a move to
//              declined_after_forward also puts the payment on the attention list;
//   Unchanged  (a repeat or a late echo) only details that do not change money are written: card
//              fields, messages, a PaymentIntent id the attempt did not have yet; the payment
//              method is left as it is;
//   Refused    nothing is written: FailedPrecondition "refused transition: <why>", logged as the
//              error "store.attempt.refused".
// Without an event the update carries details only (the state stays; the payment method of a
// final attempt is fixed). A PaymentIntent id never replaces a different one (FailedPrecondition).
// `StoredOffline` also sets the attempt's offline flag. The account and the idempotency key never
// change.
struct AttemptUpdate {
  std::string attempt_id{};
  std::optional<pos::AttemptEvent> event{};     // what happened; absent = details only
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
  // Applies the update's event (see AttemptUpdate) and returns what the state machine answered:
  // Moved or Unchanged, with the state the attempt is now in. NotFound without the attempt.
  // This is the only code that writes the state column of payment_attempts (a test greps for it).
  Result<pos::AttemptStep> update(const AttemptUpdate& update);

  // Tokens decrypted: FailedPrecondition when sealed and no data key is configured.
  Result<pos::PaymentAttempt> get(std::string_view attempt_id);
  Result<pos::PaymentAttempt> by_idempotency_key(std::string_view key);
  // nullopt when no attempt has that PaymentIntent (or `payment_intent_id` is empty).
  Result<std::optional<pos::PaymentAttempt>> by_payment_intent(std::string_view payment_intent_id);
  // In attempt-number order.
  Result<std::vector<pos::PaymentAttempt>> for_sale(std::string_view sale_id);
};

}  // namespace till::store
