// PaymentIntents, charges and refunds as stripe.md sections 4, 5 and 7 describe them.

#include <catch2/catch.hpp>

#include "sim_fixture.hpp"

using namespace till::stripesim;
using namespace till::stripesim::testing;
using nlohmann::json;

TEST_CASE("create with payment_method and confirm=true approves a test card and records the fee") {
  Sim sim;
  auto r = sim.post("/v1/payment_intents",
                    "amount=1299&currency=usd&allowed_payment_method_types[0]=card_present"
                    "&payment_method=pm_card_visa&confirm=true&application_fee_amount=39"
                    "&metadata[sale_id]=s-1&metadata[register_id]=r1&metadata[attempt]=1"
                    "&description=Sale%20s-1&statement_descriptor_suffix=SHOP",
                    "key-1");
  REQUIRE(r.status == 200);
  CHECK(r.json["object"] == "payment_intent");
  CHECK(r.json["status"] == "succeeded");
  CHECK(r.json["amount_received"] == 1299);
  CHECK(r.json["application_fee_amount"] == 39);
  CHECK(r.json["metadata"]["sale_id"] == "s-1");
  CHECK(r.json["statement_descriptor_suffix"] == "SHOP");
  CHECK(r.header("request-id").rfind("req_", 0) == 0);
  CHECK(r.header("idempotent-replayed").empty());

  auto ledger = sim.server->ledger();
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].account == kAccount);
  CHECK(ledger[0].amount == 1299);
  CHECK(ledger[0].application_fee_amount == 39);
  CHECK(ledger[0].status == "succeeded");
  CHECK(ledger[0].metadata.at("attempt") == "1");

  auto charge = sim.get("/v1/charges/" + r.json["latest_charge"].get<std::string>());
  REQUIRE(charge.status == 200);
  CHECK(charge.json["amount_captured"] == 1299);
  CHECK(charge.json["payment_method_details"]["card_present"]["last4"] == "4242");
}

TEST_CASE(
    "the step-by-step flow goes requires_payment_method, requires_confirmation, requires_capture, "
    "succeeded") {
  Sim sim;
  auto created = sim.post("/v1/payment_intents",
                          "amount=5000&currency=cad&allowed_payment_method_types[0]=card_present"
                          "&allowed_payment_method_types[1]=interac_present&capture_method=manual"
                          "&application_fee_amount=100");
  REQUIRE(created.status == 200);
  CHECK(created.json["status"] == "requires_payment_method");
  const std::string id = created.json["id"];

  auto updated =
      sim.post("/v1/payment_intents/" + id, "payment_method=pm_test_mastercard_abc&metadata[sale_id]=s9");
  REQUIRE(updated.status == 200);
  CHECK(updated.json["status"] == "requires_confirmation");
  CHECK(updated.json["metadata"]["sale_id"] == "s9");

  auto confirmed = sim.post("/v1/payment_intents/" + id + "/confirm", "");
  REQUIRE(confirmed.status == 200);
  CHECK(confirmed.json["status"] == "requires_capture");
  CHECK(confirmed.json["amount_capturable"] == 5000);

  auto captured =
      sim.post("/v1/payment_intents/" + id + "/capture", "amount_to_capture=4000&application_fee_amount=80");
  REQUIRE(captured.status == 200);
  CHECK(captured.json["status"] == "succeeded");
  CHECK(captured.json["amount_received"] == 4000);
  CHECK(captured.json["application_fee_amount"] == 80);

  auto again = sim.post("/v1/payment_intents/" + id + "/capture", "");
  CHECK(again.status == 400);
  CHECK(again.json["error"]["code"] == "payment_intent_unexpected_state");

  auto fetched = sim.get("/v1/payment_intents/" + id + "?expand[0]=latest_charge");
  REQUIRE(fetched.status == 200);
  CHECK(fetched.json["latest_charge"]["amount_captured"] == 4000);
  CHECK(fetched.json["latest_charge"]["amount_refunded"] == 1000);  // released remainder
  auto refund = sim.post("/v1/refunds", "payment_intent=" + id);
  REQUIRE(refund.status == 200);
  CHECK(refund.json["amount"] == 4000);  // everything captured, not the released rest
  auto ledger = sim.server->ledger();
  CHECK(ledger[0].amount_refunded == 4000);
  CHECK(sim.get("/v1/charges/" + refund.json["charge"].get<std::string>()).json["refunded"] == true);
}

