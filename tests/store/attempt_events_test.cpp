// The attempt repository applies events, never states (issue 12, CONTRACT-attempt): for every
// (state, event) pair it does what pos::next_state says; a refusal writes nothing; a repeat keeps
// what moves money; StoredOffline marks the attempt offline.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "store_fixtures.hpp"
#include "till/pos/attempt.hpp"
#include "till/store/store.hpp"

using namespace till;
using namespace till::store;
using namespace till::store::testing;
using namespace std::chrono_literals;
using pos::AttemptEvent;
using pos::AttemptState;
using Kind = pos::AttemptStep::Kind;

namespace {

DataKey key() {
  auto k = DataKey::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  REQUIRE(k);
  return *k;
}

Store open_store(const std::string& path, const Clock& clock) {
  auto s = Store::open(path, clock, {.data_key = key()});
  if (!s) FAIL(s.error().describe());
  return std::move(*s);
}

std::size_t audit_count(Store& store) { return store.journal().audit().value().size(); }

}  // namespace

TEST_CASE("every (state, event) pair does in the store what the state machine says, and a refusal writes nothing") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.sales().persist(make_sale("sale-1")));
  int n = 0;
  int moved = 0, unchanged = 0, refused = 0;
  for (const bool offline : {false, true}) {
    for (const auto& [from, event] : pos::all_attempt_pairs()) {
      const std::string id = "att-" + std::to_string(++n);
      auto a = make_attempt(id, "sale-1", n);
      a.state = from;  // a fixture row: creation takes the state it is given
      a.offline = offline;
      REQUIRE(store.attempts().create(a));
      const auto before = store.attempts().get(id).value();
      const std::size_t audits = audit_count(store);
      clock.advance(1s);

      const pos::AttemptStep want = pos::next_state(from, offline, event);
      INFO(pos::to_string(from) << (offline ? " (offline)" : "") << " + " << pos::to_string(event));
      auto got = store.attempts().update({.attempt_id = id, .event = event, .failure_message = "why"});
      const auto after = store.attempts().get(id).value();
      if (want.kind == Kind::Refused) {
        ++refused;
        REQUIRE_FALSE(got);
        CHECK(got.error().kind == ErrorKind::FailedPrecondition);
        CHECK(got.error().message == "refused transition: " + want.why);
        CHECK(after == before);  // not even the message or updated_at
        CHECK(audit_count(store) == audits);
        continue;
      }
      REQUIRE(got);
      CHECK(*got == want);
      CHECK(after.state == want.to);
      CHECK(after.failure_message == "why");
      if (want.kind == Kind::Moved) {
        ++moved;
        const auto entries = store.journal().audit().value();
        REQUIRE(entries.size() == audits + 1);
        CHECK(entries.back().action == "attempt.state");
        CHECK(entries.back().detail == std::string(pos::to_string(from)) + " -> " +
                                           std::string(pos::to_string(want.to)) + " (" +
                                           std::string(pos::to_string(event)) + ")");
      } else {
        ++unchanged;
        CHECK(audit_count(store) == audits);
      }
    }
  }
  // The table has all three kinds, so each branch above was taken.
  CHECK(moved > 0);
  CHECK(unchanged > 0);
  CHECK(refused > 0);
}

TEST_CASE("a stored-offline event seals the token and marks the attempt offline; the decline after forwarding is money lost") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.sales().persist(make_sale("sale-1")));
  REQUIRE(store.attempts().create(make_attempt("att-1", "sale-1")));
  auto stored = store.attempts().update(
      {.attempt_id = "att-1", .event = AttemptEvent::StoredOffline, .payment_method = "pm_offline_token"});
  REQUIRE(stored);
  CHECK(stored->to == AttemptState::StoredOffline);
  auto a = store.attempts().get("att-1").value();
  CHECK(a.offline);
  CHECK(a.payment_method == "pm_offline_token");
  REQUIRE(store.attempts().update({.attempt_id = "att-1", .event = AttemptEvent::Forwarded}));
  auto declined = store.attempts().update(
      {.attempt_id = "att-1", .event = AttemptEvent::StripeDeclined, .decline_code = "insufficient_funds"});
  REQUIRE(declined);
  CHECK(declined->to == AttemptState::DeclinedAfterForward);
  CHECK(store.journal().attention().value().size() == 1);
}

TEST_CASE("a repeated event keeps the payment method and never replaces a PaymentIntent id") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.sales().persist(make_sale("sale-1")));
  REQUIRE(store.attempts().create(make_attempt("att-1", "sale-1")));
  REQUIRE(store.attempts().update({.attempt_id = "att-1",
                                   .event = AttemptEvent::Submitted,
                                   .payment_method = "pm_first",
                                   .payment_intent_id = "pi_first"}));
  // The same event again (a resend with the same key): Unchanged; card details and messages merge.
  pos::CardDetails card;
  card.brand = "visa";
  card.last4 = "4242";
  auto again = store.attempts().update({.attempt_id = "att-1",
                                        .event = AttemptEvent::Submitted,
                                        .payment_method = "pm_second",
                                        .card = card,
                                        .failure_message = "resent"});
  REQUIRE(again);
  CHECK(again->kind == Kind::Unchanged);
  auto a = store.attempts().get("att-1").value();
  CHECK(a.payment_method == "pm_first");
  CHECK(a.card.last4 == "4242");
  CHECK(a.failure_message == "resent");
  // Another PaymentIntent over the known one is refused, with or without an event.
  for (const std::optional<AttemptEvent> e : {std::optional<AttemptEvent>(AttemptEvent::StripeApproved),
                                              std::optional<AttemptEvent>()}) {
    auto other = store.attempts().update({.attempt_id = "att-1", .event = e, .payment_intent_id = "pi_other"});
    REQUIRE_FALSE(other);
    CHECK(other.error().kind == ErrorKind::FailedPrecondition);
  }
  CHECK(store.attempts().get("att-1")->state == AttemptState::Submitting);
  CHECK(store.attempts().get("att-1")->payment_intent_id == "pi_first");
}

TEST_CASE("an update without an event changes details only, and a final attempt's payment method is fixed") {
  TempDir dir;
  FakeClock clock;
  auto store = open_store(dir.file("till.db"), clock);
  REQUIRE(store.sales().persist(make_sale("sale-1")));
  REQUIRE(store.attempts().create(make_attempt("att-1", "sale-1")));
  auto details = store.attempts().update({.attempt_id = "att-1", .payment_intent_id = "pi_1"});
  REQUIRE(details);
  CHECK(*details == pos::AttemptStep{Kind::Unchanged, AttemptState::Collecting, {}});
  CHECK(store.attempts().get("att-1")->payment_intent_id == "pi_1");
  REQUIRE(store.attempts().update({.attempt_id = "att-1", .event = AttemptEvent::StripeApproved}));
  auto pm = store.attempts().update({.attempt_id = "att-1", .payment_method = "pm_late"});
  REQUIRE_FALSE(pm);
  CHECK(pm.error().kind == ErrorKind::FailedPrecondition);
  auto missing = store.attempts().update({.attempt_id = "att-none", .event = AttemptEvent::NoAnswer});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::NotFound);
}
