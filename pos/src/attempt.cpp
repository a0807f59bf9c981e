#include "till/pos/attempt.hpp"

#include <utility>

namespace till::pos {
namespace {

using A = AttemptState;
using E = AttemptEvent;

constexpr std::array<std::pair<E, std::string_view>, kAttemptEventCount> kEventNames{{
    {E::Submitted, "submitted"},
    {E::StoredOffline, "stored_offline"},
    {E::OfflineRefused, "offline_refused"},
    {E::Canceled, "canceled"},
    {E::ReaderFailed, "reader_failed"},
    {E::ReaderDeclined, "reader_declined"},
    {E::Forwarded, "forwarded"},
    {E::NoAnswer, "no_answer"},
    {E::StripeApproved, "stripe_approved"},
    {E::StripeDeclined, "stripe_declined"},
    {E::StripeCanceled, "stripe_canceled"},
    {E::NotCharged, "not_charged"},
}};

constexpr std::array<A, 8> kStates{A::Collecting, A::StoredOffline, A::Submitting, A::InDoubt,
                                   A::Approved,   A::Declined,      A::DeclinedAfterForward, A::Canceled};

// No money moved and none will: these final states only ever change to approved (Stripe's
// answer wins over the register having given up, lesson 8).
bool no_money_final(A s) { return s == A::Declined || s == A::DeclinedAfterForward || s == A::Canceled; }

AttemptStep moved(A to) { return {AttemptStep::Kind::Moved, to, {}}; }
AttemptStep same(A from) { return {AttemptStep::Kind::Unchanged, from, {}}; }
AttemptStep refused(A from, E e, std::string_view why) {
  return {AttemptStep::Kind::Refused, from,
          std::string(to_string(from)) + " cannot take " + std::string(to_string(e)) + ": " + std::string(why)};
}

// The events that happen at the counter, before anything reached Stripe. Only a collecting
// attempt takes them.
std::optional<A> counter_target(E e) {
  switch (e) {
    case E::Submitted: return A::Submitting;
    case E::StoredOffline: return A::StoredOffline;
    case E::OfflineRefused:
    case E::Canceled:
    case E::ReaderFailed: return A::Canceled;
    case E::ReaderDeclined: return A::Declined;
    default: return std::nullopt;
  }
}

}  // namespace

std::string_view to_string(AttemptEvent e) noexcept {
  for (const auto& [k, n] : kEventNames) {
    if (k == e) return n;
  }
  return "unknown";
}

std::optional<AttemptEvent> parse_attempt_event(std::string_view s) noexcept {
  for (const auto& [k, n] : kEventNames) {
    if (n == s) return k;
  }
  return std::nullopt;
}

AttemptStep next_state(AttemptState from, bool offline, AttemptEvent event) {
  // A decline of money taken offline is money lost. A stored payment is offline whatever the flag
  // says, and a collecting one has never been stored, so its flag cannot matter.
  const bool taken_offline = from == A::StoredOffline || (offline && from != A::Collecting);
  const A declined = taken_offline ? A::DeclinedAfterForward : A::Declined;

  // Counter events: only while the reader is collecting; a repeat is a no-op.
  if (auto target = counter_target(event)) {
    if (from == A::Collecting) return moved(*target);
    if (from == *target) return same(from);
    if (event == E::Submitted && (from == A::InDoubt || from == A::Approved || no_money_final(from))) {
      return same(from);  // a resend with the same key, or a late echo: what is known stays known
    }
    return refused(from, event, "the card has already left the reader");
  }

  switch (event) {
    case E::Forwarded:
      if (from == A::StoredOffline) return moved(A::Submitting);
      if (from == A::Collecting) return refused(from, event, "nothing was stored offline");
      return same(from);  // already forwarded, in doubt (resend, same key) or final

    case E::NoAnswer:
      // The one rule never bent: "we do not know" leads to in_doubt, never to a decline, and a
      // late "we do not know" never erases what Stripe already told us.
      if (from == A::Collecting || from == A::StoredOffline || from == A::Submitting) return moved(A::InDoubt);
      return same(from);

    case E::StripeApproved:
      if (from == A::Approved) return same(from);
      return moved(A::Approved);  // from every other state: Stripe's answer wins (lesson 8)

    case E::StripeDeclined:
      if (from == A::Approved) return refused(from, event, "an approval is never undone by a decline");
      if (no_money_final(from)) return same(from);
      return moved(declined);

    case E::StripeCanceled:
      if (no_money_final(from)) return same(from);
      return moved(A::Canceled);  // approved -> canceled: a manual-capture authorization voided

    case E::NotCharged:
      if (from == A::Collecting || from == A::Submitting || from == A::InDoubt) return moved(A::Canceled);
      if (no_money_final(from)) return same(from);
      if (from == A::StoredOffline) return refused(from, event, "a stored payment is forwarded, never dropped");
      return refused(from, event, "Stripe approved it");

    default: break;
  }
  return refused(from, event, "no such event");
}

std::array<AttemptTransitionRow, 8 * kAttemptEventCount> all_attempt_pairs() noexcept {
  std::array<AttemptTransitionRow, 8 * kAttemptEventCount> rows{};
  std::size_t i = 0;
  for (A s : kStates) {
    for (const auto& [e, name] : kEventNames) {
      (void)name;
      rows[i++] = {s, e};
    }
  }
  return rows;
}

}  // namespace till::pos
