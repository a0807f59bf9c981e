// The Connect webhook endpoint (issue 4): signed, replayed, reordered, tampered and stale
// deliveries; routing by account; unknown objects kept for reconciliation; the HTTP listener;
// and the simulator delivering its own signed events to it.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "engine_fixture.hpp"
#include "till/sync/http.hpp"
#include "till/sync/webhook.hpp"
#include "till/sync/webhook_handler.hpp"
#include "till/sync/webhook_server.hpp"

using namespace till;
using namespace till::sync;
using namespace till::sync::testing;
using namespace std::chrono_literals;
using pos::AttemptState;
using Json = nlohmann::json;

namespace {

const Secret kSecret("whsec_till_test_endpoint_secret");

struct WebhookHarness {
  FakeClock clock;
  TempDir dir;
  std::optional<store::Store> store;
  std::optional<WebhookHandler> handler;
  SeededRandom ids{99};
  int next_event = 1;

  WebhookHarness() {
    log::set_level(log::Level::Error);
    store::OpenOptions oo;
    oo.data_key = test_data_key();
    store.emplace(store::Store::open(dir.file("till.db"), clock, oo).value());
    WebhookHandlerConfig c;
    c.secret = kSecret;
    handler.emplace(*store, clock, c);
  }

  struct Paid {
    pos::Sale sale;
    pos::PaymentAttempt attempt;
  };

  Paid attempt(std::int64_t amount = 1250, bool offline = false, std::string account = kAccount) {
    Paid p;
    p.sale = make_sale(new_uuid_v4(ids), account, amount, clock.now());
    REQUIRE(store->sales().persist(p.sale));
    auto& a = p.attempt;
    a.id = new_uuid_v4(ids);
    a.sale_id = p.sale.id;
    a.amount = amount;
    a.currency = "usd";
    a.account_id = account;
    a.idempotency_key = new_uuid_v4(ids);
    a.state = offline ? AttemptState::StoredOffline : AttemptState::Submitting;
    a.offline = offline;
    a.payment_method = "pm_card_visa";
    REQUIRE(store->attempts().create(a));
    return p;
  }

  static Json payment_intent(const Paid& p, const std::string& pi_id, const std::string& status) {
    Json pi = {{"id", pi_id},
               {"object", "payment_intent"},
               {"status", status},
               {"amount", p.attempt.amount},
               {"amount_capturable", status == "requires_capture" ? p.attempt.amount : 0},
               {"currency", "usd"},
               {"capture_method", status == "requires_capture" ? "manual" : "automatic"},
               {"metadata", {{"sale_id", p.sale.id}, {"register_id", "reg-1"}, {"attempt", "1"}}},
               {"last_payment_error", nullptr}};
    if (status == "requires_payment_method") {
      pi["last_payment_error"] = {{"type", "card_error"}, {"code", "card_declined"},
                                  {"decline_code", "generic_decline"}, {"message", "Your card was declined."}};
    }
    return pi;
  }

  std::string event(const std::string& type, const Json& object, const std::string& account = kAccount,
                    std::string id = {}) {
    if (id.empty()) id = "evt_test_" + std::to_string(next_event++);
    Json e = {{"id", id},
              {"object", "event"},
              {"type", type},
              {"account", account},
              {"api_version", "2026-10-28.endive"},
              {"created", to_unix_ms(clock.now()) / 1000},
              {"livemode", false},
              {"data", {{"object", object}}}};
    return e.dump();
  }

  std::string sign(const std::string& body, std::chrono::seconds age = 0s) const {
    return sign_payload(kSecret, to_unix_ms(clock.now() - age) / 1000, body);
  }

  WebhookResult deliver(const std::string& body) { return handler->handle(body, sign(body)); }

  pos::PaymentAttempt get(const Paid& p) { return store->attempts().get(p.attempt.id).value(); }
};

}  // namespace

TEST_CASE("a signed payment_intent.succeeded approves the attempt and pays the sale", "[webhook]") {
  WebhookHarness h;
  auto p = h.attempt();
  const std::string body = h.event("payment_intent.succeeded", WebhookHarness::payment_intent(p, "pi_1", "succeeded"));
  const auto r = h.deliver(body);
  CHECK(r.kind == WebhookResult::Kind::Processed);
  CHECK(r.http_status == 200);
  const auto a = h.get(p);
  CHECK(a.state == AttemptState::Approved);
  CHECK(a.payment_intent_id == "pi_1");
  CHECK(h.store->sales().get(p.sale.id).value().state == pos::SaleState::Paid);
  const auto ev = h.store->journal().webhook(r.event_id).value();
  REQUIRE(ev);
  CHECK(ev->processed);
  CHECK(ev->account == kAccount);
  CHECK(ev->payload_sha256 == sha256_hex(body));
  CHECK_THAT(ev->result, Catch::Contains("approved"));
}

