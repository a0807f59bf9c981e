#include "till/pos/states.hpp"

#include "till/pos/attempt.hpp"

#include <array>
#include <string>
#include <utility>

namespace till::pos {
namespace {

template <class E, std::size_t N>
std::optional<E> parse_from(const std::array<std::pair<E, std::string_view>, N>& names, std::string_view s) {
  for (const auto& [e, n] : names) {
    if (n == s) return e;
  }
  return std::nullopt;
}

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& names, E e) {
  for (const auto& [k, n] : names) {
    if (k == e) return n;
  }
  return "unknown";
}

constexpr std::array<std::pair<SaleState, std::string_view>, 5> kSaleNames{{
    {SaleState::Open, "open"},
    {SaleState::Tendering, "tendering"},
    {SaleState::Paid, "paid"},
    {SaleState::PartiallyPaid, "partially_paid"},
    {SaleState::Voided, "voided"},
}};

constexpr std::array<std::pair<AttemptState, std::string_view>, 8> kAttemptNames{{
    {AttemptState::Collecting, "collecting"},
    {AttemptState::StoredOffline, "stored_offline"},
    {AttemptState::Submitting, "submitting"},
    {AttemptState::InDoubt, "in_doubt"},
    {AttemptState::Approved, "approved"},
    {AttemptState::Declined, "declined"},
    {AttemptState::DeclinedAfterForward, "declined_after_forward"},
    {AttemptState::Canceled, "canceled"},
}};

constexpr std::array<std::pair<OutboxState, std::string_view>, 5> kOutboxNames{{
    {OutboxState::Pending, "pending"},
    {OutboxState::InFlight, "in_flight"},
    {OutboxState::Done, "done"},
    {OutboxState::FailedRetryable, "failed_retryable"},
    {OutboxState::Dead, "dead"},
}};

template <class S>
Result<S> checked(S from, S to) {
  if (can_transition(from, to)) return to;
  return fail(ErrorKind::FailedPrecondition,
              "illegal transition " + std::string(to_string(from)) + " -> " + std::string(to_string(to)));
}

}  // namespace

std::string_view to_string(SaleState s) noexcept { return name_of(kSaleNames, s); }
std::string_view to_string(AttemptState s) noexcept { return name_of(kAttemptNames, s); }
std::string_view to_string(OutboxState s) noexcept { return name_of(kOutboxNames, s); }

std::optional<SaleState> parse_sale_state(std::string_view s) noexcept { return parse_from(kSaleNames, s); }
std::optional<AttemptState> parse_attempt_state(std::string_view s) noexcept { return parse_from(kAttemptNames, s); }
std::optional<OutboxState> parse_outbox_state(std::string_view s) noexcept { return parse_from(kOutboxNames, s); }

bool can_transition(SaleState from, SaleState to) noexcept {
  using S = SaleState;
  switch (from) {
    case S::Open: return to == S::Tendering || to == S::Voided;
    // Tendering may go back to open when the cashier cancels collection and edits the cart.
    case S::Tendering: return to == S::Paid || to == S::PartiallyPaid || to == S::Voided || to == S::Open;
    // A partially paid sale can still be completed later (the balance paid), never voided:
    // money was taken.
    case S::PartiallyPaid: return to == S::Paid;
    case S::Paid: return false;   // refunds are separate records, the sale stays paid
    case S::Voided: return false;
  }
  return false;
}

// Derived from the attempt state machine (attempt.hpp), never written out twice: a pair is
// legal when some event moves an attempt, online or offline, from `from` to `to`. Callers that
// apply what happened should use next_state() itself; this answers "can this ever happen".
bool can_transition(AttemptState from, AttemptState to) noexcept {
  // Built once (thread-safe static) from every (state, event) pair; indexed by the enum values.
  static const auto legal = [] {
    std::array<std::array<bool, 8>, 8> t{};
    for (const auto& row : all_attempt_pairs()) {
      for (bool offline : {false, true}) {
        const AttemptStep step = next_state(row.from, offline, row.event);
        if (step.kind == AttemptStep::Kind::Moved) {
          t[static_cast<std::size_t>(row.from)][static_cast<std::size_t>(step.to)] = true;
        }
      }
    }
    return t;
  }();
  const auto f = static_cast<std::size_t>(from), g = static_cast<std::size_t>(to);
  return f < 8 && g < 8 && legal[f][g];
}

bool can_transition(OutboxState from, OutboxState to) noexcept {
  using O = OutboxState;
  switch (from) {
    case O::Pending: return to == O::InFlight || to == O::Dead;
    case O::InFlight: return to == O::Done || to == O::FailedRetryable || to == O::Dead || to == O::Pending;
    case O::FailedRetryable: return to == O::InFlight || to == O::Dead;
    // A person may retry a dead operation (audited); it goes back to pending with the same key.
    case O::Dead: return to == O::Pending || to == O::Done;
    case O::Done: return false;
  }
  return false;
}

Result<SaleState> transition(SaleState from, SaleState to) { return checked(from, to); }
Result<AttemptState> transition(AttemptState from, AttemptState to) { return checked(from, to); }
Result<OutboxState> transition(OutboxState from, OutboxState to) { return checked(from, to); }

bool is_final(AttemptState s) noexcept {
  return s == AttemptState::Approved || s == AttemptState::Declined ||
         s == AttemptState::DeclinedAfterForward || s == AttemptState::Canceled;
}

bool is_final(SaleState s) noexcept {
  return s == SaleState::Paid || s == SaleState::PartiallyPaid || s == SaleState::Voided;
}

}  // namespace till::pos
