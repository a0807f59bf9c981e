// Issue 17, a stricter simulator: a request Stripe would refuse is refused the same way (HTTP
// status, error type, code, param), and never stored under its idempotency key; the objects and
// events carry the fields Stripe returns for API version 2026-10-28.endive.

#include <catch2/catch.hpp>

#include <set>

#include "sim_fixture.hpp"

using namespace till::stripesim;
using namespace till::stripesim::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kCreate = "amount=1000&currency=usd&allowed_payment_method_types[0]=card_present";

// The refusal Stripe gives for a bad parameter: 400 invalid_request_error with this param (and
// code, when Stripe has one), told not to retry.
void refused(const HttpResult& r, const std::string& param, const std::string& code = {}) {
  INFO(r.body);
  CHECK(r.status == 400);
  CHECK(r.json["error"]["type"] == "invalid_request_error");
  CHECK(r.json["error"]["param"] == param);
  if (code.empty()) {
    CHECK_FALSE(r.json["error"].contains("code"));
  } else {
    CHECK(r.json["error"]["code"] == code);
  }
  CHECK(r.header("stripe-should-retry") == "false");
}

std::set<std::string> keys_of(const json& j) {
  std::set<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.insert(it.key());
  return out;
}

}  // namespace

TEST_CASE("unknown parameters are parameter_unknown with the full key as param, nested and on GET too") {
  Sim sim;
  refused(sim.post("/v1/payment_intents", kCreate + "&colour=red"), "colour", "parameter_unknown");
  refused(sim.post("/v1/payment_intents", kCreate + "&payment_method_options[card_present][tip]=1"),
          "payment_method_options[card_present][tip]", "parameter_unknown");
  refused(sim.post("/v1/payment_intents", kCreate + "&payment_method_options[card][capture_method]=manual"),
          "payment_method_options[card][capture_method]", "parameter_unknown");
  refused(sim.get("/v1/payment_intents?limit=3&colour=red"), "colour", "parameter_unknown");
  refused(sim.get("/v1/refunds?colour=red"), "colour", "parameter_unknown");
  refused(sim.get("/v1/events?colour=red"), "colour", "parameter_unknown");
  refused(sim.get("/v1/account?colour=red"), "colour", "parameter_unknown");
  auto pi = sim.pay(1000);
  refused(sim.get("/v1/payment_intents/" + pi["id"].get<std::string>() + "?colour=red"), "colour",
          "parameter_unknown");
  auto loc = sim.post("/v1/terminal/locations", "display_name=S&address[country]=US&address[planet]=Earth");
  refused(loc, "address[planet]", "parameter_unknown");
  CHECK(sim.server->ledger().size() == 1);
}

TEST_CASE("enums take only Stripe's values, refused with Stripe's wording and never stored under the key") {
  Sim sim;
  auto bad = sim.post("/v1/payment_intents", kCreate + "&capture_method=later", "enum-1");
  refused(bad, "capture_method");
  CHECK(bad.json["error"]["message"] == "Invalid capture_method: must be one of automatic, automatic_async, or manual");
  // Not stored: the same key runs again once the request is right.
  auto fixed = sim.post("/v1/payment_intents", kCreate + "&capture_method=manual", "enum-1");
  CHECK(fixed.status == 200);
  CHECK(fixed.header("idempotent-replayed").empty());

  refused(sim.post("/v1/payment_intents", kCreate + "&payment_method_options[card_present][capture_method]=automatic"),
          "payment_method_options[card_present][capture_method]");
  const std::string id = fixed.json["id"];
  // "automatic" is a reason Stripe sets itself, never one a caller may give.
  refused(sim.post("/v1/payment_intents/" + id + "/cancel", "cancellation_reason=automatic"), "cancellation_reason");
  CHECK(sim.post("/v1/payment_intents/" + id + "/cancel", "cancellation_reason=abandoned").json["status"] == "canceled");
  auto paid = sim.pay(1000);
  auto reason = sim.post("/v1/refunds", "payment_intent=" + paid["id"].get<std::string>() + "&reason=changed_mind");
  refused(reason, "reason");
  CHECK(reason.json["error"]["message"] == "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer");
  refused(sim.get("/v1/terminal/readers?status=busy"), "status");
  refused(sim.post("/v1/payment_intents", kCreate + "&confirm=yes"), "confirm");
}

