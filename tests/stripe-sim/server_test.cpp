// The transport and the account layer: keys, API versions, Connect scoping, rate limits, every
// fault class, keep-alive, TLS with the generated CA, events and signed webhook delivery.

#include <catch2/catch.hpp>

#include <set>

#include "sim_fixture.hpp"
#include "till/base/secret.hpp"
#include "till/sync/webhook.hpp"

using namespace till;
using namespace till::stripesim;
using namespace till::stripesim::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {
const std::string kBody = "amount=1000&currency=usd&payment_method=pm_card_visa&confirm=true";
}

TEST_CASE("a missing or unknown API key is 401 and a restricted key works") {
  Sim sim([](ServerOptions& o) { o.sim.api_keys = {kKey, "rk_test_till_restricted_5678"}; });
  auto none = sim.http->request("GET", "/v1/payment_intents", {});
  CHECK(none.status == 401);
  CHECK(none.json["error"]["type"] == "invalid_request_error");
  auto wrong =
      sim.http->request("GET", "/v1/payment_intents", {{"Authorization", "Bearer sk_test_nope_nope_9999"}});
  CHECK(wrong.status == 401);
  CHECK(wrong.body.find("sk_test_nope_nope_9999") == std::string::npos);  // never echoed
  auto restricted = sim.http->request("GET", "/v1/payment_intents",
                                      {{"Authorization", "Bearer rk_test_till_restricted_5678"}});
  CHECK(restricted.status == 200);
  // Basic auth with the key as user name, as curl -u sends it.
  auto basic = sim.http->request("GET", "/v1/account",
                                 {{"Authorization", "Basic c2tfdGVzdF90aWxsX3NpbV9wbGF0Zm9ybV9rZXk6"}});
  CHECK(basic.status == 200);
}

TEST_CASE("only the two newest API versions are accepted") {
  Sim sim;
  for (const char* v : {"2026-10-28.endive", "2026-09-30.endive"}) {
    auto r = sim.http->request("GET", "/v1/account",
                               {{"Authorization", std::string("Bearer ") + kKey}, {"Stripe-Version", v}});
    CHECK(r.status == 200);
    CHECK(r.header("stripe-version") == v);
  }
  auto old =
      sim.http->request("GET", "/v1/account",
                        {{"Authorization", std::string("Bearer ") + kKey}, {"Stripe-Version", "2024-06-20"}});
  CHECK(old.status == 400);
  CHECK(old.json["error"]["type"] == "invalid_request_error");
  CHECK(old.json["error"]["message"].get<std::string>().find("2024-06-20") != std::string::npos);
}

TEST_CASE("objects are scoped per connected account and an unknown account is refused") {
  Sim sim;
  auto pi = sim.pay(1000);
  const std::string id = pi["id"];
  CHECK(sim.get("/v1/payment_intents/" + id, kAccount).status == 200);
  CHECK(sim.get("/v1/payment_intents/" + id, kOtherAccount).status == 404);
  CHECK(sim.get("/v1/payment_intents/" + id, "").status == 404);  // the platform's own books
  auto unknown = sim.get("/v1/payment_intents", "acct_1NotConnected0000");
  CHECK(unknown.status == 403);
  CHECK(unknown.json["error"]["code"] == "account_invalid");
  CHECK(sim.get("/v1/account", kAccount).json["id"] == kAccount);
}

TEST_CASE("the per-account rate limit answers 429 rate_limit within one second of the clock") {
  Sim sim([](ServerOptions& o) { o.sim.rate_limit_test = 3; });
  for (int i = 0; i < 3; ++i) CHECK(sim.get("/v1/payment_intents").status == 200);
  auto limited = sim.get("/v1/payment_intents");
  CHECK(limited.status == 429);
  CHECK(limited.json["error"]["code"] == "rate_limit");
  CHECK(sim.get("/v1/payment_intents", kOtherAccount).status == 200);  // another account
  sim.clock.advance(1s);
  CHECK(sim.get("/v1/payment_intents").status == 200);
}

TEST_CASE("a live key gets the live limit") {
  Sim sim([](ServerOptions& o) {
    o.sim.api_keys = {"sk_live_till_sim_live_key"};
    o.sim.rate_limit_live = 5;
    o.sim.rate_limit_test = 1;
  });
  Headers live{{"Authorization", "Bearer sk_live_till_sim_live_key"}};
  int ok = 0;
  for (int i = 0; i < 6; ++i) ok += sim.http->request("GET", "/v1/account", live).status == 200;
  CHECK(ok == 5);
}