TEST_CASE("a replayed event is answered 200 as a duplicate and changes nothing", "[webhook]") {
  WebhookHarness h;
  auto p = h.attempt();
  const std::string body =
      h.event("payment_intent.payment_failed", WebhookHarness::payment_intent(p, "pi_2", "requires_payment_method"));
  CHECK(h.deliver(body).kind == WebhookResult::Kind::Processed);
  CHECK(h.get(p).state == AttemptState::Declined);
  const auto audit_before = h.store->journal().audit().value().size();

  h.clock.advance(30s);
  const auto again = h.deliver(body);  // Stripe's redelivery: same id, signed afresh
  CHECK(again.kind == WebhookResult::Kind::Duplicate);
  CHECK(again.http_status == 200);
  CHECK(h.store->journal().audit().value().size() == audit_before);
  CHECK(h.get(p).state == AttemptState::Declined);
}

TEST_CASE("reordered events never move a final state backwards", "[webhook]") {
  WebhookHarness h;
  auto p = h.attempt();
  const Json succeeded = WebhookHarness::payment_intent(p, "pi_3", "succeeded");
  const Json authorized = WebhookHarness::payment_intent(p, "pi_3", "requires_capture");
  const Json failed = WebhookHarness::payment_intent(p, "pi_3", "requires_payment_method");
  // Delivered newest first: succeeded, then the older amount_capturable_updated and a stale
  // payment_failed.
  CHECK(h.deliver(h.event("payment_intent.succeeded", succeeded)).kind == WebhookResult::Kind::Processed);
  const auto late_auth = h.deliver(h.event("payment_intent.amount_capturable_updated", authorized));
  const auto late_fail = h.deliver(h.event("payment_intent.payment_failed", failed));
  CHECK(late_auth.kind == WebhookResult::Kind::Processed);
  CHECK(late_fail.kind == WebhookResult::Kind::Processed);
  CHECK_THAT(late_fail.result, Catch::Contains("no change"));
  const auto a = h.get(p);
  CHECK(a.state == AttemptState::Approved);
  CHECK(a.decline_code.empty());
  // The late authorization did not queue a capture of an already captured payment.
  CHECK(h.store->outbox().for_sale(p.sale.id).value().empty());
}

TEST_CASE("a tampered body is rejected with 400 and nothing is recorded", "[webhook]") {
  WebhookHarness h;
  auto p = h.attempt();
  const std::string body = h.event("payment_intent.succeeded", WebhookHarness::payment_intent(p, "pi_4", "succeeded"));
  const std::string sig = h.sign(body);
  std::string tampered = body;
  tampered[tampered.find("1250")] = '9';  // 9250
  const auto r = h.handler->handle(tampered, sig);
  CHECK(r.kind == WebhookResult::Kind::Rejected);
  CHECK(r.http_status == 400);
  CHECK_THAT(r.result, Catch::Contains("mismatch"));
  CHECK(h.get(p).state == AttemptState::Submitting);
  CHECK_FALSE(h.store->journal().webhook("evt_test_1").value().has_value());
  // Another endpoint's secret does not verify either.
  const auto other = h.handler->handle(body, sign_payload(Secret("whsec_other"), to_unix_ms(h.clock.now()) / 1000, body));
  CHECK(other.kind == WebhookResult::Kind::Rejected);
  CHECK(h.handler->handle(body, "").kind == WebhookResult::Kind::Rejected);
}

TEST_CASE("a stale signature (older than five minutes) is rejected; one just inside tolerance is accepted",
          "[webhook]") {
  WebhookHarness h;
  auto p = h.attempt();
  const std::string body = h.event("payment_intent.succeeded", WebhookHarness::payment_intent(p, "pi_5", "succeeded"));
  const auto stale = h.handler->handle(body, h.sign(body, 301s));
  CHECK(stale.kind == WebhookResult::Kind::Rejected);
  CHECK_THAT(stale.result, Catch::Contains("timestamp_too_old"));
  CHECK(h.get(p).state == AttemptState::Submitting);
  const auto fresh = h.handler->handle(body, h.sign(body, 299s));
  CHECK(fresh.kind == WebhookResult::Kind::Processed);
  CHECK(h.get(p).state == AttemptState::Approved);
}

