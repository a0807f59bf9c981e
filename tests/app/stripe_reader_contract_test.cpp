// The `stripe` (server-driven) reader driver against till-stripe-sim's simulated readers, through
// the REAL adapter (app::StripeServerDrivenApi over sync::StripeClient over HTTP to an in-process
// stripesim::Server on 127.0.0.1:0). The cases mirror tests/terminal/contract_test.cpp: every case
// of the shared contract that can apply to a smart reader runs here under the same sentence;
// terminal/README.md lists the ones that cannot apply and why. The simulator's
// present_payment_method test helper plays the customer.
//
// Then the smart-reader payment chain (app::SmartReaderPayment): create -> record -> process ->
// outcome -> capture, its crash safety net, and exactly one PaymentIntent per attempt on the
// simulator's ledger.
#include <catch2/catch.hpp>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "../sync/engine_fixture.hpp"
#include "till/app/server_driven.hpp"
#include "till/app/smart_reader_payment.hpp"
#include "till/sync/webhook.hpp"
#include "till/sync/webhook_server.hpp"
#include "till/terminal/protocol/messages.hpp"
#include "till/terminal/stripe_reader.hpp"

using namespace till;
using namespace till::sync::testing;
using namespace std::chrono_literals;
using terminal::ApprovedToForward;
using terminal::Cancelled;
using terminal::CollectOutcome;
using terminal::Declined;
using terminal::OutcomeUnknown;
using nlohmann::json;

namespace {

terminal::StripeReaderOptions fast_reader() {
  terminal::StripeReaderOptions o;
  o.poll_interval = 10ms;
  o.cancel_grace = 300ms;
  return o;
}

template <class T>
const T* as(const Result<CollectOutcome>& r) {
  if (!r) return nullptr;
  return std::get_if<T>(&*r);
}
std::string show(const Result<CollectOutcome>& r) { return r ? describe(*r) : "error " + r.error().describe(); }

struct SmartHarness : EngineHarness {
  explicit SmartHarness(terminal::StripeReaderOptions ro = fast_reader(), Options o = {})
      : EngineHarness(o), api(io, *client, kAccount), rng(7) {
    auto loc = sim_call("POST", "/v1/terminal/locations",
                        "display_name=Shop&address[line1]=1%20Main&address[city]=Springfield&address[country]=US");
    REQUIRE(loc.contains("id"));
    location = loc["id"].get<std::string>();
    std::optional<Result<terminal::ReaderInfo>> reg;
    reader = terminal::make_stripe_reader(io, api, rng, ro);
    reader->async_register("simulated-wpe", "Counter", location, 5s, [&](auto r) { reg = std::move(r); });
    REQUIRE(run_until([&] { return reg.has_value(); }));
    REQUIRE(*reg);
    reader_id = (*reg)->id;
    reader->set_event_handler([this](const terminal::ReaderEvent& e) { events.push_back(e); });
  }
  ~SmartHarness() {
    reader.reset();
    // Let calls still in flight finish against the client before it goes.
    io.restart();
    io.run_for(50ms);
  }

  app::StripeServerDrivenApi api;
  SeededRandom rng;
  std::string location;
  std::string reader_id;
  std::unique_ptr<terminal::StripeReader> reader;
  std::vector<terminal::ReaderEvent> events;

  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 10s) {
    auto expired = std::make_shared<bool>(false);
    boost::asio::steady_timer watchdog(io, limit);
    watchdog.async_wait([expired](auto ec) {
      if (!ec) *expired = true;
    });
    io.restart();
    while (!pred() && !*expired)
      if (io.run_one() == 0) break;
    watchdog.cancel();
    io.restart();
    return pred();
  }
  // Runs the loop for a while (lets late answers arrive) without waiting on a condition.
  void settle(std::chrono::milliseconds d = 50ms) { run_until([] { return false; }, d); }

  // The simulator itself, without the client (the "other side"): the customer at the reader,
  // the simulator's controls, and looks at Stripe's state that do not go through Till's code.
  json sim_call(const std::string& method, const std::string& target, const std::string& body = {}) {
    stripesim::Request rq;
    rq.method = method;
    rq.target = target;
    rq.headers = {{"Authorization", std::string("Bearer ") + kKey},
                  {"Stripe-Version", "2026-10-28.endive"},
                  {"Stripe-Account", kAccount}};
    if (method == "POST") rq.headers.emplace_back("Idempotency-Key", new_uuid_v4(rng));
    rq.body = body;
    auto resp = sim->api().handle(rq);
    auto j = json::parse(resp.body, nullptr, false);
    return j.is_discarded() ? json::object() : j;
  }
  json sim_reader() { return sim_call("GET", "/v1/terminal/readers/" + reader_id); }
  bool action_in_progress() {
    auto r = sim_reader();
    return r["action"].is_object() && r["action"]["status"] == "in_progress";
  }
  json present(const std::string& number) {
    return sim_call("POST", "/v1/test_helpers/terminal/readers/" + reader_id + "/present_payment_method",
                    "type=card_present&card_present[number]=" + number);
  }
  json control(const std::string& body) { return sim_call("POST", "/_sim/readers/" + reader_id, body); }
  // The customer taps a card, through the sync client's test-helper call over HTTP (the
  // simulator delivers webhooks after HTTP answers, as a server would).
  Result<sync::Reader> tap(const std::string& number) {
    return client->wait(client->async_present_payment_method(reader_id, number, std::nullopt,
                                                             sync::RequestOptions(kAccount, new_uuid_v4(rng))));
  }

