// Idempotency exactly as stripe.md section 2 describes it.

#include <catch2/catch.hpp>

#include "sim_fixture.hpp"

using namespace till::stripesim;
using namespace till::stripesim::testing;
using namespace std::chrono_literals;

namespace {
const std::string kBody =
    "amount=1500&currency=usd&allowed_payment_method_types[0]=card_present"
    "&payment_method=pm_card_visa&confirm=true&metadata[sale_id]=s-1";
}

TEST_CASE("the same key and params replays the first response with Idempotent-Replayed") {
  Sim sim;
  auto first = sim.post("/v1/payment_intents", kBody, "key-a");
  REQUIRE(first.status == 200);
  auto second = sim.post("/v1/payment_intents", kBody, "key-a");
  REQUIRE(second.status == 200);
  CHECK(second.header("idempotent-replayed") == "true");
  CHECK(second.header("original-request") == first.header("request-id"));
  CHECK(second.json == first.json);
  // Param order does not matter; the params do.
  auto reordered = sim.post("/v1/payment_intents",
                            "metadata[sale_id]=s-1&confirm=true&payment_method=pm_card_visa"
                            "&allowed_payment_method_types[0]=card_present&currency=usd&amount=1500",
                            "key-a");
  CHECK(reordered.header("idempotent-replayed") == "true");
  CHECK(sim.server->ledger().size() == 1);
}

TEST_CASE("the same key with different params or another endpoint is a 400 idempotency_error") {
  Sim sim;
  REQUIRE(sim.post("/v1/payment_intents", kBody, "key-b").status == 200);
  auto changed = sim.post("/v1/payment_intents", kBody + "&description=x", "key-b");
  CHECK(changed.status == 400);
  CHECK(changed.json["error"]["type"] == "idempotency_error");
  auto other_endpoint = sim.post("/v1/refunds", "payment_intent=pi_x", "key-b");
  CHECK(other_endpoint.status == 400);
  CHECK(other_endpoint.json["error"]["type"] == "idempotency_error");
  CHECK(sim.server->ledger().size() == 1);
}

TEST_CASE("keys are scoped per connected account") {
  Sim sim;
  REQUIRE(sim.post("/v1/payment_intents", kBody, "key-c", kAccount).status == 200);
  auto other = sim.post("/v1/payment_intents", kBody, "key-c", kOtherAccount);
  REQUIRE(other.status == 200);
  CHECK(other.header("idempotent-replayed").empty());
  CHECK(sim.server->api().ledger(kAccount).size() == 1);
  CHECK(sim.server->api().ledger(kOtherAccount).size() == 1);
}

TEST_CASE("a second request while the first is in flight gets 409 idempotency_key_in_use") {
  Sim sim([](ServerOptions& o) { o.sim.faults = {*parse_fault("latency:ms=1500:n=1")}; });
  TestHttpClient slow(sim.server->port());
  REQUIRE(slow.send("POST", "/v1/payment_intents", sim.headers("key-d", kAccount), kBody));
  REQUIRE(sim.server->api().wait_in_flight(1, 5s) == 1);
  auto conflict = sim.post("/v1/payment_intents", kBody, "key-d");
  CHECK(conflict.status == 409);
  CHECK(conflict.json["error"]["code"] == "idempotency_key_in_use");
  CHECK(conflict.header("stripe-should-retry") == "true");
  auto first = slow.receive();
  REQUIRE(first.status == 200);
  auto after = sim.post("/v1/payment_intents", kBody, "key-d");
  CHECK(after.header("idempotent-replayed") == "true");
  CHECK(after.json["id"] == first.json["id"]);
  CHECK(sim.server->ledger().size() == 1);
}