TEST_CASE(
    "test cards decline with a 402 card_error and the PaymentIntent returns to requires_payment_method") {
  Sim sim;
  struct Row {
    const char* pm;
    const char* code;
    const char* decline_code;
  };
  const Row rows[] = {
      {"pm_card_chargeDeclined", "card_declined", "generic_decline"},
      {"pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"},
      {"pm_test_lostCard", "card_declined", "lost_card"},
      {"pm_test_stolenCard_x1", "card_declined", "stolen_card"},
      {"pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"},
      {"pm_test_processingError", "processing_error", "processing_error"},
  };
  for (const Row& row : rows) {
    INFO(row.pm);
    auto r = sim.post("/v1/payment_intents",
                      std::string("amount=2000&currency=usd&payment_method=") + row.pm + "&confirm=true");
    REQUIRE(r.status == 402);
    CHECK(r.json["error"]["type"] == "card_error");
    CHECK(r.json["error"]["code"] == row.code);
    CHECK(r.json["error"]["decline_code"] == row.decline_code);
    const json pi = r.json["error"]["payment_intent"];
    CHECK(pi["status"] == "requires_payment_method");
    CHECK(pi["last_payment_error"]["decline_code"] == row.decline_code);
    auto fetched = sim.get("/v1/payment_intents/" + pi["id"].get<std::string>());
    CHECK(fetched.json["status"] == "requires_payment_method");
  }
  for (const char* pm : {"pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_discover",
                         "pm_test_offlinePin", "pm_test_onlinePin", "pm_sim_abcdefghijkmnopqrstu"}) {
    INFO(pm);
    CHECK(sim.pay(2000, "", pm)["status"] == "succeeded");
  }
}

TEST_CASE("test amounts decide the outcome by their last two digits") {
  Sim sim;
  const std::pair<int, const char*> rows[] = {{1001, "call_issuer"},
                                              {1005, "generic_decline"},
                                              {1055, "incorrect_pin"},
                                              {1065, "withdrawal_count_limit_exceeded"},
                                              {1075, "pin_try_exceeded"}};
  for (auto [amount, code] : rows) {
    INFO(amount);
    auto r = sim.post("/v1/payment_intents", "amount=" + std::to_string(amount) +
                                                 "&currency=usd&payment_method=pm_card_visa&confirm=true");
    CHECK(r.status == 402);
    CHECK(r.json["error"]["decline_code"] == code);
  }
  CHECK(sim.pay(1002)["status"] == "succeeded");
  CHECK(sim.pay(1099)["status"] == "succeeded");
}

TEST_CASE("a declined PaymentIntent can be confirmed again with another payment method") {
  Sim sim;
  auto declined = sim.post("/v1/payment_intents",
                           "amount=2000&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true");
  REQUIRE(declined.status == 402);
  const std::string id = declined.json["error"]["payment_intent"]["id"];
  auto retry = sim.post("/v1/payment_intents/" + id + "/confirm", "payment_method=pm_card_visa");
  REQUIRE(retry.status == 200);
  CHECK(retry.json["status"] == "succeeded");
  CHECK(retry.json["last_payment_error"].is_null());
}

TEST_CASE("amounts are validated per currency: minimum, eight digits, zero- and three-decimal currencies") {
  Sim sim;
  auto post_amount = [&](const std::string& amount, const std::string& currency) {
    return sim.post("/v1/payment_intents", "amount=" + amount + "&currency=" + currency);
  };
  CHECK(post_amount("49", "usd").json["error"]["code"] == "amount_too_small");
  CHECK(post_amount("50", "usd").status == 200);
  CHECK(post_amount("100000000", "usd").json["error"]["code"] == "amount_too_large");
  CHECK(post_amount("99999999", "usd").status == 200);
  CHECK(post_amount("49", "jpy").status == 400);
  CHECK(post_amount("50", "jpy").status == 200);
  CHECK(post_amount("1005", "kwd").status == 400);  // three-decimal: a multiple of 10
  CHECK(post_amount("1000", "kwd").status == 200);
  CHECK(post_amount("12.50", "usd").json["error"]["code"] == "parameter_invalid_integer");
  CHECK(post_amount("1000", "xyz").json["error"]["param"] == "currency");
  auto no_currency = sim.post("/v1/payment_intents", "amount=1000");
  CHECK(no_currency.json["error"]["code"] == "parameter_missing");
}

TEST_CASE("the removed payment_method_types parameter is refused as an unknown parameter") {
  Sim sim;
  auto r = sim.post("/v1/payment_intents", "amount=1000&currency=usd&payment_method_types[0]=card_present");
  REQUIRE(r.status == 400);
  CHECK(r.json["error"]["type"] == "invalid_request_error");
  CHECK(r.json["error"]["code"] == "parameter_unknown");
  CHECK(r.json["error"]["param"] == "payment_method_types");
  CHECK(sim.post("/v1/payment_intents", "amount=1000&currency=usd&statement_descriptor=X").status == 400);
  CHECK(sim.server->ledger().empty());
}