  Status connect() {
    std::optional<Result<terminal::ReaderInfo>> got;
    reader->async_connect(terminal::ReaderInfo{reader_id, "", "", "", "", "stripe"}, 5s,
                          [&](auto r) { got = std::move(r); });
    REQUIRE(run_until([&] { return got.has_value(); }));
    if (!*got) return fail(got->error());
    return ok();
  }

  // A server-driven PaymentIntent (no payment method, no confirm), as the chain creates it.
  std::string new_pi(std::int64_t amount, const std::string& sale_id = "s-contract") {
    sync::CreatePaymentIntentParams p;
    p.amount = amount;
    p.currency = "usd";
    p.metadata = {{"sale_id", sale_id}};
    auto r = client->wait(client->async_create_payment_intent(p, sync::RequestOptions(kAccount, new_uuid_v4(rng))));
    REQUIRE(r);
    return r->id;
  }

  std::optional<Result<CollectOutcome>> result;
  int completions = 0;
  std::string pi;
  terminal::CancelHandle start(std::int64_t amount, std::chrono::milliseconds deadline = 5s) {
    result.reset();
    pi = new_pi(amount);
    terminal::CollectOptions o;
    o.payment_intent_id = pi;
    o.idempotency_key = "till-process-" + new_uuid_v4(rng);
    o.deadline = deadline;
    return reader->async_collect(pos::Money(amount, pos::Currency::of("usd")), o, [this](auto r) {
      ++completions;
      result = std::move(r);
    });
  }
  // One whole payment: the customer presents `number` once the reader asks for a card.
  Result<CollectOutcome> pay(std::int64_t amount, const std::string& number) {
    start(amount);
    REQUIRE(run_until([&] { return result.has_value() || action_in_progress(); }));
    if (!result) {
      auto presented = tap(number);
      INFO((presented ? std::string("ok") : presented.error().describe()));
      REQUIRE(presented);
      REQUIRE(presented->action.has_value());
      CHECK(presented->action->status != "in_progress");
    }
    REQUIRE(run_until([&] { return result.has_value(); }));
    return *result;
  }
  std::string pi_status(const std::string& id) { return sim_call("GET", "/v1/payment_intents/" + id)["status"]; }
  std::size_t ledger_size() const { return sim->ledger().size(); }
};

void require_no_pan(const ApprovedToForward& a) {
  for (const std::string* s : {&a.payment_method, &a.payment_intent_id, &a.card.brand, &a.card.last4,
                               &a.card.exp_month_year, &a.card.read_method, &a.card.application_label,
                               &a.card.authorization_code})
    REQUIRE_FALSE(terminal::protocol::looks_like_card_number(*s));
}

}  // namespace

// ---- the shared contract, as it applies to a smart reader --------------------------------------

TEST_CASE("stripe: discover finds the reader and connect reports its identity and status", "[stripe-contract]") {
  SmartHarness h;
  std::optional<Result<std::vector<terminal::ReaderInfo>>> found;
  h.reader->async_discover(5s, [&](auto r) { found = std::move(r); });
  REQUIRE(h.run_until([&] { return found.has_value(); }));
  REQUIRE(*found);
  REQUIRE((*found)->size() == 1);
  const auto info = (**found)[0];
  CHECK(info.id == h.reader_id);
  CHECK(info.driver == "stripe");
  CHECK(info.model == "simulated_wisepos_e");
  CHECK(info.label == "Counter");

  REQUIRE(h.connect());
  const auto s = h.reader->status();
  CHECK(s.connection == terminal::ConnectionState::Connected);
  CHECK(s.firmware_version == "2.37.2.0");
  CHECK_FALSE(s.offline_capable);
  // Connecting twice is refused, not queued.
  auto again = h.connect();
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::FailedPrecondition);
}

TEST_CASE("stripe: operations before connect fail Unavailable", "[stripe-contract]") {
  SmartHarness h;
  h.start(1000);
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  REQUIRE_FALSE(*h.result);
  CHECK(h.result->error().kind == ErrorKind::Unavailable);
  CHECK(h.sim_reader()["action"].is_null());  // nothing reached the reader
}

