// The sync engine against the in-process till-stripe-sim (issue 4): outcomes, in-doubt
// resolution by same-key retry and by lookup past key retention, 409, 429, dead operations,
// Connect account binding, captures, cancels and refunds.

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "engine_fixture.hpp"
#include "till/sync/http.hpp"

using namespace till;
using namespace till::sync;
using namespace till::sync::testing;
using namespace std::chrono_literals;
using pos::AttemptState;
using pos::OutboxState;
using stripesim::FaultKind;
using stripesim::FaultSpec;

namespace {

FaultSpec nth(FaultKind kind, std::uint64_t n) {
  FaultSpec f;
  f.kind = kind;
  f.nth = n;
  f.post_only = true;
  return f;
}

std::int64_t expected_fee(std::int64_t amount) { return kFee.fee_for(amount).value(); }

}  // namespace

TEST_CASE("an approved payment marks the attempt approved and the sale paid, with one PaymentIntent as specified",
          "[engine]") {
  EngineHarness h;
  const Queued q = h.queue({.amount = 1250});

  const DrainSummary s = h.drain();
  CHECK(s.claimed == 1);
  CHECK(s.done == 1);

  const auto a = h.attempt(q);
  CHECK(a.state == AttemptState::Approved);
  CHECK(a.payment_intent_id.starts_with("pi_"));
  CHECK(h.sale(q).state == pos::SaleState::Paid);
  const auto op = h.op(q.op_id);
  CHECK(op.state == OutboxState::Done);
  CHECK(op.stripe_object_id == a.payment_intent_id);
  CHECK(op.attempts == 1);

  const auto ledger = h.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].id == a.payment_intent_id);
  CHECK(ledger[0].account == kAccount);
  CHECK(ledger[0].amount == 1250);
  CHECK(ledger[0].currency == "usd");
  CHECK(ledger[0].status == "succeeded");
  CHECK(ledger[0].application_fee_amount == expected_fee(1250));
  CHECK(ledger[0].metadata.at("register_id") == "reg-1");
  CHECK(ledger[0].metadata.at("attempt") == "1");
  REQUIRE(h.reports.size() == 1);
  CHECK(h.reports[0].outcome == OperationReport::Outcome::Done);
  CHECK(h.reports[0].sent);
}

TEST_CASE("a declined card leaves the attempt declined with Stripe's code and the sale unpaid", "[engine]") {
  EngineHarness h;
  const Queued q = h.queue({.payment_method = "pm_card_chargeDeclinedInsufficientFunds"});

  const DrainSummary s = h.drain();
  CHECK(s.done == 1);
  const auto a = h.attempt(q);
  CHECK(a.state == AttemptState::Declined);
  CHECK(a.decline_code == "insufficient_funds");
  CHECK(a.payment_intent_id.starts_with("pi_"));
  CHECK(h.sale(q).state == pos::SaleState::Tendering);
  CHECK(h.op(q.op_id).state == OutboxState::Done);
  CHECK(h.store->journal().attention().value().empty());
}

TEST_CASE("a decline of a payment stored offline is declined_after_forward and goes on the attention list",
          "[engine]") {
  EngineHarness h;
  const Queued q = h.queue({.amount = 4200, .payment_method = "pm_card_chargeDeclined", .offline = true});
  REQUIRE(h.attempt(q).state == AttemptState::StoredOffline);

  h.drain();
  const auto a = h.attempt(q);
  CHECK(a.state == AttemptState::DeclinedAfterForward);
  const auto attention = h.store->journal().attention().value();
  REQUIRE(attention.size() == 1);
  CHECK(attention[0].attempt_id == q.attempt.id);
  CHECK(attention[0].reason == "declined_after_forward");
  CHECK(attention[0].customer_contact == "customer@example.com");
  CHECK(attention[0].amount == 4200);
}

TEST_CASE("a payment stored offline is forwarded with the account it was taken for and approved", "[engine]") {
  EngineHarness h;
  const Queued q = h.queue({.amount = 990, .account = kOtherAccount, .offline = true});
  h.drain();
  CHECK(h.attempt(q).state == AttemptState::Approved);
  const auto ledger = h.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].account == kOtherAccount);
}