TEST_CASE("a manual card_present capture option holds the funds of a card_present payment") {
  Sim sim;
  auto r = sim.post("/v1/payment_intents", kCreate +
                                               "&payment_method_options[card_present][capture_method]=manual_preferred"
                                               "&payment_method=pm_card_visa&confirm=true");
  REQUIRE(r.status == 200);
  CHECK(r.json["status"] == "requires_capture");
  CHECK(r.json["capture_method"] == "automatic");  // the PaymentIntent's own stays as given
  CHECK(r.json["payment_method_options"]["card_present"]["capture_method"] == "manual_preferred");
}

TEST_CASE("mutually exclusive parameters are parameters_exclusive") {
  Sim sim;
  auto pi = sim.pay(1000);
  const std::string id = pi["id"];
  const std::string charge = pi["latest_charge"];
  refused(sim.post("/v1/refunds", "payment_intent=" + id + "&charge=" + charge), "charge", "parameters_exclusive");
  refused(sim.get("/v1/payment_intents?starting_after=" + id + "&ending_before=" + id), "ending_before",
          "parameters_exclusive");
  refused(sim.get("/v1/events?type=charge.succeeded&types[0]=charge.failed"), "types", "parameters_exclusive");
  CHECK(sim.post("/v1/refunds", "charge=" + charge + "&amount=100").status == 200);  // one of them is fine
}

TEST_CASE("amounts out of range are amount_too_small and amount_too_large, 50 cents being the usd minimum") {
  Sim sim;
  auto small = sim.post("/v1/payment_intents", "amount=49&currency=usd");
  refused(small, "amount", "amount_too_small");
  CHECK(small.json["error"]["message"] == "Amount must be at least 0.50 usd.");
  refused(sim.post("/v1/payment_intents", "amount=-100&currency=usd"), "amount", "amount_too_small");
  auto large = sim.post("/v1/payment_intents", "amount=100000000&currency=usd");
  refused(large, "amount", "amount_too_large");
  CHECK(large.json["error"]["message"] == "Amount must be no more than 999999.99 usd.");
  CHECK(sim.post("/v1/payment_intents", "amount=50&currency=USD").json["currency"] == "usd");  // either case

  auto pi = sim.pay(1000);
  refused(sim.post("/v1/refunds", "payment_intent=" + pi["id"].get<std::string>() + "&amount=0"), "amount",
          "amount_too_small");
  auto held = sim.pay(2000, "&capture_method=manual");
  const std::string held_id = held["id"];
  refused(sim.post("/v1/payment_intents/" + held_id + "/capture", "amount_to_capture=0"), "amount_to_capture",
          "amount_too_small");
  refused(sim.post("/v1/payment_intents/" + held_id + "/capture", "amount_to_capture=2001"), "amount_to_capture",
          "amount_too_large");
  refused(sim.post("/v1/payment_intents", kCreate + "&application_fee_amount=1001"), "application_fee_amount");
}

TEST_CASE("required parameters: missing is parameter_missing, empty is parameter_invalid_empty") {
  Sim sim;
  refused(sim.post("/v1/payment_intents", "amount=1000"), "currency", "parameter_missing");
  refused(sim.post("/v1/payment_intents", "amount=1000&currency="), "currency", "parameter_invalid_empty");
  refused(sim.post("/v1/payment_intents", "amount=&currency=usd"), "amount", "parameter_invalid_empty");
  refused(sim.post("/v1/payment_intents", "amount=ten&currency=usd"), "amount", "parameter_invalid_integer");
  refused(sim.post("/v1/refunds", ""), "payment_intent", "parameter_missing");
  refused(sim.post("/v1/refunds", "payment_intent="), "payment_intent", "parameter_invalid_empty");
  refused(sim.post("/v1/terminal/locations", "display_name=S"), "address[country]", "parameter_missing");
  refused(sim.get("/v1/payment_intents/search?query="), "query", "parameter_invalid_empty");
}