TEST_CASE("stripe: each approve test card yields approved-to-forward with its PaymentIntent and card, never a PAN",
          "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  const std::tuple<const char*, const char*, const char*> cards[] = {
      {"4242424242424242", "visa", "4242"},
      {"5555555555554444", "mastercard", "4444"},
      {"378282246310005", "amex", "0005"},
      {"6011111111111117", "discover", "1117"},
      {"4001007020000002", "visa", "0002"},  // offline PIN card: the reader handles the PIN
  };
  for (const auto& [number, brand, last4] : cards) {
    INFO(brand << " " << last4);
    auto r = h.pay(1000, number);
    INFO(show(r));
    const auto* a = as<ApprovedToForward>(r);
    REQUIRE(a != nullptr);
    CHECK(a->payment_intent_id == h.pi);
    CHECK(a->payment_method.rfind("pm_", 0) == 0);
    CHECK(a->card.brand == brand);
    CHECK(a->card.last4 == last4);
    CHECK_FALSE(a->stored_offline);
    require_no_pan(*a);
    CHECK(h.pi_status(h.pi) == "succeeded");
  }
  CHECK(h.ledger_size() == 5);
}

TEST_CASE("stripe: each decline test card yields Declined with Stripe's decline code", "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  // 4000000000000002 is Stripe's generic decline: code card_declined, decline_code generic_decline
  // (the USB reader simulator reports card_declined for it; Stripe's own field is used here).
  const std::pair<const char*, const char*> cases[] = {
      {"4000000000000002", "generic_decline"}, {"4000000000009995", "insufficient_funds"},
      {"4000000000009987", "lost_card"},       {"4000000000009979", "stolen_card"},
      {"4000000000000069", "expired_card"},    {"4000000000000119", "processing_error"},
  };
  for (const auto& [number, code] : cases) {
    INFO(code);
    auto r = h.pay(1000, number);
    INFO(show(r));
    const auto* d = as<Declined>(r);
    REQUIRE(d != nullptr);
    CHECK(d->decline_code == code);
    CHECK(h.pi_status(h.pi) == "requires_payment_method");
  }
}

TEST_CASE("stripe: amount endings decline an approving card with Stripe's test codes", "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  const std::pair<std::int64_t, const char*> cases[] = {{1001, "call_issuer"},
                                                        {1005, "generic_decline"},
                                                        {1055, "incorrect_pin"},
                                                        {1065, "withdrawal_count_limit_exceeded"},
                                                        {1075, "pin_try_exceeded"}};
  for (const auto& [amount, code] : cases) {
    INFO(amount);
    auto r = h.pay(amount, "4242424242424242");
    const auto* d = as<Declined>(r);
    REQUIRE(d != nullptr);
    CHECK(d->decline_code == code);
  }
  CHECK(as<ApprovedToForward>(h.pay(1099, "4242424242424242")) != nullptr);
}

TEST_CASE("stripe: cancel while waiting for a card ends Cancelled and the reader is free again",
          "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  auto handle = h.start(1000);
  REQUIRE(h.run_until([&] { return h.action_in_progress(); }));
  handle.cancel();
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  INFO(show(*h.result));
  const auto* c = as<Cancelled>(*h.result);
  REQUIRE(c != nullptr);
  CHECK(c->reason == "requested");
  CHECK(h.sim_reader()["action"].is_null());
  CHECK(h.pi_status(h.pi) == "requires_payment_method");
  // A stale handle does nothing; cancel with nothing running is refused.
  handle.cancel();
  CHECK(h.reader->cancel().error().kind == ErrorKind::FailedPrecondition);
  CHECK(as<ApprovedToForward>(h.pay(1000, "4242424242424242")) != nullptr);
}

TEST_CASE("stripe: a second operation while a collect runs fails FailedPrecondition and is never queued",
          "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  h.start(1000);
  std::optional<Result<CollectOutcome>> second;
  std::optional<Status> display;
  std::optional<Result<terminal::ReaderStatus>> refreshed;
  terminal::CollectOptions o;
  o.payment_intent_id = h.new_pi(2000);
  o.idempotency_key = "till-process-second";
  h.reader->async_collect(pos::Money(2000, pos::Currency::of("usd")), o, [&](auto r) { second = std::move(r); });
  h.reader->async_set_display(terminal::Cart{"usd", {{"Tea", 1, 300}}, 0, 300}, 1s, [&](Status s) { display = s; });
  h.reader->async_refresh_status(1s, [&](auto r) { refreshed = std::move(r); });
  REQUIRE(h.run_until([&] { return second && display && refreshed && h.action_in_progress(); }));
  REQUIRE_FALSE(*second);
  CHECK(second->error().kind == ErrorKind::FailedPrecondition);
  REQUIRE_FALSE(*display);
  CHECK(display->error().kind == ErrorKind::FailedPrecondition);
  REQUIRE_FALSE(*refreshed);
  CHECK(refreshed->error().kind == ErrorKind::FailedPrecondition);
  h.present("4242424242424242");
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  CHECK(as<ApprovedToForward>(*h.result) != nullptr);
  h.settle();
  // Nothing was queued behind the collect: the reader's last action is the payment.
  CHECK(h.sim_reader()["action"]["type"] == "process_payment_intent");
  CHECK(h.pi_status(o.payment_intent_id) == "requires_payment_method");
}