TEST_CASE("a response lost after commit leaves the attempt in doubt, never declined, and the same-key retry "
          "resolves it without a duplicate",
          "[engine]") {
  EngineHarness h({.sim = [](stripesim::ServerOptions& o) { o.sim.faults = {nth(FaultKind::LostAfterCommit, 1)}; }});
  const Queued q = h.queue();

  DrainSummary s = h.drain();
  CHECK(s.retry == 1);
  CHECK(s.in_doubt == 1);
  CHECK(h.attempt(q).state == AttemptState::InDoubt);
  auto op = h.op(q.op_id);
  CHECK(op.state == OutboxState::FailedRetryable);
  CHECK(op.next_attempt_at > h.clock.now());
  CHECK(h.ledger_for(q.sale.id).size() == 1);  // Stripe did apply it

  // Not due yet: nothing happens.
  s = h.drain();
  CHECK(s.claimed == 0);

  h.clock.advance(h.engine_config.backoff.cap);
  s = h.drain();
  CHECK(s.done == 1);
  CHECK(s.looked_up == 0);  // resolved by the same key, not by a lookup
  const auto a = h.attempt(q);
  CHECK(a.state == AttemptState::Approved);
  const auto ledger = h.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].id == a.payment_intent_id);
  CHECK(h.op(q.op_id).attempts == 2);
}

TEST_CASE("with the client's in-call retries a lost response is resolved within the call, same key", "[engine]") {
  EngineHarness h({.sim = [](stripesim::ServerOptions& o) { o.sim.faults = {nth(FaultKind::LostAfterCommit, 1)}; },
                   .max_retries = 2});
  const Queued q = h.queue();
  const DrainSummary s = h.drain();
  CHECK(s.done == 1);
  CHECK(h.attempt(q).state == AttemptState::Approved);
  CHECK(h.ledger_for(q.sale.id).size() == 1);
  CHECK(h.sleeper.slept.size() == 1);  // one in-call retry wait
}

TEST_CASE("an operation left in flight by a crash is sent again with the same key after restart", "[engine]") {
  EngineHarness h({.sim = [](stripesim::ServerOptions& o) { o.sim.faults = {nth(FaultKind::LostAfterCommit, 1)}; }});
  const Queued q = h.queue();
  // The crashed process had claimed it and sent it (Stripe applied it; the answer was lost).
  auto claimed = h.store->outbox().claim_due(h.clock.now(), 10).value();
  REQUIRE(claimed.size() == 1);
  HttpConfig hc;
  hc.base_url = h.sim->base_url();
  auto http = HttpClient::create(h.io, hc).value();
  HttpRequest req{"POST", claimed[0].path,
                  {{"Authorization", std::string("Bearer ") + kKey},
                   {"Stripe-Account", claimed[0].account_id},
                   {"Idempotency-Key", claimed[0].idempotency_key},
                   {"Content-Type", "application/x-www-form-urlencoded"}},
                  claimed[0].body};
  auto lost = run_blocking(h.io, http->async_send(req));
  CHECK_FALSE(lost.has_value());
  REQUIRE(h.ledger_for(q.sale.id).size() == 1);

  h.restart();  // recover_in_flight: back to pending, same key
  CHECK(h.op(q.op_id).state == OutboxState::Pending);
  h.drain();
  CHECK(h.attempt(q).state == AttemptState::Approved);
  CHECK(h.ledger_for(q.sale.id).size() == 1);
}

TEST_CASE("past the key-retention margin an in-doubt payment is resolved by lookup, not re-sent", "[engine]") {
  EngineHarness h({.sim = [](stripesim::ServerOptions& o) { o.sim.faults = {nth(FaultKind::LostAfterCommit, 1)}; }});
  const Queued q = h.queue({.amount = 2000});
  h.drain();
  REQUIRE(h.attempt(q).state == AttemptState::InDoubt);

  // Longer than Stripe keeps keys (24 h): the simulator prunes the key on its next request.
  h.clock.advance(25h);
  const DrainSummary s = h.drain();
  CHECK(s.done == 1);
  CHECK(s.looked_up == 1);
  REQUIRE(h.reports.size() == 2);
  CHECK(h.reports[1].looked_up);
  CHECK_FALSE(h.reports[1].sent);
  const auto a = h.attempt(q);
  CHECK(a.state == AttemptState::Approved);
  const auto ledger = h.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].id == a.payment_intent_id);
  CHECK(h.sale(q).state == pos::SaleState::Paid);
}

