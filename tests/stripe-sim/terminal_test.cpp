// Terminal, server-driven (stripe.md section 6): locations, simulated readers, asynchronous
// reader actions finished by the present_payment_method test helper, and their events.

#include <catch2/catch.hpp>

#include "sim_fixture.hpp"

using namespace till::stripesim;
using namespace till::stripesim::testing;
using nlohmann::json;

namespace {

std::string make_reader(Sim& sim) {
  auto loc = sim.post("/v1/terminal/locations",
                      "display_name=Shop&address[line1]=1%20Main&address[city]=Toronto"
                      "&address[country]=CA&address[postal_code]=M5V&address[state]=ON");
  REQUIRE(loc.status == 200);
  CHECK(loc.json["object"] == "terminal.location");
  auto reader = sim.post("/v1/terminal/readers", "registration_code=simulated-wpe&label=Front&location=" +
                                                     loc.json["id"].get<std::string>());
  REQUIRE(reader.status == 200);
  CHECK(reader.json["device_type"] == "simulated_wisepos_e");
  CHECK(reader.json["status"] == "online");
  CHECK(reader.json["action"].is_null());
  return reader.json["id"];
}

std::string new_pi(Sim& sim, int amount = 2500, const std::string& extra = {}) {
  auto pi = sim.post("/v1/payment_intents", "amount=" + std::to_string(amount) +
                                                "&currency=cad&allowed_payment_method_types[0]=card_present"
                                                "&allowed_payment_method_types[1]=interac_present" +
                                                extra);
  REQUIRE(pi.status == 200);
  return pi.json["id"];
}

std::vector<std::string> event_types(Sim& sim) {
  std::vector<std::string> out;
  auto events = sim.get("/v1/events?limit=100");
  for (const auto& e : events.json["data"]) out.push_back(e["type"]);
  return out;
}

}  // namespace

TEST_CASE("locations and readers are created, listed and retrieved per account") {
  Sim sim;
  const std::string reader = make_reader(sim);
  CHECK(sim.get("/v1/terminal/readers").json["data"].size() == 1);
  CHECK(sim.get("/v1/terminal/locations").json["data"].size() == 1);
  CHECK(sim.get("/v1/terminal/readers/" + reader).json["label"] == "Front");
  CHECK(sim.get("/v1/terminal/readers/" + reader, kOtherAccount).status == 404);
  CHECK(sim.get("/v1/terminal/readers", kOtherAccount).json["data"].empty());
  auto bad_code = sim.post("/v1/terminal/readers", "registration_code=puppies-plug-fly&location=tml_x");
  CHECK(bad_code.status == 400);
  CHECK(sim.post("/v1/terminal/locations", "display_name=NoAddress").status == 400);
}

TEST_CASE("process_payment_intent runs asynchronously and a presented card finishes it") {
  Sim sim;
  const std::string reader = make_reader(sim);
  const std::string pi = new_pi(sim, 2500, "&capture_method=manual");
  auto started = sim.post("/v1/terminal/readers/" + reader + "/process_payment_intent",
                          "payment_intent=" + pi + "&process_config[skip_tipping]=true", "proc-1");
  REQUIRE(started.status == 200);
  CHECK(started.json["action"]["type"] == "process_payment_intent");
  CHECK(started.json["action"]["status"] == "in_progress");
  CHECK(started.json["action"]["process_payment_intent"]["payment_intent"] == pi);

  auto busy =
      sim.post("/v1/terminal/readers/" + reader + "/process_payment_intent", "payment_intent=" + new_pi(sim));
  CHECK(busy.json["error"]["code"] == "terminal_reader_busy");

  auto presented = sim.post("/v1/test_helpers/terminal/readers/" + reader + "/present_payment_method",
                            "type=card_present&card_present[number]=4242424242424242&amount_tip=300");
  REQUIRE(presented.status == 200);
  CHECK(presented.json["action"]["status"] == "succeeded");
  auto paid = sim.get("/v1/payment_intents/" + pi);
  CHECK(paid.json["status"] == "requires_capture");
  CHECK(paid.json["amount"] == 2800);
  CHECK(paid.json["amount_details"]["tip"]["amount"] == 300);
  auto captured = sim.post("/v1/payment_intents/" + pi + "/capture", "");
  CHECK(captured.json["status"] == "succeeded");
  auto types = event_types(sim);
  CHECK(std::count(types.begin(), types.end(), "terminal.reader.action_succeeded") == 1);
  CHECK(std::count(types.begin(), types.end(), "payment_intent.amount_capturable_updated") == 1);
}