TEST_CASE("an injected lock_timeout is a retryable 429 that applies nothing") {
  Sim sim([](ServerOptions& o) { o.sim.faults = {*parse_fault("lock_timeout:n=1")}; });
  auto r = sim.post("/v1/payment_intents", kBody, "lk-1");
  CHECK(r.status == 429);
  CHECK(r.json["error"]["code"] == "lock_timeout");
  CHECK(r.header("stripe-should-retry") == "true");
  CHECK(sim.server->ledger().empty());
  CHECK(sim.post("/v1/payment_intents", kBody, "lk-1").status == 200);
}

TEST_CASE("an injected 503 applies nothing and the same key then succeeds") {
  Sim sim([](ServerOptions& o) { o.sim.faults = {*parse_fault("unavailable:n=1")}; });
  auto r = sim.post("/v1/payment_intents", kBody, "un-1");
  CHECK(r.status == 503);
  CHECK(r.json["error"]["type"] == "api_error");
  CHECK(sim.server->ledger().empty());
  auto again = sim.post("/v1/payment_intents", kBody, "un-1");
  CHECK(again.status == 200);
  CHECK(again.header("idempotent-replayed").empty());
}

TEST_CASE("a connection reset before the request is processed applies nothing") {
  Sim sim([](ServerOptions& o) { o.sim.faults = {*parse_fault("reset:n=1")}; });
  TestHttpClient client(sim.server->port());
  REQUIRE(client.send("POST", "/v1/payment_intents", sim.headers("rs-1", kAccount), kBody));
  auto dropped = client.receive();
  CHECK(dropped.status == 0);
  CHECK(sim.server->ledger().empty());
  auto again = client.request("POST", "/v1/payment_intents", sim.headers("rs-1", kAccount), kBody);
  CHECK(again.status == 200);
  CHECK(again.header("idempotent-replayed").empty());
  CHECK(sim.server->ledger().size() == 1);
}

TEST_CASE("a response lost after commit applied the write, and the same key replays it") {
  Sim sim([](ServerOptions& o) { o.sim.faults = {*parse_fault("lost_after_commit:n=1")}; });
  TestHttpClient client(sim.server->port());
  REQUIRE(client.send("POST", "/v1/payment_intents", sim.headers("lost-1", kAccount), kBody));
  auto dropped = client.receive();
  CHECK(dropped.status == 0);
  REQUIRE(sim.server->ledger().size() == 1);
  CHECK(sim.server->ledger()[0].status == "succeeded");
  auto again = client.request("POST", "/v1/payment_intents", sim.headers("lost-1", kAccount), kBody);
  REQUIRE(again.status == 200);
  CHECK(again.header("idempotent-replayed") == "true");
  CHECK(again.json["id"] == sim.server->ledger()[0].id);
  CHECK(sim.server->ledger().size() == 1);
}

TEST_CASE("faults by probability are reproducible from the seed") {
  auto run = [](std::uint64_t seed) {
    Sim sim([seed](ServerOptions& o) {
      o.sim.seed = seed;
      o.sim.faults = {*parse_fault("unavailable:p=0.3"), *parse_fault("rate_limit:p=0.2")};
    });
    std::string pattern;
    for (int i = 0; i < 40; ++i) {
      pattern += std::to_string(sim.get("/v1/payment_intents").status) + ",";
    }
    return pattern;
  };
  const std::string a = run(42);
  CHECK(a == run(42));
  CHECK(a != run(43));
  CHECK(a.find("503") != std::string::npos);
  CHECK(a.find("429") != std::string::npos);
  CHECK(a.find("200") != std::string::npos);
}

TEST_CASE("post_only faults leave reads alone and the control endpoint replaces faults") {
  Sim sim;
  auto set = sim.http->request("POST", "/_sim/faults", {}, "fault=unavailable:post");
  REQUIRE(set.status == 200);
  CHECK(set.json["faults"][0]["kind"] == "unavailable");
  CHECK(sim.get("/v1/payment_intents").status == 200);
  CHECK(sim.post("/v1/payment_intents", kBody).status == 503);
  CHECK(sim.http->request("POST", "/_sim/faults", {}, "fault=bogus").status == 400);
  REQUIRE(sim.http->request("POST", "/_sim/faults", {}, "").status == 200);  // clears
  CHECK(sim.post("/v1/payment_intents", kBody).status == 200);
}