TEST_CASE("control: without the lookup, re-sending after key pruning would create a second PaymentIntent",
          "[engine]") {
  // Shows that the lookup above is what prevents the duplicate: the same scenario with the
  // margin pushed beyond the simulator's pruning age re-sends the pruned key.
  EngineHarness h({.sim = [](stripesim::ServerOptions& o) { o.sim.faults = {nth(FaultKind::LostAfterCommit, 1)}; },
                   .engine = [](EngineConfig& c) { c.key_retention_margin = std::chrono::hours(1000); }});
  const Queued q = h.queue();
  h.drain();
  h.clock.advance(25h);
  h.drain();
  CHECK(h.ledger_for(q.sale.id).size() == 2);
}

TEST_CASE("past the margin with nothing at Stripe, the payment is sent again with the same key, once", "[engine]") {
  // A 500 is stored under the key and replayed until the key is pruned (stripe.md section 2).
  EngineHarness h({.sim = [](stripesim::ServerOptions& o) { o.sim.faults = {nth(FaultKind::ServerError, 1)}; }});
  const Queued q = h.queue();
  h.drain();
  CHECK(h.attempt(q).state == AttemptState::InDoubt);
  h.clock.advance(1h);
  h.drain();  // replayed 500
  CHECK(h.attempt(q).state == AttemptState::InDoubt);
  CHECK(h.ledger_for(q.sale.id).empty());

  h.clock.advance(24h);
  const DrainSummary s = h.drain();
  CHECK(s.looked_up == 1);
  CHECK(s.done == 1);
  CHECK(h.attempt(q).state == AttemptState::Approved);
  CHECK(h.ledger_for(q.sale.id).size() == 1);
  CHECK(h.op(q.op_id).idempotency_key == q.attempt.idempotency_key);
}

TEST_CASE("a known PaymentIntent id is retrieved instead of re-sending", "[engine]") {
  EngineHarness h({.sim = [](stripesim::ServerOptions& o) { o.sim.faults = {nth(FaultKind::LostAfterCommit, 1)}; }});
  const Queued q = h.queue();
  h.drain();
  const auto entry = h.ledger_for(q.sale.id).at(0);
  // What a webhook or an earlier answer would have told us.
  REQUIRE(h.store->attempts().update(store::AttemptUpdate{.attempt_id = q.attempt.id, .payment_intent_id = entry.id}));
  h.clock.advance(1h);
  h.drain();
  REQUIRE(h.reports.size() == 2);
  CHECK(h.reports[1].looked_up);
  CHECK_FALSE(h.reports[1].sent);
  CHECK(h.attempt(q).state == AttemptState::Approved);
}

TEST_CASE("409 idempotency_key_in_use keeps the attempt in doubt and the next drain gets the original answer",
          "[engine]") {
  FaultSpec slow;
  slow.kind = FaultKind::Latency;
  slow.nth = 1;
  slow.latency = 400ms;
  EngineHarness h({.sim = [&](stripesim::ServerOptions& o) { o.sim.faults = {slow}; }, .max_retries = 2});
  const Queued q = h.queue();
  const auto op = h.op(q.op_id);

  // Another request with the same key is still running at Stripe (e.g. from before a crash).
  std::thread other([&] {
    boost::asio::io_context io2;
    HttpConfig hc;
    hc.base_url = h.sim->base_url();
    auto http = HttpClient::create(io2, hc).value();
    HttpRequest req{"POST", op.path,
                    {{"Authorization", std::string("Bearer ") + kKey},
                     {"Stripe-Account", op.account_id},
                     {"Idempotency-Key", op.idempotency_key},
                     {"Content-Type", "application/x-www-form-urlencoded"}},
                    op.body};
    (void)run_blocking(io2, http->async_send(req));
  });
  REQUIRE(h.sim->api().wait_in_flight(1, 5s) >= 1);

  DrainSummary s = h.drain();
  other.join();
  CHECK(s.retry == 1);
  CHECK(h.attempt(q).state == AttemptState::InDoubt);
  REQUIRE(h.reports.size() == 1);
  CHECK(h.reports[0].error == ErrorKind::OutcomeUnknown);
  CHECK(*h.reports[0].next_attempt_at == h.clock.now() + h.engine_config.in_flight_retry);

  h.clock.advance(h.engine_config.in_flight_retry);
  s = h.drain();
  CHECK(s.done == 1);
  CHECK(h.attempt(q).state == AttemptState::Approved);
  CHECK(h.ledger_for(q.sale.id).size() == 1);
}

