// The payment attempt state machine (pos/attempt.hpp): every (state, event) pair and what it must
// give, written out by hand so a change to the table is a change to this file too.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "till/pos/attempt.hpp"

using namespace till::pos;
using A = AttemptState;
using E = AttemptEvent;
using K = AttemptStep::Kind;

namespace {

struct Expect {
  A from;
  E event;
  K kind;
  A to;  // the state after (== from unless Moved)
};

// M: moved, S: same (unchanged), R: refused. Online attempts (offline = false).
constexpr K M = K::Moved, S = K::Unchanged, R = K::Refused;

const Expect kOnline[] = {
    // collecting: the reader is collecting a card
    {A::Collecting, E::Submitted, M, A::Submitting},
    {A::Collecting, E::StoredOffline, M, A::StoredOffline},
    {A::Collecting, E::OfflineRefused, M, A::Canceled},
    {A::Collecting, E::Canceled, M, A::Canceled},
    {A::Collecting, E::ReaderFailed, M, A::Canceled},
    {A::Collecting, E::ReaderDeclined, M, A::Declined},
    {A::Collecting, E::Forwarded, R, A::Collecting},
    {A::Collecting, E::NoAnswer, M, A::InDoubt},  // the reader dropped after the card was read
    {A::Collecting, E::StripeApproved, M, A::Approved},  // smart reader: Stripe answers first
    {A::Collecting, E::StripeDeclined, M, A::Declined},
    {A::Collecting, E::StripeCanceled, M, A::Canceled},
    {A::Collecting, E::NotCharged, M, A::Canceled},
    // stored_offline: card read offline, waiting to be forwarded
    {A::StoredOffline, E::Submitted, R, A::StoredOffline},
    {A::StoredOffline, E::StoredOffline, S, A::StoredOffline},
    {A::StoredOffline, E::OfflineRefused, R, A::StoredOffline},
    {A::StoredOffline, E::Canceled, R, A::StoredOffline},
    {A::StoredOffline, E::ReaderFailed, R, A::StoredOffline},
    {A::StoredOffline, E::ReaderDeclined, R, A::StoredOffline},
    {A::StoredOffline, E::Forwarded, M, A::Submitting},
    {A::StoredOffline, E::NoAnswer, M, A::InDoubt},
    {A::StoredOffline, E::StripeApproved, M, A::Approved},
    {A::StoredOffline, E::StripeDeclined, M, A::DeclinedAfterForward},  // a stored payment is offline
    {A::StoredOffline, E::StripeCanceled, M, A::Canceled},
    {A::StoredOffline, E::NotCharged, R, A::StoredOffline},
    // submitting: the request is on its way to Stripe
    {A::Submitting, E::Submitted, S, A::Submitting},
    {A::Submitting, E::StoredOffline, R, A::Submitting},
    {A::Submitting, E::OfflineRefused, R, A::Submitting},
    {A::Submitting, E::Canceled, R, A::Submitting},
    {A::Submitting, E::ReaderFailed, R, A::Submitting},
    {A::Submitting, E::ReaderDeclined, R, A::Submitting},
    {A::Submitting, E::Forwarded, S, A::Submitting},
    {A::Submitting, E::NoAnswer, M, A::InDoubt},
    {A::Submitting, E::StripeApproved, M, A::Approved},
    {A::Submitting, E::StripeDeclined, M, A::Declined},
    {A::Submitting, E::StripeCanceled, M, A::Canceled},
    {A::Submitting, E::NotCharged, M, A::Canceled},  // the request never left (store failed first)
    // in_doubt: only Stripe's answer (or proof nothing left) ends it
    {A::InDoubt, E::Submitted, S, A::InDoubt},  // resent with the same key: still unknown
    {A::InDoubt, E::StoredOffline, R, A::InDoubt},
    {A::InDoubt, E::OfflineRefused, R, A::InDoubt},
    {A::InDoubt, E::Canceled, R, A::InDoubt},
    {A::InDoubt, E::ReaderFailed, R, A::InDoubt},
    {A::InDoubt, E::ReaderDeclined, R, A::InDoubt},
    {A::InDoubt, E::Forwarded, S, A::InDoubt},
    {A::InDoubt, E::NoAnswer, S, A::InDoubt},
    {A::InDoubt, E::StripeApproved, M, A::Approved},
    {A::InDoubt, E::StripeDeclined, M, A::Declined},
    {A::InDoubt, E::StripeCanceled, M, A::Canceled},
    {A::InDoubt, E::NotCharged, M, A::Canceled},
    // approved
    {A::Approved, E::Submitted, S, A::Approved},
    {A::Approved, E::StoredOffline, R, A::Approved},
    {A::Approved, E::OfflineRefused, R, A::Approved},
    {A::Approved, E::Canceled, R, A::Approved},
    {A::Approved, E::ReaderFailed, R, A::Approved},
    {A::Approved, E::ReaderDeclined, R, A::Approved},
    {A::Approved, E::Forwarded, S, A::Approved},
    {A::Approved, E::NoAnswer, S, A::Approved},
    {A::Approved, E::StripeApproved, S, A::Approved},
    {A::Approved, E::StripeDeclined, R, A::Approved},
    {A::Approved, E::StripeCanceled, M, A::Canceled},  // a manual-capture authorization voided
    {A::Approved, E::NotCharged, R, A::Approved},
    // declined
    {A::Declined, E::Submitted, S, A::Declined},
    {A::Declined, E::StoredOffline, R, A::Declined},
    {A::Declined, E::OfflineRefused, R, A::Declined},
    {A::Declined, E::Canceled, R, A::Declined},
    {A::Declined, E::ReaderFailed, R, A::Declined},
    {A::Declined, E::ReaderDeclined, S, A::Declined},
    {A::Declined, E::Forwarded, S, A::Declined},
    {A::Declined, E::NoAnswer, S, A::Declined},
    {A::Declined, E::StripeApproved, M, A::Approved},  // Stripe's answer wins (lesson 8)
    {A::Declined, E::StripeDeclined, S, A::Declined},
    {A::Declined, E::StripeCanceled, S, A::Declined},
    {A::Declined, E::NotCharged, S, A::Declined},
    // declined_after_forward
    {A::DeclinedAfterForward, E::Submitted, S, A::DeclinedAfterForward},
    {A::DeclinedAfterForward, E::StoredOffline, R, A::DeclinedAfterForward},
    {A::DeclinedAfterForward, E::OfflineRefused, R, A::DeclinedAfterForward},
    {A::DeclinedAfterForward, E::Canceled, R, A::DeclinedAfterForward},
    {A::DeclinedAfterForward, E::ReaderFailed, R, A::DeclinedAfterForward},
    {A::DeclinedAfterForward, E::ReaderDeclined, R, A::DeclinedAfterForward},
    {A::DeclinedAfterForward, E::Forwarded, S, A::DeclinedAfterForward},
    {A::DeclinedAfterForward, E::NoAnswer, S, A::DeclinedAfterForward},
    {A::DeclinedAfterForward, E::StripeApproved, M, A::Approved},
    {A::DeclinedAfterForward, E::StripeDeclined, S, A::DeclinedAfterForward},
    {A::DeclinedAfterForward, E::StripeCanceled, S, A::DeclinedAfterForward},
    {A::DeclinedAfterForward, E::NotCharged, S, A::DeclinedAfterForward},
    // canceled
    {A::Canceled, E::Submitted, S, A::Canceled},
    {A::Canceled, E::StoredOffline, R, A::Canceled},
    {A::Canceled, E::OfflineRefused, S, A::Canceled},
    {A::Canceled, E::Canceled, S, A::Canceled},
    {A::Canceled, E::ReaderFailed, S, A::Canceled},
    {A::Canceled, E::ReaderDeclined, R, A::Canceled},
    {A::Canceled, E::Forwarded, S, A::Canceled},
    {A::Canceled, E::NoAnswer, S, A::Canceled},
    {A::Canceled, E::StripeApproved, M, A::Approved},  // the register gave up, Stripe approved
    {A::Canceled, E::StripeDeclined, S, A::Canceled},
    {A::Canceled, E::StripeCanceled, S, A::Canceled},
    {A::Canceled, E::NotCharged, S, A::Canceled},
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

TEST_CASE("every (state, event) pair of an online attempt gives what the table says") {
  std::map<std::pair<A, E>, int> seen;
  for (const auto& x : kOnline) {
    ++seen[{x.from, x.event}];
    const AttemptStep step = next_state(x.from, false, x.event);
    INFO(std::string(to_string(x.from)) << " + " << std::string(to_string(x.event)));
    CHECK(step.kind == x.kind);
    CHECK(step.to == x.to);
    if (step.kind == K::Refused) {
      CHECK(step.why.find(std::string(to_string(x.from))) != std::string::npos);
    } else {
      CHECK(step.why.empty());
    }
  }
  // The hand-written table lists every pair exactly once.
  for (const auto& row : all_attempt_pairs()) {
    INFO(std::string(to_string(row.from)) << " + " << std::string(to_string(row.event)));
    CHECK(seen[{row.from, row.event}] == 1);
  }
  CHECK(seen.size() == all_attempt_pairs().size());
}

TEST_CASE("a decline of a payment taken offline is declined_after_forward, everything else as online") {
  for (const auto& x : kOnline) {
    const AttemptStep online = next_state(x.from, false, x.event);
    const AttemptStep offline = next_state(x.from, true, x.event);
    INFO(std::string(to_string(x.from)) << " + " << std::string(to_string(x.event)));
    if (online.kind == K::Moved && online.to == A::Declined && x.event == E::StripeDeclined &&
        x.from != A::Collecting) {
      CHECK(offline.kind == K::Moved);
      CHECK(offline.to == A::DeclinedAfterForward);
    } else {
      CHECK(offline == online);
    }
  }
}

TEST_CASE("an unknown outcome reaches no declined state and no words that say declined") {
  for (const auto& row : all_attempt_pairs()) {
    if (row.event != E::NoAnswer) continue;
    for (bool offline : {false, true}) {
      const AttemptStep step = next_state(row.from, offline, row.event);
      INFO(std::string(to_string(row.from)));
      if (step.kind == K::Moved) {
        CHECK(step.to == A::InDoubt);
      }
      CHECK(step.kind != K::Refused);  // a late "we do not know" is never an error
      if (row.from != A::Declined && row.from != A::DeclinedAfterForward) {
        CHECK(step.to != A::Declined);
        CHECK(step.to != A::DeclinedAfterForward);
      }
    }
  }
  // Whatever reason the transport gave, the in-doubt words never say declined.
  for (const char* reason : {"", "outcome_unknown: read response: Connection reset by peer", "card_declined",
                             "declined", "reader disconnected after authorizing"}) {
    const CashierWords w = cashier_words(A::InDoubt, reason);
    INFO(reason);
    CHECK(lower(w.headline).find("declin") == std::string::npos);
    CHECK(lower(w.advice).find("declin") == std::string::npos);
    CHECK(lower(w.advice).find("do not retry") != std::string::npos);
    CHECK(w.details == reason);
  }
}

TEST_CASE("only Stripe's answer or proof that nothing left ends in_doubt") {
  for (const auto& row : all_attempt_pairs()) {
    if (row.from != A::InDoubt) continue;
    const AttemptStep step = next_state(A::InDoubt, false, row.event);
    const bool verdict = row.event == E::StripeApproved || row.event == E::StripeDeclined ||
                         row.event == E::StripeCanceled || row.event == E::NotCharged;
    INFO(std::string(to_string(row.event)));
    CHECK((step.kind == K::Moved) == verdict);
    CHECK((step.to != A::InDoubt) == verdict);
  }
}

TEST_CASE("a refused event never changes the state, and final states only leave for approved or a voided authorization") {
  for (const auto& row : all_attempt_pairs()) {
    for (bool offline : {false, true}) {
      const AttemptStep step = next_state(row.from, offline, row.event);
      if (step.kind != K::Moved) CHECK(step.to == row.from);
      if (step.kind == K::Moved && is_final(row.from)) {
        const bool voided = row.from == A::Approved && step.to == A::Canceled;
        CHECK((step.to == A::Approved || voided));
      }
    }
  }
}

TEST_CASE("event names round-trip and the cashier words hide the codes") {
  for (const auto& row : all_attempt_pairs()) {
    CHECK(parse_attempt_event(to_string(row.event)) == row.event);
  }
  CHECK_FALSE(parse_attempt_event("approved").has_value());
  const CashierWords d = cashier_words(A::Declined, "insufficient_funds");
  CHECK(d.headline == "Declined");
  CHECK(d.advice == "Insufficient funds: ask for another card or another way to pay");
  CHECK(d.details == "insufficient_funds");
  CHECK(d.advice.find("insufficient_funds") == std::string::npos);
  for (const char* code : {"lost_card", "stolen_card", "fraudulent", "pickup_card"}) {
    const std::string advice = lower(cashier_words(A::Declined, code).advice);
    CHECK(advice.find("lost") == std::string::npos);
    CHECK(advice.find("stolen") == std::string::npos);
    CHECK(advice.find("fraud") == std::string::npos);
  }
  for (const auto& row : all_attempt_pairs()) {
    const CashierWords w = cashier_words(row.from, "some_code");
    CHECK_FALSE(w.headline.empty());
    CHECK_FALSE(w.advice.empty());
    CHECK(w.headline.find("some_code") == std::string::npos);
  }
}
