// The engine and the webhook handler on a Ledger that is not the SQLite store (memory_ledger.hpp):
// the same Stripe logic (verdicts, same-key retries, the >23 h look-up, offline declines,
// webhooks) runs unchanged on whatever database implements ledger.hpp, as the office's
// PostgreSQL will. This binary links till_sync_engine_core and no store (tests/sync/CMakeLists.txt).

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "memory_ledger.hpp"
#include "sim_fixture.hpp"
#include "till/base/log.hpp"
#include "till/sync/engine.hpp"
#include "till/sync/webhook.hpp"
#include "till/sync/webhook_handler.hpp"

using namespace till;
using namespace till::sync;
using namespace till::sync::testing;
using namespace std::chrono_literals;
using pos::AttemptState;
using pos::OutboxState;

namespace {

stripesim::FaultSpec lost_after_commit_once() {
  stripesim::FaultSpec f;
  f.kind = stripesim::FaultKind::LostAfterCommit;
  f.nth = 1;
  f.post_only = true;
  return f;
}

struct LedgerHarness {
  FakeClock clock;
  std::unique_ptr<stripesim::Server> sim;
  boost::asio::io_context io;
  RecordingSleeper sleeper;
  SeededRandom random{42};
  SeededRandom ids{4242};
  std::shared_ptr<RateLimiter> limiter;
  std::unique_ptr<StripeClient> client;
  MemoryLedger ledger{clock};
  std::unique_ptr<Engine> engine;

  explicit LedgerHarness(std::function<void(stripesim::ServerOptions&)> configure = {}) {
    log::set_level(log::Level::Error);
    sim = start_sim(clock, configure);
    client = make_client(io, *sim, clock, random, sleeper, limiter, 0, 1000.0);
    engine = std::make_unique<Engine>(ledger, *client, clock, random);
  }

  Queued queue(const PaymentSpec& spec = {}) {
    Queued q = make_payment(spec, ids, clock.now());
    ledger.add_sale(q.sale);
    ledger.add_attempt(q.attempt);
    q.op_id = ledger.add_operation(payment_operation(q, spec, clock.now()));
    return q;
  }
  DrainSummary drain() { return run_blocking(io, engine->async_drain_once()); }
  pos::PaymentAttempt attempt(const Queued& q) { return ledger.attempt(q.attempt.id).value(); }
  pos::OutboxOperation op(const Queued& q) { return ledger.tables().operations.at(q.op_id); }
};

}  // namespace

TEST_CASE("on an in-memory ledger an approved payment approves the attempt, pays the sale and completes the operation",
          "[ledger]") {
  LedgerHarness h;
  const Queued q = h.queue();
  const DrainSummary s = h.drain();
  CHECK(s.done == 1);
  const auto a = h.attempt(q);
  CHECK(a.state == AttemptState::Approved);
  CHECK(h.ledger.sale(q.sale.id)->state == pos::SaleState::Paid);
  CHECK(h.op(q).state == OutboxState::Done);
  const auto at_stripe = sim_ledger_for(*h.sim, q.sale.id);
  REQUIRE(at_stripe.size() == 1);
  CHECK(at_stripe[0].id == a.payment_intent_id);
}

TEST_CASE("on an in-memory ledger a lost answer is in doubt and the same-key retry resolves it with no duplicate",
          "[ledger]") {
  LedgerHarness h([](stripesim::ServerOptions& o) { o.sim.faults = {lost_after_commit_once()}; });
  const Queued q = h.queue();
  h.drain();
  CHECK(h.attempt(q).state == AttemptState::InDoubt);
  CHECK(h.op(q).state == OutboxState::FailedRetryable);
  h.clock.advance(h.engine->config().backoff.cap);
  CHECK(h.drain().done == 1);
  CHECK(h.attempt(q).state == AttemptState::Approved);
  CHECK(sim_ledger_for(*h.sim, q.sale.id).size() == 1);
  CHECK(h.op(q).attempts == 2);
}

TEST_CASE("on an in-memory ledger the lookup past the key-retention margin finds the payment instead of re-sending",
          "[ledger]") {
  LedgerHarness h([](stripesim::ServerOptions& o) { o.sim.faults = {lost_after_commit_once()}; });
  const Queued q = h.queue({.amount = 2000});
  h.drain();
  REQUIRE(h.attempt(q).state == AttemptState::InDoubt);
  h.clock.advance(25h);  // the simulator prunes the key: a re-send would create a second PaymentIntent
  const DrainSummary s = h.drain();
  CHECK(s.looked_up == 1);
  CHECK(h.attempt(q).state == AttemptState::Approved);
  CHECK(sim_ledger_for(*h.sim, q.sale.id).size() == 1);
}