TEST_CASE("Stripe-Account is refused when malformed, unknown, or missing where a direct charge needs it") {
  Sim sim;
  auto malformed = sim.get("/v1/payment_intents", "merchant-1");
  CHECK(malformed.status == 400);
  CHECK(malformed.json["error"]["code"] == "account_invalid");
  auto unknown = sim.get("/v1/payment_intents", "acct_1NotConnected0000");
  CHECK(unknown.status == 403);
  CHECK(unknown.json["error"]["code"] == "account_invalid");
  CHECK(unknown.json["error"]["type"] == "invalid_request_error");
  // An application fee is the platform's cut of a direct charge: only on a connected account.
  refused(sim.post("/v1/payment_intents", kCreate + "&application_fee_amount=10", {}, ""), "application_fee_amount");
  auto both = sim.http->request("GET", "/v1/payment_intents",
                                {{"Authorization", std::string("Bearer ") + kKey},
                                 {"Stripe-Account", kAccount},
                                 {"Stripe-Context", kAccount}});
  CHECK(both.status == 400);
  CHECK(sim.server->ledger().empty());
}

TEST_CASE("expand takes only what Stripe can expand and renders what the simulator holds") {
  Sim sim;
  auto pi = sim.pay(1000);
  const std::string id = pi["id"];
  refused(sim.get("/v1/payment_intents/" + id + "?expand[0]=colour"), "expand");
  refused(sim.get("/v1/payment_intents?expand[0]=latest_charge"), "expand");  // lists expand data.*
  auto listed = sim.get("/v1/payment_intents?expand[0]=data.latest_charge");
  REQUIRE(listed.status == 200);
  CHECK(listed.json["data"][0]["latest_charge"]["object"] == "charge");
  auto pm = sim.get("/v1/payment_intents/" + id + "?expand[0]=payment_method");
  CHECK(pm.json["payment_method"]["card_present"]["last4"] == "4242");
  auto customer = sim.get("/v1/payment_intents/" + id + "?expand[0]=customer");  // Stripe's, null here
  CHECK(customer.status == 200);
  CHECK(customer.json["customer"].is_null());
  refused(sim.get("/v1/payment_intents/" + id + "?expand[1]=latest_charge"), "expand");  // not 0..n-1
}

TEST_CASE("a PaymentIntent, its charge and refund carry Stripe's fields for 2026-10-28.endive") {
  Sim sim;
  auto pi = sim.pay(1000, "&metadata[sale_id]=f1");
  const std::set<std::string> pi_fields = {
      "id", "object", "allowed_payment_method_types", "amount", "amount_capturable", "amount_details",
      "amount_received", "application", "application_fee_amount", "automatic_payment_methods", "canceled_at",
      "cancellation_reason", "capture_method", "client_secret", "confirmation_method", "created", "currency",
      "customer", "description", "last_payment_error", "latest_charge", "livemode", "metadata", "next_action",
      "on_behalf_of", "payment_method", "payment_method_configuration_details", "payment_method_options",
      "processing", "receipt_email", "review", "setup_future_usage", "shipping", "statement_descriptor",
      "statement_descriptor_suffix", "status", "transfer_data", "transfer_group"};
  auto got = sim.get("/v1/payment_intents/" + pi["id"].get<std::string>());
  CHECK(keys_of(got.json) == pi_fields);
  CHECK_FALSE(got.json.contains("payment_method_types"));  // the removed name

  const std::string charge_id = pi["latest_charge"];
  auto charge = sim.get("/v1/charges/" + charge_id);
  for (const char* f : {"amount_captured", "amount_refunded", "balance_transaction", "billing_details", "captured",
                        "disputed", "outcome", "paid", "payment_intent", "payment_method_details", "refunded",
                        "status"}) {
    CHECK(charge.json.contains(f));
  }
  CHECK_FALSE(charge.json.contains("refunds"));  // only when expanded, since 2022-11-15
  auto refund = sim.post("/v1/refunds", "payment_intent=" + pi["id"].get<std::string>() + "&amount=100");
  CHECK(keys_of(refund.json) == std::set<std::string>{"id", "object", "amount", "balance_transaction", "charge",
                                                       "created", "currency", "destination_details", "metadata",
                                                       "payment_intent", "reason", "receipt_number",
                                                       "source_transfer_reversal", "status", "transfer_reversal"});
  auto expanded = sim.get("/v1/charges/" + charge_id + "?expand[0]=refunds");
  CHECK(expanded.json["refunds"]["data"].size() == 1);
}