TEST_CASE("429 rate_limit answers are retried later and every payment gets through exactly once", "[engine]") {
  EngineHarness h({.sim = [](stripesim::ServerOptions& o) { o.sim.rate_limit_test = 5; }, .client_rate = 5});
  std::vector<Queued> qs;
  for (int i = 0; i < 12; ++i) qs.push_back(h.queue({.amount = 1000 + i * 10}));

  DrainSummary first = h.drain();
  CHECK(first.done == 5);
  CHECK(first.rate_limited == 7);
  CHECK(first.dead == 0);
  CHECK(h.limiter->current_rate(kAccount) < 5.0);  // the client slowed down
  int rounds = 0;
  int done = first.done;
  while (done < 12 && rounds++ < 20) {
    h.clock.advance(h.engine_config.rate_limited_retry);
    done += h.drain().done;
  }
  CHECK(done == 12);
  for (const auto& q : qs) {
    CHECK(h.attempt(q).state == AttemptState::Approved);
    CHECK(h.ledger_for(q.sale.id).size() == 1);
  }
  CHECK(h.sim->ledger().size() == 12);
  CHECK_FALSE(h.sleeper.slept.empty());  // and paced itself between sends
}

TEST_CASE("a dead operation does not block the others", "[engine]") {
  EngineHarness h;
  std::vector<Queued> good;
  good.push_back(h.queue());
  // An operation Stripe refuses (400: unknown payment method): dead at once, needs a person.
  const Queued bad = h.queue({.payment_method = "pm_does_not_exist"});
  good.push_back(h.queue());
  good.push_back(h.queue());

  const DrainSummary s = h.drain();
  CHECK(s.dead == 1);
  CHECK(s.done == 3);
  const auto op = h.op(bad.op_id);
  CHECK(op.state == OutboxState::Dead);
  CHECK_THAT(op.last_error, Catch::Contains("payment_method") || Catch::Contains("PaymentMethod"));
  CHECK(h.attempt(bad).state == AttemptState::Submitting);  // never shown as declined
  for (const auto& q : good) CHECK(h.attempt(q).state == AttemptState::Approved);
  const auto status = h.store->reports().status().value();
  REQUIRE(status.dead.size() == 1);
  CHECK(status.dead[0].id == bad.op_id);

  // A person retries it (audited): same key, and Stripe's answer is the same.
  REQUIRE(h.store->outbox().retry(bad.op_id, "alice", "checked the token"));
  h.drain();
  CHECK(h.op(bad.op_id).state == OutboxState::Dead);
}

TEST_CASE("an operation goes dead after max_attempts retryable failures", "[engine]") {
  FaultSpec down;
  down.kind = FaultKind::Unavailable;
  down.probability = 1.0;
  EngineHarness h({.sim = [&](stripesim::ServerOptions& o) { o.sim.faults = {down}; },
                   .engine = [](EngineConfig& c) { c.max_attempts = 3; }});
  const Queued q = h.queue();
  for (int i = 0; i < 5; ++i) {
    h.drain();
    if (h.op(q.op_id).state == OutboxState::Dead) break;
    h.clock.advance(h.engine_config.backoff.cap);
  }
  const auto op = h.op(q.op_id);
  CHECK(op.state == OutboxState::Dead);
  CHECK(op.attempts == 3);
  CHECK_THAT(op.last_error, Catch::Contains("gave up after 3 attempts"));
  CHECK(h.attempt(q).state == AttemptState::InDoubt);  // 503 on a write: unknown, not declined
  CHECK(h.sim->ledger().empty());
}