TEST_CASE("a declined card on the reader fails the action with the decline code") {
  Sim sim;
  const std::string reader = make_reader(sim);
  const std::string pi = new_pi(sim);
  REQUIRE(
      sim.post("/v1/terminal/readers/" + reader + "/process_payment_intent", "payment_intent=" + pi).status ==
      200);
  auto presented = sim.post("/v1/test_helpers/terminal/readers/" + reader + "/present_payment_method",
                            "card_present[number]=4000000000009995");
  REQUIRE(presented.status == 200);
  CHECK(presented.json["action"]["status"] == "failed");
  CHECK(presented.json["action"]["failure_code"] == "card_declined");
  CHECK(sim.get("/v1/payment_intents/" + pi).json["last_payment_error"]["decline_code"] ==
        "insufficient_funds");
  auto types = event_types(sim);
  CHECK(std::count(types.begin(), types.end(), "terminal.reader.action_failed") == 1);
  CHECK(std::count(types.begin(), types.end(), "payment_intent.payment_failed") == 1);
}

TEST_CASE("set_reader_display is in progress when answered and succeeds shortly after") {
  Sim sim;
  const std::string reader = make_reader(sim);
  auto shown = sim.post("/v1/terminal/readers/" + reader + "/set_reader_display",
                        "type=cart&cart[currency]=cad&cart[line_items][0][amount]=500"
                        "&cart[line_items][0][description]=Coffee&cart[line_items][0][quantity]=2"
                        "&cart[tax]=130&cart[total]=1130");
  REQUIRE(shown.status == 200);
  CHECK(shown.json["action"]["status"] == "in_progress");
  CHECK(shown.json["action"]["set_reader_display"]["cart"]["line_items"][0]["description"] == "Coffee");
  auto later = sim.get("/v1/terminal/readers/" + reader);
  CHECK(later.json["action"]["status"] == "succeeded");
  CHECK(sim.post("/v1/terminal/readers/" + reader + "/set_reader_display", "type=cart").status == 400);
}

TEST_CASE("cancel_action clears an in-progress action and reports it failed") {
  Sim sim;
  const std::string reader = make_reader(sim);
  const std::string pi = new_pi(sim);
  REQUIRE(
      sim.post("/v1/terminal/readers/" + reader + "/process_payment_intent", "payment_intent=" + pi).status ==
      200);
  auto canceled = sim.post("/v1/terminal/readers/" + reader + "/cancel_action", "");
  REQUIRE(canceled.status == 200);
  CHECK(canceled.json["action"].is_null());
  CHECK(sim.get("/v1/payment_intents/" + pi).json["status"] == "requires_payment_method");
  CHECK(sim.post("/v1/terminal/readers/" + reader + "/cancel_action", "").status == 400);
  CHECK(sim.post("/v1/test_helpers/terminal/readers/" + reader + "/present_payment_method", "").status ==
        400);
  auto types = event_types(sim);
  CHECK(std::count(types.begin(), types.end(), "terminal.reader.action_failed") == 1);
}

TEST_CASE("Interac refunds go through refund_payment on the reader, not the refunds API") {
  Sim sim;
  const std::string reader = make_reader(sim);
  const std::string pi = new_pi(sim, 4000);
  REQUIRE(
      sim.post("/v1/terminal/readers/" + reader + "/process_payment_intent", "payment_intent=" + pi).status ==
      200);
  auto paid = sim.post("/v1/test_helpers/terminal/readers/" + reader + "/present_payment_method",
                       "type=interac_present&interac_present[number]=4506445006931933");
  REQUIRE(paid.json["action"]["status"] == "succeeded");
  CHECK(sim.get("/v1/payment_intents/" + pi).json["status"] == "succeeded");

  auto api_refund = sim.post("/v1/refunds", "payment_intent=" + pi);
  CHECK(api_refund.status == 400);
  CHECK(api_refund.json["error"]["code"] == "refund_requires_card_present");

  auto started =
      sim.post("/v1/terminal/readers/" + reader + "/refund_payment", "payment_intent=" + pi + "&amount=1500");
  REQUIRE(started.status == 200);
  CHECK(started.json["action"]["type"] == "refund_payment");
  CHECK(started.json["action"]["status"] == "in_progress");
  auto done = sim.post("/v1/test_helpers/terminal/readers/" + reader + "/present_payment_method",
                       "type=interac_present");
  REQUIRE(done.status == 200);
  CHECK(done.json["action"]["status"] == "succeeded");
  CHECK(sim.server->ledger()[0].amount_refunded == 1500);
}

