#pragma once
// The three state machines of architecture.md. The names (to_string) are the contract: they are
// what the store writes, what till-sync prints and what the kiosk shows. Illegal transitions are
// rejected with FailedPrecondition, never silently applied.

#include <optional>
#include <string_view>

#include "till/base/result.hpp"

namespace till::pos {

enum class SaleState {
  Open,           // items being rung up; nothing durable yet except the cart
  Tendering,      // persisted; payment being collected (one or more tenders)
  Paid,           // tenders cover the total (refunds are recorded against a paid sale)
  PartiallyPaid,  // some tenders succeeded, the rest abandoned; the balance is owed
  Voided,         // cancelled before anything was paid; kept forever, never deleted
};

enum class AttemptState {
  Collecting,            // the reader is collecting a card; the attempt row and key exist
  StoredOffline,         // card read, authorization deferred (store and forward)
  Submitting,            // the operation has been (or is being) sent to Stripe
  InDoubt,               // the answer never came: reconcile with the same key or a lookup
  Approved,              // Stripe said succeeded (or requires_capture for manual capture)
  Declined,              // Stripe or the reader declined; final for this attempt
  DeclinedAfterForward,  // an offline-stored payment declined when forwarded: money lost, attention
  Canceled,              // cancelled before authorization (cashier, customer, or timeout)
};

enum class OutboxState {
  Pending,         // waiting to be sent (due at next_attempt_at)
  InFlight,        // claimed by the engine and being sent
  Done,            // Stripe's final answer is recorded
  FailedRetryable, // failed transiently; backing off until next_attempt_at
  Dead,            // needs a person: non-retryable error or too many attempts
};

std::string_view to_string(SaleState s) noexcept;
std::string_view to_string(AttemptState s) noexcept;
std::string_view to_string(OutboxState s) noexcept;

std::optional<SaleState> parse_sale_state(std::string_view s) noexcept;
std::optional<AttemptState> parse_attempt_state(std::string_view s) noexcept;
std::optional<OutboxState> parse_outbox_state(std::string_view s) noexcept;

bool can_transition(SaleState from, SaleState to) noexcept;
bool can_transition(AttemptState from, AttemptState to) noexcept;
bool can_transition(OutboxState from, OutboxState to) noexcept;

// Ok(to) when allowed, FailedPrecondition naming both states otherwise.
Result<SaleState> transition(SaleState from, SaleState to);
Result<AttemptState> transition(AttemptState from, AttemptState to);
Result<OutboxState> transition(OutboxState from, OutboxState to);

bool is_final(AttemptState s) noexcept;  // approved, declined, declined_after_forward, canceled
bool is_final(SaleState s) noexcept;     // paid, partially_paid, voided

}  // namespace till::pos