TEST_CASE("each payment goes to the connected account it was taken for", "[engine]") {
  EngineHarness h;
  std::vector<Queued> qs;
  for (int i = 0; i < 6; ++i) qs.push_back(h.queue({.amount = 700 + i, .account = i % 2 ? kOtherAccount : kAccount}));
  // The engine has no "current account" at all: the operation carries it. (Amounts ending in
  // 01/05 decline in test mode, so only check the ones that approve.)
  h.drain();
  for (const auto& q : qs) {
    const auto ledger = h.ledger_for(q.sale.id);
    REQUIRE(ledger.size() == 1);
    CHECK(ledger[0].account == q.attempt.account_id);
  }
  CHECK(h.sim->api().ledger(kAccount).size() == 3);
  CHECK(h.sim->api().ledger(kOtherAccount).size() == 3);
}

TEST_CASE("an operation whose account differs from its attempt's is never sent", "[engine]") {
  EngineHarness h;
  const Queued q = h.queue();
  // The store refuses to enqueue it...
  auto op = h.op(q.op_id);
  op.id = 0;
  op.state = OutboxState::Pending;
  op.account_id = kOtherAccount;
  op.idempotency_key = "other-key";
  auto r = h.store->outbox().enqueue(op);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::FailedPrecondition);
  // ...and the builder takes the account from the attempt, not from any configuration.
  auto built = make_payment_intent_operation(q.sale, q.attempt, PaymentIntentOptions{}, h.clock.now()).value();
  CHECK(built.account_id == kAccount);
}

TEST_CASE("a manual-capture authorization is approved and captured by a keyed capture operation", "[engine]") {
  EngineHarness h;
  const Queued q = h.queue({.amount = 3000, .capture_method = "manual"});
  const DrainSummary s = h.drain();  // the capture is due at once and drained in the same pass
  CHECK(s.done == 2);
  CHECK(h.attempt(q).state == AttemptState::Approved);
  const auto ops = h.store->outbox().for_sale(q.sale.id).value();
  REQUIRE(ops.size() == 2);
  CHECK(ops[1].kind == pos::OperationKind::Capture);
  CHECK(ops[1].state == OutboxState::Done);
  CHECK(ops[1].idempotency_key == capture_key_for(q.attempt));
  const auto ledger = h.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].status == "succeeded");
  CHECK(ledger[0].amount_received == 3000);
}

TEST_CASE("an abandoned authorization is cancelled, never captured", "[engine]") {
  EngineHarness h({.engine = [](EngineConfig& c) { c.capture_delay = std::chrono::minutes(10); }});
  const Queued q = h.queue({.amount = 3000, .capture_method = "manual"});
  h.drain();
  REQUIRE(h.attempt(q).state == AttemptState::Approved);
  REQUIRE(h.ledger_for(q.sale.id).at(0).status == "requires_capture");
  // The authorization is recorded as voided before the capture is due.
  REQUIRE(h.store->attempts().update(
      store::AttemptUpdate{.attempt_id = q.attempt.id, .event = pos::AttemptEvent::StripeCanceled}));
  h.clock.advance(std::chrono::minutes(10));
  const DrainSummary s = h.drain();
  CHECK(s.done == 2);  // the capture (skipped) and the cancel it queued
  const auto ledger = h.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].status == "canceled");
  CHECK(ledger[0].amount_received == 0);
}

TEST_CASE("a capture that keeps failing is never retried past the capture deadline", "[engine]") {
  EngineHarness h({.engine = [](EngineConfig& c) {
    c.capture_deadline = std::chrono::minutes(30);
    c.backoff.first = std::chrono::minutes(20);
  }});
  const Queued q = h.queue({.amount = 3000, .capture_method = "manual"});
  FaultSpec down;
  down.kind = FaultKind::Unavailable;
  down.probability = 1.0;
  // Only the capture meets the outage.
  auto first = h.engine->async_drain_once(1);
  run_blocking(h.io, std::move(first));
  h.sim->api().set_faults({down});
  h.drain();
  const auto ops = h.store->outbox().for_sale(q.sale.id).value();
  REQUIRE(ops.size() == 2);
  const auto cap = ops[1];
  CHECK(cap.state == OutboxState::FailedRetryable);
  CHECK(cap.next_attempt_at <= cap.created_at + std::chrono::minutes(30));
  h.clock.advance(std::chrono::minutes(31));
  h.drain();
  CHECK(h.op(cap.id).state == OutboxState::Dead);
  CHECK_THAT(h.op(cap.id).last_error, Catch::Contains("capture deadline"));
}