TEST_CASE("stripe: a busy reader refuses the collect with FailedPrecondition", "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  // Another register (or the Dashboard) holds the reader.
  const std::string other = h.new_pi(4000, "s-other");
  auto busy = h.sim_call("POST", "/v1/terminal/readers/" + h.reader_id + "/process_payment_intent",
                         "payment_intent=" + other);
  REQUIRE(busy["action"]["status"] == "in_progress");
  h.start(1000);
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  REQUIRE_FALSE(*h.result);
  CHECK(h.result->error().kind == ErrorKind::FailedPrecondition);
  CHECK_THAT(h.result->error().message, Catch::Contains("busy"));
  CHECK(h.pi_status(h.pi) == "requires_payment_method");
}

TEST_CASE("stripe: a collect past its deadline is cancelled on the reader and ends Cancelled",
          "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  h.start(1000, 400ms);  // long enough for the process POST to land first on a loaded machine
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  INFO(show(*h.result));
  const auto* c = as<Cancelled>(*h.result);
  REQUIRE(c != nullptr);
  CHECK(c->reason == "deadline");
  CHECK(h.sim_reader()["action"].is_null());
}

TEST_CASE("stripe: an unresponsive reader past the deadline ends OutcomeUnknown, never Declined",
          "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  // Stripe cannot reach the reader in time: process answers terminal_reader_timeout (the action
  // may have started: it has), and the cancel never gets through.
  REQUIRE(h.control("timeout=true")["id"] == h.reader_id);
  h.start(1000, 100ms);
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  INFO(show(*h.result));
  CHECK(as<OutcomeUnknown>(*h.result) != nullptr);
  CHECK(h.action_in_progress());
  // The truth is on Stripe's side: the customer pays after all, and the PaymentIntent says so.
  h.present("4242424242424242");
  CHECK(h.pi_status(h.pi) == "succeeded");
}

TEST_CASE("stripe: the reader's own failure with no card fails Unavailable and nothing is charged",
          "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  h.start(1000);
  REQUIRE(h.run_until([&] { return h.action_in_progress(); }));
  REQUIRE(h.control("fail_action=reader_timeout")["action"]["failure_code"] == "reader_timeout");
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  REQUIRE_FALSE(*h.result);
  CHECK(h.result->error().kind == ErrorKind::Unavailable);
  CHECK_THAT(h.result->error().message, Catch::Contains("reader_timeout"));
  CHECK(h.pi_status(h.pi) == "requires_payment_method");
}

TEST_CASE("stripe: a reader that drops offline mid-payment ends OutcomeUnknown, never Declined",
          "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  h.start(1000, 500ms);
  REQUIRE(h.run_until([&] { return h.action_in_progress(); }));
  REQUIRE(h.control("status=offline")["status"] == "offline");
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  INFO(show(*h.result));
  CHECK(as<OutcomeUnknown>(*h.result) != nullptr);
  CHECK(h.pi_status(h.pi) == "requires_payment_method");
}

TEST_CASE("stripe: Till losing Stripe after the card was presented ends OutcomeUnknown, never Declined",
          "[stripe-contract]") {
  for (const char* number : {"4000000000009995", "4242424242424242"}) {
    INFO(number);
    // Slow polling and no webhook: nothing is in flight when the connection goes.
    terminal::StripeReaderOptions ro;
    ro.poll_interval = 10s;
    ro.cancel_grace = 200ms;
    SmartHarness h(ro);
    REQUIRE(h.connect());
    h.start(1000, 500ms);
    REQUIRE(h.run_until([&] { return h.action_in_progress(); }));
    h.settle(20ms);
    h.present(number);  // the reader decided at Stripe...
    h.sim->api().set_faults({*stripesim::parse_fault("unavailable")});  // ...and Till cannot hear it
    REQUIRE(h.run_until([&] { return h.result.has_value(); }));
    INFO(show(*h.result));
    CHECK(as<OutcomeUnknown>(*h.result) != nullptr);
    h.sim->api().set_faults({});
    // Reconcile, not guess: the PaymentIntent holds the real answer.
    CHECK(h.pi_status(h.pi) == (std::string(number) == "4242424242424242" ? "succeeded" : "requires_payment_method"));
  }
}

TEST_CASE("stripe: a lost answer to process_payment_intent is followed up, not guessed", "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  const std::string pi = h.new_pi(1000);
  // The next API request is the process POST: applied, then its connection dropped unanswered.
  stripesim::FaultSpec lost = *stripesim::parse_fault("lost_after_commit:post");
  lost.nth = h.sim->api().requests_seen() + 1;
  h.sim->api().set_faults({lost});
  terminal::CollectOptions o;
  o.payment_intent_id = pi;
  o.idempotency_key = "till-process-lost";
  std::optional<Result<CollectOutcome>> got;
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), o, [&](auto r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return h.action_in_progress(); }));
  h.settle(30ms);
  CHECK_FALSE(got.has_value());  // still watching: the action did start
  h.present("4242424242424242");
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  INFO(show(*got));
  const auto* a = as<ApprovedToForward>(*got);
  REQUIRE(a != nullptr);
  CHECK(a->payment_intent_id == pi);
  CHECK(h.ledger_size() == 1);
}