TEST_CASE("an event for a sale this register does not know is recorded for reconciliation", "[webhook]") {
  WebhookHarness h;
  WebhookHarness::Paid ghost;
  ghost.sale.id = "sale-from-elsewhere";
  ghost.attempt.amount = 777;
  const auto r = h.deliver(h.event("payment_intent.succeeded", WebhookHarness::payment_intent(ghost, "pi_6", "succeeded")));
  CHECK(r.kind == WebhookResult::Kind::Processed);
  CHECK(r.http_status == 200);
  CHECK_THAT(r.result, Catch::Contains("kept for reconciliation"));
  const auto ev = h.store->journal().webhook(r.event_id).value();
  REQUIRE(ev);
  CHECK_THAT(ev->result, Catch::Contains("pi_6"));
  bool audited = false;
  for (const auto& e : h.store->journal().audit().value_or(std::vector<store::AuditEntry>{})) {
    audited = audited || (e.action == "webhook.unknown_object" && e.detail.find("sale-from-elsewhere") != std::string::npos);
  }
  CHECK(audited);
}

TEST_CASE("an event from another connected account is recorded but not applied", "[webhook]") {
  WebhookHarness h;
  auto p = h.attempt(1250, false, kAccount);
  const auto r = h.deliver(
      h.event("payment_intent.succeeded", WebhookHarness::payment_intent(p, "pi_7", "succeeded"), kOtherAccount));
  CHECK(r.kind == WebhookResult::Kind::Processed);
  CHECK_THAT(r.result, Catch::Contains("not applied"));
  CHECK(h.get(p).state == AttemptState::Submitting);
}

TEST_CASE("payment_failed for a payment forwarded from offline is declined_after_forward on the attention list",
          "[webhook]") {
  WebhookHarness h;
  auto p = h.attempt(3300, true);
  h.deliver(h.event("payment_intent.payment_failed", WebhookHarness::payment_intent(p, "pi_8", "requires_payment_method")));
  CHECK(h.get(p).state == AttemptState::DeclinedAfterForward);
  CHECK(h.get(p).decline_code == "generic_decline");
  const auto att = h.store->journal().attention().value();
  REQUIRE(att.size() == 1);
  CHECK(att[0].customer_contact == "customer@example.com");
}

TEST_CASE("amount_capturable_updated queues one keyed capture, even when delivered under two event ids",
          "[webhook]") {
  WebhookHarness h;
  auto p = h.attempt(2500);
  const Json authorized = WebhookHarness::payment_intent(p, "pi_9", "requires_capture");
  const auto r1 = h.deliver(h.event("payment_intent.amount_capturable_updated", authorized));
  CHECK_THAT(r1.result, Catch::Contains("capture queued"));
  h.deliver(h.event("payment_intent.amount_capturable_updated", authorized));
  const auto ops = h.store->outbox().for_sale(p.sale.id).value();
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].kind == pos::OperationKind::Capture);
  CHECK(ops[0].path == "/v1/payment_intents/pi_9/capture");
  CHECK(ops[0].account_id == kAccount);
  CHECK(ops[0].idempotency_key == capture_key_for(h.get(p)));
}

TEST_CASE("payment_intent.canceled cancels an authorization; refunds are audited", "[webhook]") {
  WebhookHarness h;
  auto p = h.attempt(2500);
  h.deliver(h.event("payment_intent.succeeded", WebhookHarness::payment_intent(p, "pi_10", "succeeded")));
  const Json refund = {{"id", "re_1"},     {"object", "refund"}, {"status", "succeeded"}, {"amount", 500},
                       {"currency", "usd"}, {"payment_intent", "pi_10"}};
  const auto r = h.deliver(h.event("refund.updated", refund));
  CHECK_THAT(r.result, Catch::Contains("re_1"));
  bool audited = false;
  for (const auto& e : h.store->journal().audit().value_or(std::vector<store::AuditEntry>{})) audited = audited || e.action == "webhook.refund.updated";
  CHECK(audited);

  auto q = h.attempt(1800);
  h.deliver(h.event("payment_intent.amount_capturable_updated", WebhookHarness::payment_intent(q, "pi_11", "requires_capture")));
  Json canceled = WebhookHarness::payment_intent(q, "pi_11", "canceled");
  h.deliver(h.event("payment_intent.canceled", canceled));
  CHECK(h.get(q).state == AttemptState::Canceled);
}