TEST_CASE("events carry Stripe's event fields and pending_webhooks counts down as endpoints answer") {
  RecordingWebhookReceiver receiver;
  Sim sim([&](ServerOptions& o) { o.sim.webhooks = {{receiver.url(), "whsec_fields", true}}; });
  sim.post("/v1/payment_intents", kCreate, "evt-key");  // one event: payment_intent.created
  auto sent = receiver.wait_for(1, 10s);
  REQUIRE(sent.size() == 1);
  const json delivered = json::parse(sent[0].body);
  CHECK(keys_of(delivered) == std::set<std::string>{"id", "object", "account", "api_version", "created", "data",
                                                     "livemode", "pending_webhooks", "request", "type"});
  CHECK(delivered["pending_webhooks"] == 1);  // as sent: not yet acknowledged
  CHECK(delivered["request"]["idempotency_key"] == "evt-key");
  CHECK(delivered["request"]["id"].get<std::string>().rfind("req_", 0) == 0);
  CHECK(delivered["data"]["object"]["object"] == "payment_intent");
  sim.server->api().wait_for_deliveries(1, 10s);
  auto listed = sim.get("/v1/events/" + delivered["id"].get<std::string>());
  CHECK(listed.json["pending_webhooks"] == 0);
  CHECK(listed.json["account"] == kAccount);
}

TEST_CASE("lists page backwards with ending_before and search pages with next_page") {
  Sim sim;
  std::vector<std::string> ids;  // oldest first
  for (int i = 0; i < 5; ++i) ids.push_back(sim.pay(1000 + 100 * i, "&metadata[batch]=b")["id"]);
  auto back = sim.get("/v1/payment_intents?limit=2&ending_before=" + ids[1]);  // the two newer than ids[1]
  REQUIRE(back.status == 200);
  REQUIRE(back.json["data"].size() == 2);
  CHECK(back.json["data"][0]["id"] == ids[3]);
  CHECK(back.json["data"][1]["id"] == ids[2]);
  CHECK(back.json["has_more"] == true);  // ids[4] lies further back
  std::vector<std::string> found;
  std::string page;
  for (int guard = 0; guard < 10; ++guard) {
    auto r = sim.get("/v1/payment_intents/search?limit=2&query=metadata%5B%27batch%27%5D%3A%27b%27" +
                     (page.empty() ? std::string() : "&page=" + page));
    REQUIRE(r.status == 200);
    for (const auto& pi : r.json["data"]) found.push_back(pi["id"]);
    if (!r.json["has_more"].get<bool>()) {
      CHECK(r.json["next_page"].is_null());
      break;
    }
    page = r.json["next_page"];
  }
  CHECK(found == std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]});
  refused(sim.get("/v1/payment_intents/search?query=status%3A%27succeeded%27&page=bogus"), "page");
}

TEST_CASE("the Terminal endpoints refuse what Stripe refuses") {
  Sim sim;
  auto loc = sim.post("/v1/terminal/locations", "display_name=S&address[country]=US");
  const std::string reader = sim.post("/v1/terminal/readers", "registration_code=simulated-wpe&location=" +
                                                                  loc.json["id"].get<std::string>())
                                 .json["id"];
  const std::string base = "/v1/terminal/readers/" + reader;
  refused(sim.post(base + "/set_reader_display", "type=video"), "type");
  refused(sim.post(base + "/set_reader_display", "type=cart&cart[currency]=usd&cart[total]=100&cart[colour]=red"),
          "cart[colour]", "parameter_unknown");
  refused(sim.post(base + "/set_reader_display", "type=cart&cart[currency]=usd"), "cart[total]", "parameter_missing");
  auto pi = sim.post("/v1/payment_intents", kCreate);
  refused(sim.post(base + "/process_payment_intent",
                   "payment_intent=" + pi.json["id"].get<std::string>() + "&process_config[colour]=red"),
          "process_config[colour]", "parameter_unknown");
  REQUIRE(sim.post(base + "/process_payment_intent",
                   "payment_intent=" + pi.json["id"].get<std::string>() + "&process_config[skip_tipping]=true")
              .status == 200);
  const std::string helper = "/v1/test_helpers/terminal/readers/" + reader + "/present_payment_method";
  refused(sim.post(helper, "type=swipe"), "type");
  refused(sim.post(helper, "amount_tip=-1"), "amount_tip", "parameter_invalid_integer");
  refused(sim.post(helper, "type=card_present&interac_present[number]=4506445006931933"), "interac_present");
  CHECK(sim.post(helper, "type=card_present").json["action"]["status"] == "succeeded");
}