TEST_CASE("validation errors, 401 and 429 are not stored, so the same key may run again") {
  Sim sim;
  auto invalid = sim.post("/v1/payment_intents", "amount=10&currency=usd", "key-e");
  CHECK(invalid.status == 400);
  REQUIRE(sim.post("/v1/payment_intents", kBody, "key-e").status == 200);

  Headers bad_key{{"Authorization", "Bearer sk_test_wrong_key_1234"},
                  {"Idempotency-Key", "key-f"},
                  {"Stripe-Account", kAccount}};
  auto unauthorized = sim.http->request("POST", "/v1/payment_intents", bad_key, kBody);
  CHECK(unauthorized.status == 401);
  CHECK(unauthorized.json["error"]["message"].get<std::string>().find("sk_test_****1234") !=
        std::string::npos);
  CHECK(sim.post("/v1/payment_intents", kBody, "key-f").header("idempotent-replayed").empty());

  sim.server->api().set_faults({*parse_fault("rate_limit:n=5")});  // the fifth API request: the next one
  auto limited = sim.post("/v1/payment_intents", kBody, "key-g");
  CHECK(limited.status == 429);
  CHECK(limited.json["error"]["code"] == "rate_limit");
  auto retried = sim.post("/v1/payment_intents", kBody, "key-g");
  CHECK(retried.status == 200);
  CHECK(retried.header("idempotent-replayed").empty());
  CHECK(sim.server->ledger().size() == 3);
}

TEST_CASE("declines and injected 500s are stored and replayed") {
  Sim sim;
  auto declined =
      sim.post("/v1/payment_intents",
               "amount=2000&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true", "key-h");
  REQUIRE(declined.status == 402);
  auto replay =
      sim.post("/v1/payment_intents",
               "amount=2000&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true", "key-h");
  CHECK(replay.status == 402);
  CHECK(replay.header("idempotent-replayed") == "true");

  sim.server->api().set_faults({*parse_fault("server_error:n=3")});
  auto failed = sim.post("/v1/payment_intents", kBody, "key-i");
  CHECK(failed.status == 500);
  CHECK(failed.json["error"]["type"] == "api_error");
  auto again = sim.post("/v1/payment_intents", kBody, "key-i");
  CHECK(again.status == 500);
  CHECK(again.header("idempotent-replayed") == "true");
  CHECK(sim.server->ledger().size() == 1);  // only the declined one; the 500 applied nothing
}

TEST_CASE("keys are pruned after the retention age on the injected clock") {
  Sim sim;
  auto first = sim.post("/v1/payment_intents", kBody, "key-j");
  REQUIRE(first.status == 200);
  sim.clock.advance(23h + 59min);
  CHECK(sim.post("/v1/payment_intents", kBody, "key-j").header("idempotent-replayed") == "true");
  sim.clock.advance(2min);
  auto fresh = sim.post("/v1/payment_intents", kBody, "key-j");
  REQUIRE(fresh.status == 200);
  CHECK(fresh.header("idempotent-replayed").empty());
  CHECK(fresh.json["id"] != first.json["id"]);
  CHECK(sim.server->ledger().size() == 2);  // the duplicate a client must avoid by looking up
}

TEST_CASE("the control endpoint can move the simulator clock past key pruning") {
  Sim sim;
  REQUIRE(sim.post("/v1/payment_intents", kBody, "key-k").status == 200);
  auto moved = sim.http->request("POST", "/_sim/clock", {}, "advance_seconds=90000");
  REQUIRE(moved.status == 200);
  CHECK(sim.post("/v1/payment_intents", kBody, "key-k").header("idempotent-replayed").empty());
}

TEST_CASE("GET requests ignore idempotency keys and over-long keys are refused") {
  Sim sim;
  auto pi = sim.pay(1000);
  Headers h = sim.headers("key-l", kAccount);
  auto r1 = sim.http->request("GET", "/v1/payment_intents/" + pi["id"].get<std::string>(), h);
  auto r2 = sim.http->request("GET", "/v1/payment_intents/" + pi["id"].get<std::string>(), h);
  CHECK(r1.status == 200);
  CHECK(r2.header("idempotent-replayed").empty());
  CHECK(sim.post("/v1/payment_intents", kBody, std::string(256, 'k')).status == 400);
}