TEST_CASE("parse_fault reads every kind and refuses nonsense") {
  auto f = parse_fault("latency:ms=50:p=0.25:post");
  REQUIRE(f);
  CHECK(f->kind == FaultKind::Latency);
  CHECK(f->latency == 50ms);
  CHECK(f->probability == 0.25);
  CHECK(f->post_only);
  CHECK(parse_fault("5xx:n=3")->kind == FaultKind::Unavailable);
  CHECK(parse_fault("500")->kind == FaultKind::ServerError);
  CHECK(parse_fault("429")->kind == FaultKind::RateLimit);
  CHECK(parse_fault("lock_timeout")->kind == FaultKind::LockTimeout);
  CHECK(parse_fault("reset:n=2")->nth == 2);
  CHECK(parse_fault("lost")->kind == FaultKind::LostAfterCommit);
  CHECK_FALSE(parse_fault("latency"));
  CHECK_FALSE(parse_fault("unavailable:p=2"));
  CHECK_FALSE(parse_fault("unavailable:q=1"));
  CHECK_FALSE(parse_fault("explode"));
}

TEST_CASE("connections are kept alive across requests") {
  Sim sim;
  for (int i = 0; i < 5; ++i) REQUIRE(sim.get("/v1/payment_intents").status == 200);
  CHECK(sim.http->connections_opened() == 1);
}

TEST_CASE("TLS mode serves HTTPS that verifies against the generated CA file") {
  Sim sim([](ServerOptions& o) { o.tls = true; });
  REQUIRE_FALSE(sim.server->ca_file().empty());
  CHECK(sim.server->base_url().rfind("https://127.0.0.1:", 0) == 0);
  auto r = sim.post("/v1/payment_intents", kBody, "tls-1");
  CHECK(r.status == 200);
  CHECK(r.json["status"] == "succeeded");
  std::remove(sim.server->ca_file().c_str());
}

TEST_CASE("the server refuses to bind anything but loopback") {
  ServerOptions o;
  o.host = "0.0.0.0";
  auto s = Server::start(o);
  REQUIRE_FALSE(s);
  CHECK(s.error().kind == ErrorKind::InvalidArgument);
}

TEST_CASE("every state change is an event, listed per account and retrievable by id") {
  Sim sim;
  auto pi = sim.pay(1000, "&metadata[sale_id]=e1", "pm_card_visa", "ev-1");
  REQUIRE(pi["status"] == "succeeded");
  auto events = sim.get("/v1/events?limit=100");
  REQUIRE(events.status == 200);
  std::vector<std::string> types;
  for (const auto& e : events.json["data"]) types.push_back(e["type"]);
  CHECK(types ==
        std::vector<std::string>{"payment_intent.succeeded", "charge.succeeded", "payment_intent.created"});
  const json first = events.json["data"][0];
  CHECK(first["account"] == kAccount);
  CHECK(first["api_version"] == "2026-10-28.endive");
  CHECK(first["data"]["object"]["id"] == pi["id"]);
  CHECK(first["request"]["idempotency_key"] == "ev-1");
  CHECK(sim.get("/v1/events/" + first["id"].get<std::string>()).json["type"] == first["type"]);
  CHECK(sim.get("/v1/events/" + first["id"].get<std::string>(), kOtherAccount).status == 404);
  CHECK(sim.get("/v1/events?type=charge.succeeded").json["data"].size() == 1);
  CHECK(sim.get("/v1/events", kOtherAccount).json["data"].empty());
}

TEST_CASE("webhooks are signed as Stripe signs them and carry the connected account") {
  RecordingWebhookReceiver receiver;
  const std::string secret = "whsec_test_till_sim_secret";
  Sim sim([&](ServerOptions& o) { o.sim.webhooks = {{receiver.url(), secret, true}}; });
  sim.pay(1000);
  auto got = receiver.wait_for(3, 10s);
  REQUIRE(got.size() == 3);
  for (const auto& w : got) {
    CHECK(sync::verify_signature(w.signature, w.body, Secret(secret), sim.clock.now()));
    CHECK_FALSE(sync::verify_signature(w.signature, w.body + " ", Secret(secret), sim.clock.now()));
    auto event = json::parse(w.body);
    CHECK(event["account"] == kAccount);
    CHECK(event["object"] == "event");
  }
}