TEST_CASE("on an in-memory ledger a stored payment declined when forwarded is declined_after_forward, never declined",
          "[ledger]") {
  LedgerHarness h;
  const Queued q = h.queue({.payment_method = "pm_card_chargeDeclined", .offline = true});
  h.drain();
  CHECK(h.attempt(q).state == AttemptState::DeclinedAfterForward);
  CHECK(h.ledger.tables().attention == std::vector<std::string>{q.attempt.id});
  CHECK(h.op(q).state == OutboxState::Done);
}

TEST_CASE("on an in-memory ledger a commit that fails leaves the operation in flight and changes nothing",
          "[ledger]") {
  LedgerHarness h;
  const Queued q = h.queue();
  h.ledger.failing_commits = 1;
  const DrainSummary s = h.drain();
  CHECK(s.stuck == 1);
  CHECK(h.attempt(q).state == AttemptState::Submitting);  // Stripe's answer is not recorded...
  CHECK(h.op(q).state == OutboxState::InFlight);          // ...and the operation waits for a restart
  REQUIRE(h.ledger.release_claimed({q.op_id}));
  CHECK(h.drain().done == 1);  // the same key fetches the same answer
  CHECK(h.attempt(q).state == AttemptState::Approved);
  CHECK(sim_ledger_for(*h.sim, q.sale.id).size() == 1);
}

TEST_CASE("on an in-memory ledger a webhook applies once and its redelivery is a duplicate", "[ledger]") {
  LedgerHarness h;
  const Queued q = h.queue();
  const Secret secret("whsec_till_test_endpoint_secret");
  WebhookHandlerConfig c;
  c.secret = secret;
  WebhookHandler handler(h.ledger, h.clock, c);
  const nlohmann::json pi = {{"id", "pi_from_webhook"},
                             {"object", "payment_intent"},
                             {"status", "succeeded"},
                             {"amount", q.attempt.amount},
                             {"currency", "usd"},
                             {"metadata", {{"sale_id", q.sale.id}, {"attempt", "1"}}}};
  const nlohmann::json ev = {{"id", "evt_1"},
                             {"object", "event"},
                             {"type", "payment_intent.succeeded"},
                             {"account", kAccount},
                             {"created", to_unix_ms(h.clock.now()) / 1000},
                             {"data", {{"object", pi}}}};
  const std::string body = ev.dump();
  const std::string sig = sign_payload(secret, to_unix_ms(h.clock.now()) / 1000, body);
  const WebhookResult first = handler.handle(body, sig);
  CHECK(first.kind == WebhookResult::Kind::Processed);
  CHECK(h.attempt(q).state == AttemptState::Approved);
  CHECK(h.attempt(q).payment_intent_id == "pi_from_webhook");
  CHECK(handler.handle(body, sig).kind == WebhookResult::Kind::Duplicate);
  CHECK(h.ledger.tables().webhooks.size() == 1);
}

TEST_CASE("the engine's sources and headers name no database", "[ledger]") {
  const std::filesystem::path root = TILL_SOURCE_DIR;
  const std::vector<std::string> core = {
      "sync/include/till/sync/engine.hpp",     "sync/include/till/sync/ledger.hpp",
      "sync/include/till/sync/webhook_handler.hpp", "sync/src/engine_impl.hpp",
      "sync/src/engine.cpp",                   "sync/src/engine_record.cpp",
      "sync/src/engine_payment.cpp",           "sync/src/engine_followups.cpp",
      "sync/src/attempt_plan.hpp",             "sync/src/attempt_plan.cpp",
      "sync/src/webhook_handler.cpp"};
  for (const auto& rel : core) {
    std::ifstream in(root / rel);
    REQUIRE(in);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(rel);
    CHECK(text.find("#include \"till/store/") == std::string::npos);
    CHECK(text.find("#include <sqlite3.h>") == std::string::npos);
    CHECK(text.find("#include <libpq-fe.h>") == std::string::npos);
    if (!rel.ends_with(".hpp")) CHECK(text.find("store::Store&") == std::string::npos);  // headers: the convenience constructors
  }
}
