// The transport-free Api (what the Server wraps): usable directly, with the two-step
// prepare/execute that makes an in-flight idempotency key observable.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "till/base/clock.hpp"
#include "till/stripesim/api.hpp"

using namespace till;
using namespace till::stripesim;
using nlohmann::json;

namespace {

Request post(const std::string& path, const std::string& body, const std::string& key = {}) {
  Request r;
  r.method = "POST";
  r.target = path;
  r.headers = {{"authorization", "Bearer sk_test_api"}, {"stripe-account", "acct_1Api"}};
  if (!key.empty()) r.headers.emplace_back("idempotency-key", key);
  r.body = body;
  return r;
}

SimConfig config(const FakeClock& clock) {
  SimConfig c;
  c.api_keys = {"sk_test_api"};
  c.connected_accounts = {"acct_1Api"};
  c.rate_limit_test = 0;
  c.clock = &clock;
  return c;
}

}  // namespace

TEST_CASE("the Api answers a request without any transport, headers matched case-insensitively") {
  FakeClock clock;
  Api api(config(clock));
  Response r = api.handle(
      post("/v1/payment_intents", "amount=800&currency=eur&payment_method=pm_test_visa&confirm=true", "a1"));
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)["status"] == "succeeded");
  REQUIRE(r.header("request-id"));
  CHECK(r.header("Request-Id")->rfind("req_", 0) == 0);
  CHECK(api.ledger("acct_1Api").size() == 1);
  CHECK(api.ledger("acct_1Other").empty());
}

TEST_CASE("a prepared request holds its key until executed, and abandon releases it unstored") {
  FakeClock clock;
  Api api(config(clock));
  const std::string body = "amount=800&currency=eur";
  Prepared first = api.prepare(post("/v1/payment_intents", body, "held"));
  REQUIRE_FALSE(first.immediate);
  CHECK(api.in_flight() == 1);
  Prepared twin = api.prepare(post("/v1/payment_intents", body, "held"));
  REQUIRE(twin.immediate);
  CHECK(twin.immediate->status == 409);
  api.abandon(first.ticket);
  CHECK(api.in_flight() == 0);
  Prepared again = api.prepare(post("/v1/payment_intents", body, "held"));
  REQUIRE_FALSE(again.immediate);
  CHECK(api.execute(again.ticket).status == 200);
  CHECK(api.ledger().size() == 1);
}

TEST_CASE("the transport is told to drop the connection for reset and lost-after-commit faults") {
  FakeClock clock;
  SimConfig c = config(clock);
  c.faults = {*parse_fault("reset:n=1"), *parse_fault("lost:n=2"), *parse_fault("latency:ms=40:n=3")};
  Api api(c);
  Prepared reset = api.prepare(post("/v1/payment_intents", "amount=800&currency=eur", "r"));
  CHECK(reset.transport == Transport::ResetBeforeRead);
  CHECK(api.in_flight() == 0);
  Prepared lost = api.prepare(post("/v1/payment_intents", "amount=800&currency=eur", "l"));
  CHECK(lost.transport == Transport::DropAfterCommit);
  REQUIRE_FALSE(lost.immediate);
  CHECK(api.execute(lost.ticket).status == 200);
  Prepared slow = api.prepare(post("/v1/payment_intents", "amount=800&currency=eur", "s"));
  CHECK(slow.latency == std::chrono::milliseconds(40));
  CHECK(api.execute(slow.ticket).status == 200);
  CHECK(api.ledger().size() == 2);
}

TEST_CASE("set_reader_display finishes when the deferred work runs") {
  FakeClock clock;
  Api api(config(clock));
  auto loc =
      json::parse(api.handle(post("/v1/terminal/locations", "display_name=S&address[country]=US")).body);
  auto reader =
      json::parse(api.handle(post("/v1/terminal/readers",
                                  "registration_code=simulated-wpe&location=" + loc["id"].get<std::string>()))
                      .body);
  const std::string id = reader["id"];
  auto shown = json::parse(api.handle(post("/v1/terminal/readers/" + id + "/set_reader_display",
                                           "type=cart&cart[currency]=usd&cart[total]=100"))
                               .body);
  CHECK(shown["action"]["status"] == "in_progress");
  CHECK(api.run_deferred());
  CHECK_FALSE(api.run_deferred());
  Request get;
  get.method = "GET";
  get.target = "/v1/terminal/readers/" + id;
  get.headers = {{"Authorization", "Bearer sk_test_api"}, {"Stripe-Account", "acct_1Api"}};
  CHECK(json::parse(api.handle(get).body)["action"]["status"] == "succeeded");
}

TEST_CASE("events are queued for webhook delivery only to matching endpoints") {
  FakeClock clock;
  SimConfig c = config(clock);
  c.webhooks = {{"http://127.0.0.1:1/connect", "whsec_c", true},
                {"http://127.0.0.1:1/platform", "whsec_p", false}};
  Api api(c);
  api.handle(post("/v1/payment_intents", "amount=800&currency=eur"));
  auto deliveries = api.take_deliveries();
  REQUIRE(deliveries.size() == 1);
  CHECK(deliveries[0].url == "http://127.0.0.1:1/connect");
  CHECK(json::parse(deliveries[0].payload)["type"] == "payment_intent.created");
  CHECK(api.take_deliveries().empty());
}
