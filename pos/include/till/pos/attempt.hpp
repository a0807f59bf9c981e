#pragma once
// EVERYTHING THAT CAN HAPPEN TO A PAYMENT ATTEMPT, in one place.
//
// A payment attempt is one try at taking money for a sale: one card on the reader (with its own
// idempotency key) or one cash tender. Its state has exactly one owner: this state machine.
// Nobody assigns an AttemptState; every module (the checkout reducer, the store's attempt
// repository, the sync engine, the webhook handler, the smart-reader chain) describes what
// HAPPENED as an AttemptEvent and asks `next_state` what that means. The store's attempt
// repository is the only code that writes the state column, and it writes only what
// `next_state` answered (tests/store checks the first half with a grep, tests/pos the table).
//
// The table (kAttemptTransitions, attempt.cpp) is the documentation:
//
//   from \ event     Submitted  StoredOffline OfflineRefused Canceled ReaderFailed ReaderDeclined
//   collecting       submitting stored_offline canceled      canceled canceled     declined
//
//   from \ event     Forwarded  NoAnswer  StripeApproved StripeDeclined        StripeCanceled NotCharged
//   collecting       -          in_doubt  approved       declined              canceled       canceled
//   stored_offline   submitting in_doubt  approved       declined_after_fwd    canceled       -
//   submitting       -          in_doubt  approved       declined(_after_fwd)  canceled       canceled
//   in_doubt         -          (same)    approved       declined(_after_fwd)  canceled       canceled
//   approved         -          -         (same)         REFUSED               canceled       -
//
// Rules the table encodes (and tests/pos/attempt_test.cpp proves for every pair):
//  - An unknown outcome (NoAnswer: timeout, lost connection, 5xx, 409 that outlasts the retries,
//    a reader that dropped after the card was read) leads to in_doubt and nowhere else. No
//    event that means "we do not know" reaches a declined state, and the words for in_doubt
//    never say declined.
//  - Only Stripe's answer (StripeApproved / StripeDeclined / StripeCanceled), or proof that no
//    request ever left (NotCharged), ends in_doubt. in_doubt never becomes "given up".
//  - A decline of a payment that was taken offline is declined_after_forward (the merchant
//    carried the risk and lost the money: the attention list).
//  - Final states never move backwards. The one exception is approved -> canceled: a manual
//    capture authorization voided at Stripe.
//  - A repeat of what is already known (approved twice, no answer twice) is Unchanged, not an
//    error: webhooks and polls arrive more than once and out of order.
//  - Anything else is Refused with a reason: the caller logs it as an error and applies nothing.
//
// Pure; any thread.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/pos/states.hpp"

namespace till::pos {

enum class AttemptEvent {
  // ---- at the counter (reader and reducer) ----
  Submitted,       // the card was read online and its request is going to Stripe now
  StoredOffline,   // the card was read offline and the risk policy allowed store and forward
  OfflineRefused,  // the card was read offline and the risk policy refused it: nothing authorized
  Canceled,        // the cashier or customer cancelled before a card was read
  ReaderFailed,    // the reader failed before a card was read (timeout, card removed, busy)
  ReaderDeclined,  // the reader itself declined the card before anything reached Stripe
  // ---- on the way to Stripe (sync engine, smart-reader chain, office) ----
  Forwarded,       // a stored offline payment is being sent to Stripe now
  NoAnswer,        // the answer never came, or came without a verdict: the money may have moved
  // ---- Stripe's verdict (response, webhook, or lookup) ----
  StripeApproved,  // succeeded, or requires_capture (manual capture)
  StripeDeclined,  // the PaymentIntent's confirmation failed (card_error / last_payment_error)
  StripeCanceled,  // the PaymentIntent was canceled (incl. a voided manual-capture authorization)
  NotCharged,      // proof that nothing was charged: no request ever left, or Stripe has no such PI
};
inline constexpr std::size_t kAttemptEventCount = 12;

std::string_view to_string(AttemptEvent e) noexcept;
std::optional<AttemptEvent> parse_attempt_event(std::string_view s) noexcept;

// What an event means for an attempt in a given state.
struct AttemptStep {
  enum class Kind {
    Moved,      // apply: the attempt is now `to`
    Unchanged,  // already known (a repeat or a late echo): keep the state; details may be merged
    Refused,    // illegal here: apply nothing, log `why` as an error
  };
  Kind kind = Kind::Refused;
  AttemptState to = AttemptState::Collecting;  // the state after the event (== from unless Moved)
  std::string why;                             // Refused only: "in_doubt cannot take canceled by the cashier"
  bool operator==(const AttemptStep&) const = default;
};

// The one transition function. `offline` is the attempt's own flag (collected store-and-forward):
// it turns a decline into declined_after_forward.
AttemptStep next_state(AttemptState from, bool offline, AttemptEvent event);

// Every (state, event) pair in a fixed order, for tests and docs: 8 states x 12 events.
struct AttemptTransitionRow {
  AttemptState from;
  AttemptEvent event;
};
std::array<AttemptTransitionRow, 8 * kAttemptEventCount> all_attempt_pairs() noexcept;

// ---------------------------------------------------------------------------------------------
// Cashier words: the one function that turns an attempt's state plus a reason into what the
// cashier reads. `reason` is the decline code for declined states (Stripe's decline_code, else
// its error code), and the machine reason for the others (kept for `details`, never in the
// headline). Engineer text (codes, ids, transport errors) goes to `details` only, which the kiosk
// shows behind an expandable "details" line and the log keeps.
struct CashierWords {
  std::string headline;  // "Declined", "Outcome unknown", "Approved", ...
  std::string advice;    // what to do now: "Ask for another card or another way to pay"
  std::string details;   // for the log and the details line: the code / reason as given
  bool operator==(const CashierWords&) const = default;
};
CashierWords cashier_words(AttemptState state, std::string_view reason = {});
// The same when the event that led to `state` is known: a cancel the cashier asked for, a reader
// failure, an offline refusal and proof that nothing reached Stripe all end `canceled` but call
// for different words. Any other (state, cause) gives cashier_words(state, reason). For an
// offline refusal `reason` is the risk policy's sentence (risk.cpp), which the advice carries.
CashierWords cashier_words(AttemptState state, AttemptEvent cause, std::string_view reason);

// A short cashier-facing reason for a decline code ("Insufficient funds: ask for another card or
// another way to pay"). Never says lost or stolen (the customer may read the screen).
std::string decline_advice(std::string_view code);
// The decline codes decline_advice() has words of its own for (any other code gets the bank's).
std::vector<std::string_view> decline_codes_with_advice();

}  // namespace till::pos