TEST_CASE("an offline reader refuses actions with terminal_reader_offline") {
  Sim sim;
  const std::string reader = make_reader(sim);
  REQUIRE(sim.http->request("POST", "/_sim/readers/" + reader, {}, "status=offline").status == 200);
  auto r =
      sim.post("/v1/terminal/readers/" + reader + "/process_payment_intent", "payment_intent=" + new_pi(sim));
  CHECK(r.json["error"]["code"] == "terminal_reader_offline");
  CHECK(sim.get("/v1/terminal/readers/" + reader).json["status"] == "offline");
}

TEST_CASE("an unreachable reader answers terminal_reader_timeout although the action started; cancel does not get "
          "through") {
  Sim sim;
  const std::string reader = make_reader(sim);
  const std::string pi = new_pi(sim);
  REQUIRE(sim.http->request("POST", "/_sim/readers/" + reader, {}, "timeout=true").status == 200);
  auto r = sim.post("/v1/terminal/readers/" + reader + "/process_payment_intent", "payment_intent=" + pi, "t-1");
  CHECK(r.status == 400);
  CHECK(r.json["error"]["code"] == "terminal_reader_timeout");
  // The same key replays the same answer; the action is running on the reader all the same.
  auto again = sim.post("/v1/terminal/readers/" + reader + "/process_payment_intent", "payment_intent=" + pi, "t-1");
  CHECK(again.json["error"]["code"] == "terminal_reader_timeout");
  CHECK(sim.get("/v1/terminal/readers/" + reader).json["action"]["status"] == "in_progress");
  auto cancel = sim.post("/v1/terminal/readers/" + reader + "/cancel_action", "", "c-1");
  CHECK(cancel.json["error"]["code"] == "terminal_reader_timeout");
  CHECK(sim.get("/v1/terminal/readers/" + reader).json["action"]["status"] == "in_progress");
  // The customer can still pay on the reader; the PaymentIntent records it.
  auto presented = sim.post("/v1/test_helpers/terminal/readers/" + reader + "/present_payment_method",
                            "card_present[number]=4242424242424242");
  CHECK(presented.json["action"]["status"] == "succeeded");
  CHECK(sim.get("/v1/payment_intents/" + pi).json["status"] == "succeeded");
  REQUIRE(sim.http->request("POST", "/_sim/readers/" + reader, {}, "timeout=false").status == 200);
  CHECK(sim.http->request("POST", "/_sim/readers/" + reader, {}, "timeout=maybe").status == 400);
}

TEST_CASE("a failure on the reader itself fails the action with its code and charges nothing") {
  Sim sim;
  const std::string reader = make_reader(sim);
  const std::string pi = new_pi(sim);
  CHECK(sim.http->request("POST", "/_sim/readers/" + reader, {}, "fail_action=customer_canceled").status == 400);
  REQUIRE(
      sim.post("/v1/terminal/readers/" + reader + "/process_payment_intent", "payment_intent=" + pi).status ==
      200);
  auto failed = sim.http->request("POST", "/_sim/readers/" + reader, {}, "fail_action=customer_canceled");
  REQUIRE(failed.status == 200);
  CHECK(failed.json["action"]["status"] == "failed");
  CHECK(failed.json["action"]["failure_code"] == "customer_canceled");
  auto paid = sim.get("/v1/payment_intents/" + pi);
  CHECK(paid.json["status"] == "requires_payment_method");
  CHECK(paid.json["last_payment_error"].is_null());
  auto types = event_types(sim);
  CHECK(std::count(types.begin(), types.end(), "terminal.reader.action_failed") == 1);
  // The reader is free for the next action.
  CHECK(sim.post("/v1/terminal/readers/" + reader + "/process_payment_intent", "payment_intent=" + pi).status ==
        200);
}

TEST_CASE("a card presented to a reader that went offline mid-action goes nowhere") {
  Sim sim;
  const std::string reader = make_reader(sim);
  const std::string pi = new_pi(sim);
  REQUIRE(
      sim.post("/v1/terminal/readers/" + reader + "/process_payment_intent", "payment_intent=" + pi).status ==
      200);
  REQUIRE(sim.http->request("POST", "/_sim/readers/" + reader, {}, "status=offline").status == 200);
  auto presented = sim.post("/v1/test_helpers/terminal/readers/" + reader + "/present_payment_method",
                            "card_present[number]=4242424242424242");
  CHECK(presented.json["error"]["code"] == "terminal_reader_offline");
  CHECK(sim.post("/v1/terminal/readers/" + reader + "/cancel_action", "").json["error"]["code"] ==
        "terminal_reader_offline");
  CHECK(sim.get("/v1/payment_intents/" + pi).json["status"] == "requires_payment_method");
}