TEST_CASE("stripe: slow responses still complete a payment within its deadline", "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  h.sim->api().set_faults({*stripesim::parse_fault("latency:ms=15")});
  auto r = h.pay(1000, "4000000000009995");
  INFO(show(r));
  const auto* d = as<Declined>(r);
  REQUIRE(d != nullptr);
  CHECK(d->decline_code == "insufficient_funds");
}

TEST_CASE("stripe: a cancel after the reader started deciding never turns an approval into a cancellation",
          "[stripe-contract]") {
  terminal::StripeReaderOptions ro = fast_reader();
  ro.cancel_grace = 3s;  // the real answer must win, even on a loaded machine
  SmartHarness h(ro);
  REQUIRE(h.connect());
  h.start(1000);
  REQUIRE(h.run_until([&] { return h.action_in_progress(); }));
  h.present("4242424242424242");  // approved at Stripe before the cancel arrives
  REQUIRE(h.reader->cancel());
  REQUIRE(h.run_until([&] { return h.result.has_value(); }));
  INFO(show(*h.result));
  CHECK(as<ApprovedToForward>(*h.result) != nullptr);
  CHECK(h.pi_status(h.pi) == "succeeded");
}

TEST_CASE("stripe: set_display shows the cart on the reader", "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  std::optional<Status> shown;
  h.reader->async_set_display(terminal::Cart{"eur", {{"Espresso", 2, 500}, {"Croissant", 3, 250}}, 60, 810}, 5s,
                              [&](Status s) { shown = s; });
  REQUIRE(h.run_until([&] { return shown.has_value(); }));
  REQUIRE(*shown);
  const json action = h.sim_reader()["action"];
  REQUIRE(action["type"] == "set_reader_display");
  const json cart = action["set_reader_display"]["cart"];
  CHECK(cart["currency"] == "eur");
  CHECK(cart["total"] == 810);
  CHECK(cart["tax"] == 60);
  REQUIRE(cart["line_items"].size() == 2);
  // Stripe's line amount is the unit price: 2 x 2.50; 3 for 2.50 is not a whole unit price, so
  // the line total is shown as one item.
  CHECK(cart["line_items"][0]["description"] == "Espresso");
  CHECK(cart["line_items"][0]["amount"] == 250);
  CHECK(cart["line_items"][0]["quantity"] == 2);
  CHECK(cart["line_items"][1]["description"] == "3 x Croissant");
  CHECK(cart["line_items"][1]["amount"] == 250);
  CHECK(cart["line_items"][1]["quantity"] == 1);
}

TEST_CASE("stripe: a smart reader updates itself and never stores payments offline", "[stripe-contract]") {
  SmartHarness h;
  REQUIRE(h.connect());
  std::optional<Status> installed;
  h.reader->async_install_update(1s, [&](Status s) { installed = s; });
  REQUIRE(h.run_until([&] { return installed.has_value(); }));
  REQUIRE_FALSE(*installed);
  CHECK(installed->error().kind == ErrorKind::FailedPrecondition);
  CHECK_FALSE(h.reader->status().offline_capable);
}

TEST_CASE("stripe: many consecutive payments keep working with the reader", "[stripe-contract][soak]") {
#ifdef TILL_LONG_TESTS_ON
  const int n = 300;
#else
  const int n = 20;
#endif
  SmartHarness h;
  REQUIRE(h.connect());
  const char* cards[] = {"4242424242424242", "5555555555554444", "4000000000009995", "378282246310005"};
  int approved = 0, declined = 0;
  for (int i = 0; i < n; ++i) {
    auto r = h.pay(1000 + (i % 7) * 100, cards[i % 4]);
    REQUIRE(r);
    if (as<ApprovedToForward>(r)) ++approved;
    if (as<Declined>(r)) ++declined;
  }
  CHECK(approved == n - n / 4);
  CHECK(declined == n / 4);
  CHECK(h.completions == n);
  CHECK(h.ledger_size() == static_cast<std::size_t>(n));
}

TEST_CASE("stripe: a verified terminal.reader webhook decides at once; polling is only the fallback",
          "[stripe-contract]") {
  terminal::StripeReaderOptions ro;
  ro.poll_interval = 60s;  // polling cannot be what decides here
  ro.cancel_grace = 1s;
  SmartHarness h(ro);
  const Secret secret("whsec_contract_test_secret");
  int verified = 0, rejected = 0;
  auto server = sync::WebhookServer::start(
      h.io, sync::WebhookServerConfig{}, [&](std::string_view body, std::string_view signature) {
        if (!sync::verify_signature(signature, body, secret, h.clock.now())) {
          ++rejected;
          return sync::WebhookHttpReply{400, "{}"};
        }
        ++verified;
        auto ev = sync::parse_event(body);
        if (ev) {
          if (auto update = app::reader_update_from_event(*ev)) h.reader->on_reader_update(*update);
        }
        return sync::WebhookHttpReply{200, "{}"};
      });
  REQUIRE(server);
  h.sim->api().add_webhook(stripesim::WebhookEndpoint{(*server)->url(), secret.reveal(), true});
  REQUIRE(h.connect());
  h.start(1000, 5s);
  REQUIRE(h.run_until([&] { return h.action_in_progress(); }));
  REQUIRE(h.tap("4000000000009987"));
  REQUIRE(h.run_until([&] { return h.result.has_value(); }, 3s));
  INFO(show(*h.result));
  const auto* d = as<Declined>(*h.result);
  REQUIRE(d != nullptr);
  CHECK(d->decline_code == "lost_card");
  CHECK(verified >= 1);
  CHECK(rejected == 0);
  (*server)->stop();
}

