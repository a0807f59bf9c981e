#pragma once
// Shared by the engine and the webhook handler (internal): what Stripe's view of a
// PaymentIntent means for a payment attempt (an AttemptEvent), and how to record it. What an
// event does to the attempt's state is pos::next_state's alone (pos/attempt.hpp): the plan asks it
// only to know the follow-ups (the sale paid, a capture); the Ledger applies the event itself.
// Planning reads the Ledger; add_to() puts the plan into the caller's LedgerChange, so the
// attempt, the sale, a follow-up capture and the caller's own bookkeeping (completing the
// operation, recording the webhook event) commit together or not at all.
//
// Core thread only (uses the Ledger).

#include <optional>
#include <string>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/pos/records.hpp"
#include "till/sync/ledger.hpp"
#include "till/sync/stripe_types.hpp"

namespace till::sync::detail {

struct Verdict {
  enum class Kind {
    Approved,    // succeeded
    Authorized,  // requires_capture: approved, capture pending
    Declined,    // requires_payment_method with last_payment_error
    Canceled,
    Created,     // created without confirm (server-driven flow): awaiting processing
    Unknown,     // processing / requires_action / a status Till does not know: still in doubt
  };
  Kind kind = Kind::Unknown;
  std::string decline_code;
  std::string message;
};
std::string_view to_string(Verdict::Kind k) noexcept;

Verdict verdict_for(const PaymentIntent& pi, bool confirm_requested);

// The event for a verdict (Created: Submitted, or Forwarded for a stored payment).
pos::AttemptEvent event_for(Verdict::Kind kind, const pos::PaymentAttempt& current);

struct AttemptTarget {
  pos::AttemptEvent event = pos::AttemptEvent::NoAnswer;  // what Stripe's answer (or its absence) says
  std::string payment_intent_id;
  std::string decline_code;
  std::string failure_message;
  bool needs_capture = false;          // authorized with manual capture
  std::int64_t capturable = 0;
};

struct FollowUps {
  bool auto_capture = true;
  std::chrono::milliseconds capture_delay{0};
};

struct AttemptPlan {
  std::string attempt_id;
  std::optional<AttemptChange> update;  // the event and its details; none when nothing changes
  pos::AttemptState final_state = pos::AttemptState::InDoubt;  // what next_state says the attempt becomes
  std::optional<std::string> sale_to_paid;    // mark this sale paid
  std::optional<pos::OutboxOperation> capture;  // enqueue this capture
  bool refused_regression = false;  // next_state refused the event (e.g. a decline after an approval): ignored
  bool conflicting_payment_intent = false;  // the attempt already has another PaymentIntent id
  std::string note;
};

// Reads the sale, its attempts and operations as needed. Fails only on ledger errors.
Result<AttemptPlan> plan_attempt(Ledger& ledger, const pos::PaymentAttempt& current, const AttemptTarget& target,
                                 const FollowUps& follow, Timestamp now);
// The plan's writes (attempt event, sale paid, capture) added to `change`.
void add_to(LedgerChange& change, const AttemptPlan& plan);

// The attempt a PaymentIntent belongs to: by its id, else by metadata[sale_id] + metadata[attempt]
// (number). nullopt when neither matches.
Result<std::optional<pos::PaymentAttempt>> find_attempt_for(Ledger& ledger, const PaymentIntent& pi);

}  // namespace till::sync::detail