TEST_CASE("webhook delivery is retried until the endpoint answers 2xx") {
  RecordingWebhookReceiver receiver({500, 503});
  Sim sim([&](ServerOptions& o) {
    o.sim.webhooks = {{receiver.url(), "whsec_retry", true}};
    o.sim.webhook_options.first_retry = 10ms;
  });
  sim.post("/v1/payment_intents", "amount=1000&currency=usd");  // one event
  auto got = receiver.wait_for(3, 10s);
  REQUIRE(got.size() == 3);
  CHECK(got[0].body == got[2].body);
  auto log = sim.server->api().wait_for_deliveries(3, 10s);
  REQUIRE(log.size() == 3);
  CHECK(log[0].http_status == 500);
  CHECK(log[1].http_status == 503);
  CHECK(log[2].http_status == 200);
  CHECK(log[2].attempt == 3);
}

TEST_CASE("platform endpoints get platform events and connect endpoints connected ones") {
  RecordingWebhookReceiver connect_rx;
  RecordingWebhookReceiver platform_rx;
  Sim sim([&](ServerOptions& o) {
    o.sim.webhooks = {{connect_rx.url(), "whsec_c", true}, {platform_rx.url(), "whsec_p", false}};
  });
  sim.post("/v1/payment_intents", "amount=1000&currency=usd", {}, "");  // platform
  sim.post("/v1/payment_intents", "amount=1000&currency=usd");          // connected
  auto p = platform_rx.wait_for(1, 10s);
  auto c = connect_rx.wait_for(1, 10s);
  REQUIRE(p.size() == 1);
  REQUIRE(c.size() == 1);
  CHECK_FALSE(json::parse(p[0].body).contains("account"));
  CHECK(json::parse(c[0].body)["account"] == kAccount);
}

TEST_CASE("duplicated deliveries send the same event id twice") {
  RecordingWebhookReceiver receiver;
  Sim sim([&](ServerOptions& o) {
    o.sim.webhooks = {{receiver.url(), "whsec_dup", true}};
    o.sim.webhook_options.duplicate_probability = 1.0;
  });
  sim.post("/v1/payment_intents", "amount=1000&currency=usd");
  auto got = receiver.wait_for(2, 10s);
  REQUIRE(got.size() == 2);
  CHECK(json::parse(got[0].body)["id"] == json::parse(got[1].body)["id"]);
}

TEST_CASE("the ledger endpoint lists every PaymentIntent per account") {
  Sim sim;
  sim.pay(1000, "&application_fee_amount=30&metadata[sale_id]=l1");
  sim.pay(2000, "", "pm_card_visa");
  sim.post("/v1/payment_intents", "amount=700&currency=usd", {}, kOtherAccount);
  auto all = sim.http->request("GET", "/_sim/ledger", {});
  REQUIRE(all.status == 200);
  CHECK(all.json["data"].size() == 3);
  CHECK(all.json["data"][0]["application_fee_amount"] == 30);
  CHECK(all.json["data"][0]["metadata"]["sale_id"] == "l1");
  auto one = sim.http->request("GET", std::string("/_sim/ledger?account=") + kOtherAccount, {});
  CHECK(one.json["data"].size() == 1);
}

TEST_CASE("reordered deliveries still deliver every event exactly once") {
  RecordingWebhookReceiver receiver;
  Sim sim([&](ServerOptions& o) {
    o.sim.webhooks = {{receiver.url(), "whsec_reorder", true}};
    o.sim.webhook_options.max_reorder_delay = 30ms;
  });
  sim.pay(1000);
  sim.pay(1100);
  auto got = receiver.wait_for(6, 10s);
  REQUIRE(got.size() == 6);
  std::set<std::string> ids;
  for (const auto& w : got) ids.insert(json::parse(w.body)["id"].get<std::string>());
  CHECK(ids.size() == 6);
  auto listed = sim.get("/v1/events?limit=100");
  CHECK(listed.json["data"].size() == 6);
}