TEST_CASE("reader_update_from_event takes terminal.reader action events only") {
  sync::Event ev;
  ev.type = "payment_intent.succeeded";
  ev.object_json = R"({"id":"pi_1","object":"payment_intent"})";
  CHECK_FALSE(app::reader_update_from_event(ev).has_value());
  ev.type = "terminal.reader.action_failed";
  ev.object_json = R"({"id":"tmr_1","object":"terminal.reader","status":"online","device_sw_version":"2.1",
    "action":{"type":"process_payment_intent","status":"failed","failure_code":"card_declined",
    "process_payment_intent":{"payment_intent":"pi_9"}}})";
  auto r = app::reader_update_from_event(ev);
  REQUIRE(r.has_value());
  CHECK(r->id == "tmr_1");
  CHECK(r->device_sw_version == "2.1");
  REQUIRE(r->action.has_value());
  CHECK(r->action->failure_code == "card_declined");
  CHECK(r->action->payment_intent_id == "pi_9");
  ev.object_json = "not json";
  CHECK_FALSE(app::reader_update_from_event(ev).has_value());
}

// ---- the smart-reader payment chain -------------------------------------------------------------

namespace {

struct ChainHarness : SmartHarness {
  explicit ChainHarness(std::string capture_method = "automatic", terminal::StripeReaderOptions ro = fast_reader())
      : SmartHarness(ro) {
    REQUIRE(connect());
    config.payment_intent.fee = kFee;
    config.payment_intent.capture_method = std::move(capture_method);
    config.collect_deadline = 5s;
    config.recovery_margin = 60s;
    chain = std::make_unique<app::SmartReaderPayment>(io, *store, *client, *reader, clock, config,
                                                      [this] { ++wakes; });
  }
  ~ChainHarness() { chain.reset(); }

  app::SmartReaderPaymentConfig config;
  std::unique_ptr<app::SmartReaderPayment> chain;
  int wakes = 0;

  // A sale and its card attempt as the kiosk persists them before collecting.
  Queued persist(std::int64_t amount) {
    Queued q;
    q.sale = make_sale(new_uuid_v4(ids), kAccount, amount, clock.now());
    REQUIRE(store->sales().persist(q.sale));
    pos::PaymentAttempt& a = q.attempt;
    a.id = new_uuid_v4(ids);
    a.sale_id = q.sale.id;
    a.number = 1;
    a.tender = pos::TenderKind::Card;
    a.state = pos::AttemptState::Collecting;
    a.amount = amount;
    a.currency = "usd";
    a.account_id = kAccount;
    a.idempotency_key = new_uuid_v4(ids);
    a.created_at = clock.now();
    REQUIRE(store->attempts().create(a));
    return q;
  }

  std::optional<app::SmartPaymentOutcome> outcome;
  app::SmartPaymentOutcome run(const Queued& q, const std::string& number) {
    outcome.reset();
    REQUIRE(chain->start(q.attempt.id, [this](app::SmartPaymentOutcome o) { outcome = std::move(o); }));
    REQUIRE(run_until([&] { return outcome.has_value() || action_in_progress(); }));
    if (!outcome) present(number);
    REQUIRE(run_until([&] { return outcome.has_value(); }));
    return *outcome;
  }
  std::vector<pos::OutboxOperation> ops(const Queued& q) { return store->outbox().for_sale(q.sale.id).value(); }
};

}  // namespace

