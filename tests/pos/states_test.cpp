#include "till/pos/states.hpp"

#include "till/pos/records.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <utility>

using namespace till;
using namespace till::pos;

namespace {
template <class E>
std::set<std::pair<E, E>> all_pairs(std::initializer_list<E> states) {
  std::set<std::pair<E, E>> out;
  for (E a : states)
    for (E b : states) out.insert({a, b});
  return out;
}
}  // namespace

TEST_CASE("every sale transition outside the architecture's machine is rejected") {
  using S = SaleState;
  const std::set<std::pair<S, S>> legal = {
      {S::Open, S::Tendering},      {S::Open, S::Voided},        {S::Tendering, S::Paid},
      {S::Tendering, S::PartiallyPaid}, {S::Tendering, S::Voided}, {S::Tendering, S::Open},
      {S::PartiallyPaid, S::Paid}};
  for (auto [a, b] : all_pairs({S::Open, S::Tendering, S::Paid, S::PartiallyPaid, S::Voided})) {
    INFO(to_string(a) << " -> " << to_string(b));
    CHECK(can_transition(a, b) == (legal.count({a, b}) == 1));
    auto r = transition(a, b);
    CHECK(bool(r) == (legal.count({a, b}) == 1));
    if (!r) CHECK(r.error().kind == ErrorKind::FailedPrecondition);
  }
}

TEST_CASE("every payment attempt transition is one some event makes in the attempt machine, and no other") {
  using A = AttemptState;
  // can_transition is derived from next_state (attempt.hpp): the pairs some event moves an
  // attempt along, online or offline. Written out here so a change to the machine shows.
  const std::set<std::pair<A, A>> legal = {
      // at the counter; a smart reader's verdict comes straight from collecting
      {A::Collecting, A::StoredOffline}, {A::Collecting, A::Submitting}, {A::Collecting, A::Declined},
      {A::Collecting, A::Canceled},      {A::Collecting, A::InDoubt},    {A::Collecting, A::Approved},
      // a stored payment: forwarded, or Stripe's answer to it (a decline is money lost)
      {A::StoredOffline, A::Submitting}, {A::StoredOffline, A::InDoubt}, {A::StoredOffline, A::Approved},
      {A::StoredOffline, A::DeclinedAfterForward}, {A::StoredOffline, A::Canceled},
      {A::Submitting, A::InDoubt},       {A::Submitting, A::Approved},   {A::Submitting, A::Declined},
      {A::Submitting, A::DeclinedAfterForward}, {A::Submitting, A::Canceled},
      // only a verdict leaves in_doubt (a resend with the same key stays in_doubt)
      {A::InDoubt, A::Approved},         {A::InDoubt, A::Declined},
      {A::InDoubt, A::DeclinedAfterForward}, {A::InDoubt, A::Canceled},
      // an authorization voided; Stripe's approval wins over the register having given up
      {A::Approved, A::Canceled},        {A::Declined, A::Approved},     {A::DeclinedAfterForward, A::Approved},
      {A::Canceled, A::Approved}};
  for (auto [a, b] : all_pairs({A::Collecting, A::StoredOffline, A::Submitting, A::InDoubt, A::Approved,
                                A::Declined, A::DeclinedAfterForward, A::Canceled})) {
    INFO(to_string(a) << " -> " << to_string(b));
    CHECK(can_transition(a, b) == (legal.count({a, b}) == 1));
  }
  // The rules that matter most: an unknown outcome never becomes a decline by itself, a stored
  // payment is never declined as if it were online, and in_doubt is left only for a verdict.
  CHECK_FALSE(can_transition(A::InDoubt, A::InDoubt));
  CHECK_FALSE(can_transition(A::StoredOffline, A::Declined));
  CHECK_FALSE(can_transition(A::InDoubt, A::Submitting));
}

TEST_CASE("every outbox transition outside the architecture's machine is rejected") {
  using O = OutboxState;
  const std::set<std::pair<O, O>> legal = {
      {O::Pending, O::InFlight}, {O::Pending, O::Dead},        {O::InFlight, O::Done},
      {O::InFlight, O::FailedRetryable}, {O::InFlight, O::Dead}, {O::InFlight, O::Pending},
      {O::FailedRetryable, O::InFlight}, {O::FailedRetryable, O::Dead}, {O::Dead, O::Pending},
      {O::Dead, O::Done}};
  for (auto [a, b] : all_pairs({O::Pending, O::InFlight, O::Done, O::FailedRetryable, O::Dead})) {
    INFO(to_string(a) << " -> " << to_string(b));
    CHECK(can_transition(a, b) == (legal.count({a, b}) == 1));
  }
}

TEST_CASE("state names round-trip through their string form") {
  for (auto s : {AttemptState::Collecting, AttemptState::StoredOffline, AttemptState::Submitting,
                 AttemptState::InDoubt, AttemptState::Approved, AttemptState::Declined,
                 AttemptState::DeclinedAfterForward, AttemptState::Canceled}) {
    CHECK(parse_attempt_state(to_string(s)) == s);
  }
  CHECK(to_string(AttemptState::DeclinedAfterForward) == "declined_after_forward");
  CHECK(to_string(OutboxState::FailedRetryable) == "failed_retryable");
  CHECK(to_string(SaleState::PartiallyPaid) == "partially_paid");
  CHECK_FALSE(parse_sale_state("refunded"));
}

TEST_CASE("every state, operation kind and final-state rule has a stable name") {
  for (auto s : {SaleState::Open, SaleState::Tendering, SaleState::Paid, SaleState::PartiallyPaid, SaleState::Voided}) {
    CHECK(parse_sale_state(to_string(s)) == s);
  }
  for (auto s : {OutboxState::Pending, OutboxState::InFlight, OutboxState::Done, OutboxState::FailedRetryable,
                 OutboxState::Dead}) {
    CHECK(parse_outbox_state(to_string(s)) == s);
  }
  CHECK_FALSE(parse_outbox_state("sent"));
  CHECK_FALSE(parse_attempt_state("pending"));
  for (auto k : {OperationKind::CreatePaymentIntent, OperationKind::ProcessPaymentIntent, OperationKind::Capture,
                 OperationKind::Cancel, OperationKind::Refund}) {
    CHECK(parse_operation_kind(to_string(k)) == k);
  }
  CHECK(to_string(OperationKind::CreatePaymentIntent) == "create_payment_intent");
  CHECK_FALSE(parse_operation_kind("charge"));
  CHECK(is_final(SaleState::Paid));
  CHECK(is_final(SaleState::Voided));
  CHECK_FALSE(is_final(SaleState::Tendering));
  CHECK(is_final(AttemptState::Declined));
  CHECK_FALSE(is_final(AttemptState::InDoubt));
  CHECK_FALSE(is_final(AttemptState::StoredOffline));
  CHECK(transition(OutboxState::Done, OutboxState::Pending).error().message == "illegal transition done -> pending");
  CHECK(transition(AttemptState::InDoubt, AttemptState::Approved).value() == AttemptState::Approved);
}