TEST_CASE("the HTTP endpoint answers 200 for a signed event, 400 for a bad signature, 404/405 otherwise",
          "[webhook]") {
  WebhookHarness h;
  auto p = h.attempt();
  boost::asio::io_context io;
  auto server = WebhookServer::start(io, WebhookServerConfig{}, [&](std::string_view body, std::string_view sig) {
                  const auto r = h.handler->handle(body, sig);
                  return WebhookHttpReply{r.http_status, {}};
                }).value();
  HttpConfig hc;
  hc.base_url = "http://127.0.0.1:" + std::to_string(server->port());
  auto http = HttpClient::create(io, hc).value();
  const std::string body = h.event("payment_intent.succeeded", WebhookHarness::payment_intent(p, "pi_12", "succeeded"));
  const auto post = [&](const std::string& target, const std::string& b, const std::string& sig) {
    HttpRequest req{"POST", target, {{"Content-Type", "application/json"}, {"Stripe-Signature", sig}}, b};
    return run_blocking(io, http->async_send(req)).value().status;
  };
  CHECK(post("/webhooks/stripe", body, "t=1,v1=00") == 400);
  CHECK(post("/webhooks/stripe", body, h.sign(body)) == 200);
  CHECK(post("/webhooks/stripe", body, h.sign(body)) == 200);  // duplicate, still 2xx
  CHECK(post("/elsewhere", body, h.sign(body)) == 404);
  CHECK(run_blocking(io, http->async_send(HttpRequest{"GET", "/webhooks/stripe", {}, {}})).value().status == 405);
  CHECK(h.get(p).state == AttemptState::Approved);
  CHECK(server->requests_served() == 3);
  server->stop();
}

TEST_CASE("the simulator's own signed Connect deliveries (duplicated, reordered) are verified and applied",
          "[webhook]") {
  // The engine pays through the simulator, whose webhook sender posts every event (twice, in a
  // shuffled order) to our endpoint, signed with the endpoint secret.
  boost::asio::io_context webhook_io;
  std::optional<WebhookHandler> handler;
  auto server = WebhookServer::start(webhook_io, WebhookServerConfig{}, [&](std::string_view body, std::string_view sig) {
                  const auto r = handler->handle(body, sig);
                  return WebhookHttpReply{r.http_status, {}};
                }).value();
  EngineHarness h({.sim = [&](stripesim::ServerOptions& o) {
    o.sim.webhooks = {stripesim::WebhookEndpoint{server->url(), std::string(kSecret.reveal()), true}};
    o.sim.webhook_options.duplicate_probability = 1.0;
    o.sim.webhook_options.max_reorder_delay = 20ms;
  }});
  WebhookHandlerConfig c;
  c.secret = kSecret;
  handler.emplace(*h.store, h.clock, c);

  const Queued q1 = h.queue({.amount = 1500});
  const Queued q2 = h.queue({.amount = 1600, .account = kOtherAccount});
  h.drain();
  REQUIRE(h.attempt(q1).state == AttemptState::Approved);

  // Serve deliveries until the simulator has no more in progress (real time: the sender is a
  // separate thread; bounded).
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while ((h.sim->deliveries_in_progress() > 0 || server->requests_served() == 0) &&
         std::chrono::steady_clock::now() < give_up) {
    webhook_io.run_for(20ms);
  }
  const auto records = h.sim->api().deliveries();
  REQUIRE_FALSE(records.empty());
  for (const auto& r : records) CHECK(r.http_status == 200);
  // Every event was recorded once, with its connected account.
  int succeeded_events = 0;
  for (const auto& r : records) {
    auto ev = h.store->journal().webhook(r.event_id).value();
    REQUIRE(ev);
    CHECK(ev->processed);
    if (ev->type == "payment_intent.succeeded") {
      ++succeeded_events;
      CHECK((ev->account == kAccount || ev->account == kOtherAccount));
    }
  }
  CHECK(succeeded_events == 4);  // two events, each delivered twice
  CHECK(h.attempt(q2).state == AttemptState::Approved);
  server->stop();
}