TEST_CASE("the smart-reader chain creates one keyed PaymentIntent, records it, processes it and approves",
          "[smart-chain]") {
  ChainHarness h;
  auto q = h.persist(2000);
  auto o = h.run(q, "4242424242424242");
  INFO(o.message);
  REQUIRE(o.kind == app::SmartPaymentOutcome::Kind::Approved);
  CHECK(o.card.brand == "visa");
  CHECK(o.card.last4 == "4242");
  CHECK_FALSE(o.capture_queued);
  // Exactly one PaymentIntent, with the body built by sync::make_payment_intent_operation.
  auto ledger = h.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].id == o.payment_intent_id);
  CHECK(ledger[0].status == "succeeded");
  CHECK(ledger[0].amount == 2000);
  CHECK(ledger[0].application_fee_amount == kFee.fee_for(2000).value());
  CHECK(ledger[0].metadata.at("attempt") == "1");
  CHECK(ledger[0].metadata.at("register_id") == "reg-1");
  // The attempt was bound to its PaymentIntent before the reader was asked; the safety net is
  // the same keyed create, due only after the deadline.
  auto a = h.attempt(q);
  CHECK(a.state == pos::AttemptState::Submitting);
  CHECK(a.payment_intent_id == o.payment_intent_id);
  auto ops = h.ops(q);
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].kind == pos::OperationKind::CreatePaymentIntent);
  CHECK(ops[0].idempotency_key == q.attempt.idempotency_key);
  CHECK(ops[0].state == pos::OutboxState::Pending);
  CHECK(ops[0].next_attempt_at > h.clock.now());
  CHECK_FALSE(sync::body_field(ops[0].body, "confirm").has_value());
  // What the runtime reports to the reducer.
  auto action = app::to_action(q.attempt.id, o);
  const auto* approved = std::get_if<pos::PaymentApproved>(&action);
  REQUIRE(approved != nullptr);
  CHECK(approved->payment_intent_id == o.payment_intent_id);

  // The kiosk records the approval; when the safety net comes due, the engine sends nothing.
  REQUIRE(h.store->attempts().update(store::AttemptUpdate{.attempt_id = a.id, .event = pos::AttemptEvent::StripeApproved}));
  h.clock.advance(std::chrono::minutes(2));
  h.drain();
  CHECK(h.op(ops[0].id).state == pos::OutboxState::Done);
  CHECK(h.ledger_for(q.sale.id).size() == 1);
}

TEST_CASE("a declined card on the smart reader is declined with Stripe's code and nothing is charged",
          "[smart-chain]") {
  ChainHarness h;
  auto q = h.persist(1500);
  auto o = h.run(q, "4000000000009995");
  REQUIRE(o.kind == app::SmartPaymentOutcome::Kind::Declined);
  CHECK(o.decline_code == "insufficient_funds");
  auto action = app::to_action(q.attempt.id, o);
  const auto* d = std::get_if<pos::PaymentDeclined>(&action);
  REQUIRE(d != nullptr);
  CHECK(d->code == "insufficient_funds");
  auto ledger = h.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].status == "requires_payment_method");
  CHECK(ledger[0].amount_received == 0);
}

TEST_CASE("manual capture: the chain queues one keyed capture and the engine captures it", "[smart-chain]") {
  ChainHarness h("manual");
  auto q = h.persist(3000);
  auto o = h.run(q, "5555555555554444");
  REQUIRE(o.kind == app::SmartPaymentOutcome::Kind::Approved);
  CHECK(o.capture_queued);
  CHECK(h.wakes == 1);
  CHECK(h.ledger_for(q.sale.id).at(0).status == "requires_capture");
  REQUIRE(h.store->attempts().update(
      store::AttemptUpdate{.attempt_id = q.attempt.id, .event = pos::AttemptEvent::StripeApproved}));
  h.drain();
  auto ledger = h.ledger_for(q.sale.id);
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].status == "succeeded");
  CHECK(ledger[0].amount_received == 3000);
  bool capture_done = false;
  for (const auto& op : h.ops(q)) {
    if (op.kind == pos::OperationKind::Capture) {
      CHECK(op.idempotency_key == sync::capture_key_for(q.attempt));
      capture_done = op.state == pos::OutboxState::Done;
    }
  }
  CHECK(capture_done);
}

TEST_CASE("cancel on the smart reader ends Canceled and the PaymentIntent is never charged", "[smart-chain]") {
  ChainHarness h;
  auto q = h.persist(1200);
  std::optional<app::SmartPaymentOutcome> got;
  REQUIRE(h.chain->start(q.attempt.id, [&](app::SmartPaymentOutcome o) { got = std::move(o); }));
  CHECK(h.chain->running());
  // A second payment while one runs is refused at once.
  auto q2 = h.persist(900);
  auto second = h.chain->start(q2.attempt.id, [](app::SmartPaymentOutcome) {});
  REQUIRE_FALSE(second);
  CHECK(second.error().kind == ErrorKind::FailedPrecondition);
  REQUIRE(h.run_until([&] { return h.action_in_progress(); }));
  REQUIRE(h.chain->cancel());
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  CHECK(got->kind == app::SmartPaymentOutcome::Kind::Canceled);
  CHECK(std::holds_alternative<pos::CollectCanceled>(app::to_action(q.attempt.id, *got)));
  CHECK(h.ledger_for(q.sale.id).at(0).amount_received == 0);
  // The chain had recorded the attempt submitting; it records the proof that nobody was charged
  // (the kiosk's cancel event can no longer move a submitted attempt), and the safety net then
  // completes without sending anything.
  CHECK(h.attempt(q).state == pos::AttemptState::Canceled);
  h.clock.advance(std::chrono::minutes(10));
  h.drain();
  REQUIRE_FALSE(h.ops(q).empty());
  for (const auto& op : h.ops(q)) CHECK(op.state == pos::OutboxState::Done);
  CHECK(h.ledger_for(q.sale.id).size() == 1);
  CHECK_FALSE(h.chain->running());
  CHECK(h.chain->cancel().error().kind == ErrorKind::FailedPrecondition);
}

