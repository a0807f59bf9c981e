#pragma once
// Internal: what one table family's repository asks of another inside the same transaction.
// Each function lives with the family whose table it touches (named after each declaration).

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "connection.hpp"
#include "till/pos/records.hpp"
#include "till/store/reports.hpp"

namespace till::store::detail {

// ---- sales.cpp
Result<bool> sale_exists(Connection& c, std::string_view sale_id);

// ---- journal.cpp
// One audit entry at the connection's clock.
Status audit(Connection& c, std::string_view actor, std::string_view action, std::string_view subject,
             std::string_view text);
// Puts an attempt that became declined_after_forward on the attention list, with the customer
// contact taken at sale time (once per attempt and reason).
Status add_declined_after_forward(Connection& c, std::string_view attempt_id);

// ---- outbox.cpp
// Every refund operation of the sale, oldest first, bodies decrypted (for the amounts).
Result<std::vector<pos::OutboxOperation>> refund_operations(Connection& c, std::string_view sale_id);

// ---- refunds.cpp: the refund arithmetic, shared by the outbox's check and the refund look-up.
// The amount a refund body asks for: `present` false for a full refund (no amount field);
// `value` empty when the field does not parse as a positive integer.
struct AskedAmount {
  bool present = false;
  std::optional<std::int64_t> value;
};
AskedAmount refund_amount(std::string_view body);
// What is captured and refunded for one attempt, given the sale's refund operations.
PaymentRefunds refunds_of(const pos::PaymentAttempt& a, const std::vector<pos::OutboxOperation>& refunds);
// The refund limit, enforced whoever enqueues: an approved card attempt, at most what is left.
Status check_refund(Connection& c, const pos::PaymentAttempt& a, const pos::OutboxOperation& op);

}  // namespace till::store::detail