TEST_CASE("metadata is limited to 50 keys of 40 characters with values of 500 and merges on update") {
  Sim sim;
  std::string body = "amount=1000&currency=usd";
  for (int i = 0; i < 51; ++i) body += "&metadata[k" + std::to_string(i) + "]=v";
  CHECK(sim.post("/v1/payment_intents", body).status == 400);
  CHECK(sim.post("/v1/payment_intents", "amount=1000&currency=usd&metadata[" + std::string(41, 'k') + "]=v")
            .status == 400);
  CHECK(sim.post("/v1/payment_intents", "amount=1000&currency=usd&metadata[k]=" + std::string(501, 'v'))
            .status == 400);
  auto ok =
      sim.post("/v1/payment_intents", "amount=1000&currency=usd&metadata[" + std::string(40, 'k') +
                                          "]=" + std::string(500, 'v') + "&metadata[a]=1&metadata[b]=2");
  REQUIRE(ok.status == 200);
  const std::string id = ok.json["id"];
  auto updated = sim.post("/v1/payment_intents/" + id, "metadata[a]=&metadata[c]=3");
  REQUIRE(updated.status == 200);
  CHECK_FALSE(updated.json["metadata"].contains("a"));
  CHECK(updated.json["metadata"]["b"] == "2");
  CHECK(updated.json["metadata"]["c"] == "3");
}

TEST_CASE("application_fee_amount needs a connected account and cannot exceed the amount") {
  Sim sim;
  auto platform =
      sim.post("/v1/payment_intents", "amount=1000&currency=usd&application_fee_amount=10", "", "");
  CHECK(platform.status == 400);
  CHECK(platform.json["error"]["param"] == "application_fee_amount");
  CHECK(sim.post("/v1/payment_intents", "amount=1000&currency=usd&application_fee_amount=1001").status ==
        400);
}

TEST_CASE("cancel works before capture with a reason and is refused after success") {
  Sim sim;
  auto pi = sim.pay(3000, "&capture_method=manual");
  REQUIRE(pi["status"] == "requires_capture");
  const std::string id = pi["id"];
  CHECK(sim.post("/v1/payment_intents/" + id + "/cancel", "cancellation_reason=bogus").status == 400);
  auto canceled = sim.post("/v1/payment_intents/" + id + "/cancel", "cancellation_reason=abandoned");
  REQUIRE(canceled.status == 200);
  CHECK(canceled.json["status"] == "canceled");
  CHECK(canceled.json["cancellation_reason"] == "abandoned");
  CHECK(canceled.json["amount_capturable"] == 0);

  auto done = sim.pay(3000);
  auto refused = sim.post("/v1/payment_intents/" + done["id"].get<std::string>() + "/cancel", "");
  CHECK(refused.status == 400);
  CHECK(refused.json["error"]["code"] == "payment_intent_unexpected_state");
}

TEST_CASE("refunds: partial then full, the fee refunded proportionally, over-refund refused") {
  Sim sim;
  auto pi = sim.pay(10000, "&application_fee_amount=300");
  const std::string id = pi["id"];
  auto partial =
      sim.post("/v1/refunds", "payment_intent=" + id +
                                  "&amount=2500&refund_application_fee=true&reason=requested_by_customer");
  REQUIRE(partial.status == 200);
  CHECK(partial.json["object"] == "refund");
  CHECK(partial.json["amount"] == 2500);
  CHECK(partial.json["status"] == "succeeded");
  CHECK(partial.json["reason"] == "requested_by_customer");

  auto too_much = sim.post("/v1/refunds", "payment_intent=" + id + "&amount=7501");
  CHECK(too_much.status == 400);
  CHECK(too_much.json["error"]["code"] == "amount_too_large");

  auto rest = sim.post("/v1/refunds", "payment_intent=" + id + "&refund_application_fee=true");
  REQUIRE(rest.status == 200);
  CHECK(rest.json["amount"] == 7500);

  auto ledger = sim.server->ledger();
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].amount_refunded == 10000);
  CHECK(ledger[0].application_fee_refunded == 300);

  auto charge = sim.get("/v1/charges/" + pi["latest_charge"].get<std::string>() + "?expand[0]=refunds");
  CHECK(charge.json["refunded"] == true);
  CHECK(charge.json["refunds"]["data"].size() == 2);
  auto again = sim.post("/v1/refunds", "payment_intent=" + id);
  CHECK(again.json["error"]["code"] == "charge_already_refunded");

  auto listed = sim.get("/v1/refunds?payment_intent=" + id);
  CHECK(listed.json["data"].size() == 2);
  auto one = sim.get("/v1/refunds/" + partial.json["id"].get<std::string>());
  CHECK(one.json["amount"] == 2500);
}

TEST_CASE("refunding before capture is refused: cancel instead") {
  Sim sim;
  auto pi = sim.pay(4000, "&capture_method=manual");
  auto r = sim.post("/v1/refunds", "payment_intent=" + pi["id"].get<std::string>());
  CHECK(r.status == 400);
  CHECK(r.json["error"]["code"] == "charge_not_captured");
  CHECK(sim.post("/v1/refunds", "amount=100").json["error"]["code"] == "parameter_missing");
}