TEST_CASE("refunds (partial, full remainder with the application fee) are keyed operations", "[engine]") {
  EngineHarness h;
  const Queued q = h.queue({.amount = 5000});
  h.drain();
  const auto a = h.attempt(q);
  REQUIRE(a.state == AttemptState::Approved);
  auto partial = make_refund_operation(a, a.payment_intent_id, RefundRequest{1000, "requested_by_customer", {}},
                                       "refund-key-1", h.clock.now());
  REQUIRE(partial);
  auto rest = make_refund_operation(a, a.payment_intent_id, RefundRequest{std::nullopt, "", true}, "refund-key-2",
                                    h.clock.now());
  REQUIRE(rest);
  CHECK(rest->body.find("refund_application_fee=true") != std::string::npos);
  const auto id1 = h.store->outbox().enqueue(*partial).value();
  const auto id2 = h.store->outbox().enqueue(*rest).value();
  h.drain();
  CHECK(h.op(id1).state == OutboxState::Done);
  CHECK(h.op(id1).stripe_object_id.starts_with("re_"));
  CHECK(h.op(id2).state == OutboxState::Done);
  const auto ledger = h.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].amount_refunded == 5000);
  CHECK(ledger[0].application_fee_refunded > 0);
  CHECK(h.attempt(q).state == AttemptState::Approved);  // a refund is its own record
}

TEST_CASE("an attempt already decided (e.g. by a webhook) completes its operation without sending", "[engine]") {
  EngineHarness h;
  const Queued q = h.queue();
  REQUIRE(h.store->attempts().update(
      store::AttemptUpdate{.attempt_id = q.attempt.id,
                           .event = pos::AttemptEvent::StripeApproved,
                           .payment_intent_id = std::string("pi_fromwebhook")}));
  h.drain();
  CHECK(h.op(q.op_id).state == OutboxState::Done);
  CHECK(h.op(q.op_id).stripe_object_id == "pi_fromwebhook");
  CHECK(h.sim->ledger().empty());
}

TEST_CASE("no more than `concurrency` operations are in flight at once", "[engine]") {
  FaultSpec slow;
  slow.kind = FaultKind::Latency;
  slow.probability = 1.0;
  slow.latency = 30ms;
  EngineHarness h({.sim = [&](stripesim::ServerOptions& o) { o.sim.faults = {slow}; },
                   .engine = [](EngineConfig& c) { c.concurrency = 3; }});
  for (int i = 0; i < 9; ++i) h.queue({.amount = 600 + 10 * i});
  std::size_t peak = 0;
  std::atomic<bool> done{false};
  std::thread watch([&] {
    while (!done) peak = std::max(peak, h.sim->api().wait_in_flight(100, 2ms));
  });
  const DrainSummary s = h.drain();
  done = true;
  watch.join();
  CHECK(s.done == 9);
  CHECK(peak >= 2);
  CHECK(peak <= 3);
}

TEST_CASE("backoff grows per failure, is capped and jittered to 50-100 %", "[engine]") {
  BackoffSchedule b;
  b.first = 1000ms;
  b.factor = 2;
  b.cap = 10'000ms;
  CHECK(b.delay_with_jitter(1, 1.0) == 1000ms);
  CHECK(b.delay_with_jitter(2, 1.0) == 2000ms);
  CHECK(b.delay_with_jitter(4, 1.0) == 8000ms);
  CHECK(b.delay_with_jitter(5, 1.0) == 10'000ms);
  CHECK(b.delay_with_jitter(50, 1.0) == 10'000ms);
  CHECK(b.delay_with_jitter(4, 0.5) == 4000ms);
  CHECK(b.delay_with_jitter(1, 0.5) == 500ms);  // floor first / 2
  CHECK(b.delay_with_jitter(3, 0.0) == 2000ms);  // jitter clamped to 0.5
  SeededRandom r(3);
  for (int n = 1; n < 8; ++n) {
    const auto d = b.delay(n, r);
    CHECK(d >= b.delay_with_jitter(n, 0.5));
    CHECK(d <= b.delay_with_jitter(n, 1.0));
  }
}