TEST_CASE("a PaymentIntent that cannot be created never reaches the reader and charges nothing", "[smart-chain]") {
  ChainHarness h;
  auto q = h.persist(1000);
  h.sim->api().set_faults({*stripesim::parse_fault("unavailable:post")});
  std::optional<app::SmartPaymentOutcome> got;
  REQUIRE(h.chain->start(q.attempt.id, [&](app::SmartPaymentOutcome o) { got = std::move(o); }));
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  h.sim->api().set_faults({});
  CHECK(got->kind == app::SmartPaymentOutcome::Kind::NotCharged);
  CHECK(std::holds_alternative<pos::CollectFailed>(app::to_action(q.attempt.id, *got)));
  CHECK(h.sim_reader()["action"].is_null());
  CHECK(h.ledger_for(q.sale.id).empty());
  CHECK(h.attempt(q).state == pos::AttemptState::Collecting);  // the kiosk cancels it
  CHECK(h.ops(q).empty());
}

TEST_CASE("the chain refuses an attempt that is not collecting or does not exist, sending nothing",
          "[smart-chain]") {
  ChainHarness h;
  auto missing = h.chain->start("no-such-attempt", [](app::SmartPaymentOutcome) {});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::NotFound);
  auto q = h.persist(1000);
  REQUIRE(h.store->attempts().update(
      store::AttemptUpdate{.attempt_id = q.attempt.id, .event = pos::AttemptEvent::Canceled}));
  auto done = h.chain->start(q.attempt.id, [](app::SmartPaymentOutcome) {});
  REQUIRE_FALSE(done);
  CHECK(done.error().kind == ErrorKind::FailedPrecondition);
  CHECK(h.ledger_size() == 0);
}

TEST_CASE("a crash mid-payment is resolved by the safety-net operation, never by a second PaymentIntent",
          "[smart-chain]") {
  for (const char* number : {"4242424242424242", "4000000000009979"}) {
    INFO(number);
    ChainHarness h;
    auto q = h.persist(2500);
    bool called = false;
    REQUIRE(h.chain->start(q.attempt.id, [&](app::SmartPaymentOutcome) { called = true; }));
    REQUIRE(h.run_until([&] { return h.action_in_progress(); }));
    h.present(number);
    // Till dies here: the chain and the driver are gone before they heard the answer.
    h.chain.reset();
    h.reader.reset();
    h.settle(20ms);
    CHECK_FALSE(called);
    h.restart();
    CHECK(h.attempt(q).state == pos::AttemptState::Submitting);  // what was on disk
    h.drain();  // not due yet: nothing happens
    CHECK(h.attempt(q).state == pos::AttemptState::Submitting);
    h.clock.advance(std::chrono::minutes(2));
    h.drain();
    const auto a = h.attempt(q);
    if (std::string(number) == "4242424242424242") {
      CHECK(a.state == pos::AttemptState::Approved);
    } else {
      CHECK(a.state == pos::AttemptState::Declined);
      CHECK(a.decline_code == "stolen_card");
    }
    CHECK(h.ledger_for(q.sale.id).size() == 1);
  }
}

TEST_CASE("an unknown smart-reader outcome is reported as unknown and later resolved from the PaymentIntent",
          "[smart-chain]") {
  ChainHarness h;
  h.config.collect_deadline = 150ms;
  h.chain = std::make_unique<app::SmartReaderPayment>(h.io, *h.store, *h.client, *h.reader, h.clock, h.config);
  REQUIRE(h.control("timeout=true")["id"] == h.reader_id);  // Stripe cannot reach the reader in time
  auto q = h.persist(2200);
  std::optional<app::SmartPaymentOutcome> got;
  REQUIRE(h.chain->start(q.attempt.id, [&](app::SmartPaymentOutcome o) { got = std::move(o); }));
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  INFO(got->message);
  REQUIRE(got->kind == app::SmartPaymentOutcome::Kind::Unknown);
  auto action = app::to_action(q.attempt.id, *got);
  REQUIRE(std::holds_alternative<pos::PaymentOutcomeUnknown>(action));
  // The kiosk shows it in doubt; meanwhile the customer did pay on the reader.
  REQUIRE(h.store->attempts().update(
      store::AttemptUpdate{.attempt_id = q.attempt.id, .event = pos::AttemptEvent::NoAnswer}));
  REQUIRE(h.tap("4242424242424242"));
  h.clock.advance(std::chrono::minutes(2));
  h.drain();  // the safety net: the engine retrieves the attempt's PaymentIntent by id
  const auto a = h.attempt(q);
  CHECK(a.state == pos::AttemptState::Approved);
  CHECK(a.payment_intent_id == got->payment_intent_id);
  CHECK(h.ledger_for(q.sale.id).size() == 1);
}