TEST_CASE("list pages newest first and search finds PaymentIntents by metadata") {
  Sim sim;
  for (int i = 0; i < 5; ++i) {
    sim.pay(1000 + 100 * i, "&metadata[sale_id]=sale-" + std::to_string(i % 2));
  }
  auto page = sim.get("/v1/payment_intents?limit=2");
  REQUIRE(page.status == 200);
  CHECK(page.json["object"] == "list");
  CHECK(page.json["data"].size() == 2);
  CHECK(page.json["has_more"] == true);
  CHECK(page.json["data"][0]["amount"] == 1400);
  auto next =
      sim.get("/v1/payment_intents?limit=10&starting_after=" + page.json["data"][1]["id"].get<std::string>());
  CHECK(next.json["data"].size() == 3);
  CHECK(next.json["has_more"] == false);

  auto found = sim.get("/v1/payment_intents/search?query=metadata%5B%27sale_id%27%5D%3A%27sale-1%27");
  REQUIRE(found.status == 200);
  CHECK(found.json["object"] == "search_result");
  CHECK(found.json["data"].size() == 2);
  auto both =
      sim.get("/v1/payment_intents/search?query=" +
              std::string("metadata%5B%27sale_id%27%5D%3A%27sale-0%27%20AND%20status%3A%27succeeded%27"));
  CHECK(both.json["data"].size() == 3);
  auto bad = sim.get("/v1/payment_intents/search?query=nonsense");
  CHECK(bad.status == 400);
  auto other =
      sim.get("/v1/payment_intents/search?query=metadata%5B%27sale_id%27%5D%3A%27sale-1%27", kOtherAccount);
  CHECK(other.json["data"].empty());
}

TEST_CASE("unknown objects answer 404 resource_missing") {
  Sim sim;
  auto r = sim.get("/v1/payment_intents/pi_nope");
  CHECK(r.status == 404);
  CHECK(r.json["error"]["code"] == "resource_missing");
  CHECK(sim.post("/v1/payment_intents", "amount=1000&currency=usd&payment_method=pm_unknown").status == 404);
  CHECK(sim.get("/v1/nothing_here").status == 404);
}

TEST_CASE("lists filter by created range for reconciliation over a date range") {
  Sim sim;
  auto early = sim.pay(1000);
  sim.clock.advance(std::chrono::hours(2));
  auto late = sim.pay(2000);
  const std::int64_t t_late = late["created"];
  CHECK(t_late - early["created"].get<std::int64_t>() == 7200);
  auto recent = sim.get("/v1/payment_intents?created[gte]=" + std::to_string(t_late - 60));
  REQUIRE(recent.status == 200);
  REQUIRE(recent.json["data"].size() == 1);
  CHECK(recent.json["data"][0]["id"] == late["id"]);
  auto older = sim.get("/v1/payment_intents?created[lt]=" + std::to_string(t_late));
  REQUIRE(older.json["data"].size() == 1);
  CHECK(older.json["data"][0]["id"] == early["id"]);
  CHECK(sim.get("/v1/payment_intents?created[gte]=x").status == 400);
  CHECK(sim.get("/v1/events?created[gte]=" + std::to_string(t_late)).json["data"].size() == 3);
}

TEST_CASE("search values may contain an escaped quote") {
  Sim sim;
  sim.pay(1000, "&metadata[sale_id]=o%27brien-1");
  auto found = sim.get("/v1/payment_intents/search?query=metadata%5B%27sale_id%27%5D%3A%27o%5C%27brien-1%27");
  REQUIRE(found.status == 200);
  CHECK(found.json["data"].size() == 1);
  CHECK(sim.get("/v1/payment_intents/search?query=metadata%5B%27sale_id%27%5D%3A%27open").status == 400);
}

TEST_CASE("an authorization left uncaptured for 7 days is canceled automatically") {
  Sim sim;
  auto pi = sim.pay(3000, "&capture_method=manual");
  REQUIRE(pi["status"] == "requires_capture");
  const std::string id = pi["id"];
  sim.clock.advance(std::chrono::hours(24 * 7) - std::chrono::minutes(2));
  CHECK(sim.get("/v1/payment_intents/" + id).json["status"] == "requires_capture");
  sim.clock.advance(std::chrono::minutes(3));
  auto expired = sim.get("/v1/payment_intents/" + id);
  CHECK(expired.json["status"] == "canceled");
  CHECK(expired.json["cancellation_reason"] == "automatic");
  CHECK(sim.post("/v1/payment_intents/" + id + "/capture", "").status == 400);
  CHECK(sim.get("/v1/events?type=payment_intent.canceled").json["data"].size() == 1);
}
