// The Stripe client end to end against till-stripe-sim (in-process, 127.0.0.1:0): the same
// code path Till uses against api.stripe.com, with the simulator's ledger as the judge of
// duplicates.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "till/stripesim/server.hpp"
#include "till/sync/stripe_client.hpp"

using namespace till;
using namespace till::sync;
using namespace std::chrono_literals;

namespace {

constexpr const char* kAccount = "acct_1TillMerchant00001";

class NoSleep final : public Sleeper {
 public:
  boost::asio::awaitable<void> async_sleep(std::chrono::milliseconds d) override {
    sleeps.push_back(d);
    co_return;
  }
  std::vector<std::chrono::milliseconds> sleeps;
};

struct Sim {
  explicit Sim(std::vector<stripesim::FaultSpec> faults = {}, bool tls = false, int max_retries = 2) {
    stripesim::ServerOptions options;
    options.sim.faults = std::move(faults);
    options.sim.rate_limit_test = 0;  // pacing is tested separately
    options.tls = tls;
    if (tls) options.ca_file = std::string(TILL_BINARY_DIR) + "/tests/sync/e2e_sim_ca.pem";
    auto started = stripesim::Server::start(options);
    REQUIRE(started.has_value());
    server = std::move(*started);
    StripeConfig config;
    config.http.base_url = server->base_url();
    config.http.extra_ca_file = server->ca_file();
    config.api_key = Secret(options.sim.api_keys.front());
    config.app = AppInfo{"Till", "0.1.0", "https://till.example", "pp_till"};
    config.max_retries = max_retries;
    StripeClientDeps deps;
    deps.sleeper = &sleeper;
    auto made = StripeClient::create(io, config, deps);
    REQUIRE(made.has_value());
    client = std::move(*made);
  }
  ~Sim() {
    client.reset();
    server->stop();
  }

  CreatePaymentIntentParams sale(std::string sale_id, std::int64_t amount, std::string pm = "pm_card_visa") {
    CreatePaymentIntentParams p;
    p.amount = amount;
    p.currency = "usd";
    p.payment_method = std::move(pm);
    p.confirm = true;
    p.application_fee_amount = amount / 20;
    p.metadata = {{"sale_id", sale_id}, {"register_id", "r-1"}, {"attempt", "1"}};
    return p;
  }
  Result<PaymentIntent> create(const CreatePaymentIntentParams& p, std::string key) {
    return client->wait(client->async_create_payment_intent(p, RequestOptions{kAccount, std::move(key)}));
  }
  std::size_t ledger_count_for(const std::string& sale_id) const {
    std::size_t n = 0;
    for (const auto& e : server->ledger()) {
      auto it = e.metadata.find("sale_id");
      if (it != e.metadata.end() && it->second == sale_id) ++n;
    }
    return n;
  }

  boost::asio::io_context io;
  NoSleep sleeper;
  std::unique_ptr<stripesim::Server> server;
  std::unique_ptr<StripeClient> client;
};

stripesim::FaultSpec fault(stripesim::FaultKind kind, std::uint64_t nth) {
  stripesim::FaultSpec f;
  f.kind = kind;
  f.nth = nth;
  f.post_only = true;
  return f;
}

}  // namespace

TEST_CASE("e2e: a card-present PaymentIntent is created and confirmed on the connected account") {
  Sim sim;
  auto pi = sim.create(sim.sale("s-1", 1299), "s-1-attempt-1");
  REQUIRE(pi.has_value());
  CHECK(pi->status == PaymentIntentStatus::Succeeded);
  CHECK(pi->amount == 1299);
  CHECK(pi->amount_received == 1299);
  CHECK(pi->application_fee_amount == 64);
  CHECK(*pi->metadata_value("sale_id") == "s-1");
  const auto ledger = sim.server->ledger();
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].account == kAccount);
  CHECK(ledger[0].id == pi->id);
  CHECK(ledger[0].application_fee_amount == 64);

  auto again = sim.client->wait(sim.client->async_retrieve_payment_intent(pi->id, RequestOptions{kAccount, ""}));
  REQUIRE(again.has_value());
  CHECK(again->status == PaymentIntentStatus::Succeeded);
}

TEST_CASE("e2e: a declined card is Declined with its decline code, never unknown") {
  Sim sim;
  auto pi = sim.create(sim.sale("s-2", 1000, "pm_card_chargeDeclinedInsufficientFunds"), "s-2-a1");
  REQUIRE_FALSE(pi.has_value());
  CHECK(pi.error().kind == ErrorKind::Declined);
  REQUIRE(pi.error().stripe.has_value());
  CHECK(pi.error().stripe->decline_code == "insufficient_funds");
  CHECK(pi.error().stripe->http_status == 402);
  CHECK_FALSE(pi.error().stripe->request_id.empty());
}

TEST_CASE("e2e: the same key replays the first answer and creates nothing new") {
  Sim sim;
  const auto params = encode(sim.sale("s-3", 500).to_params());
  auto first = sim.client->wait(sim.client->async_request_encoded("POST", "/v1/payment_intents", params,
                                                                  RequestOptions{kAccount, "s-3-a1"}));
  auto second = sim.client->wait(sim.client->async_request_encoded("POST", "/v1/payment_intents", params,
                                                                   RequestOptions{kAccount, "s-3-a1"}));
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK_FALSE(first->idempotent_replayed);
  CHECK(second->idempotent_replayed);
  CHECK(parse_payment_intent(first->body)->id == parse_payment_intent(second->body)->id);
  CHECK(sim.ledger_count_for("s-3") == 1);
}

TEST_CASE("e2e: the same key with different params is an idempotency bug and is not retried") {
  Sim sim;
  REQUIRE(sim.create(sim.sale("s-4", 500), "s-4-a1").has_value());
  auto mismatch = sim.create(sim.sale("s-4", 501), "s-4-a1");
  REQUIRE_FALSE(mismatch.has_value());
  CHECK(mismatch.error().kind == ErrorKind::InvalidArgument);
  CHECK(mismatch.error().stripe->type == "idempotency_error");
  CHECK(sim.sleeper.sleeps.empty());
  CHECK(sim.ledger_count_for("s-4") == 1);
}

TEST_CASE("e2e: a response lost after commit is recovered by the in-call retry with the same key") {
  Sim sim({fault(stripesim::FaultKind::LostAfterCommit, 1)});
  auto pi = sim.create(sim.sale("s-5", 700), "s-5-a1");
  REQUIRE(pi.has_value());
  CHECK(pi->status == PaymentIntentStatus::Succeeded);
  CHECK(sim.sleeper.sleeps.size() == 1);
  CHECK(sim.ledger_count_for("s-5") == 1);  // applied once, answered by the replay
}

TEST_CASE("e2e: with no retries left a lost response is OutcomeUnknown and resolving with the key finds one PI") {
  Sim sim({fault(stripesim::FaultKind::LostAfterCommit, 1)}, false, /*max_retries=*/0);
  auto lost = sim.create(sim.sale("s-6", 900), "s-6-a1");
  REQUIRE_FALSE(lost.has_value());
  CHECK(lost.error().kind == ErrorKind::OutcomeUnknown);
  CHECK(sim.ledger_count_for("s-6") == 1);  // it WAS applied: showing a decline would be wrong
  auto resolved = sim.create(sim.sale("s-6", 900), "s-6-a1");
  REQUIRE(resolved.has_value());
  CHECK(resolved->status == PaymentIntentStatus::Succeeded);
  CHECK(sim.ledger_count_for("s-6") == 1);
}

TEST_CASE("e2e: a reset before the request is read is retried and applied once") {
  Sim sim({fault(stripesim::FaultKind::ResetBeforeRead, 1), fault(stripesim::FaultKind::Unavailable, 2)});
  auto pi = sim.create(sim.sale("s-7", 1100), "s-7-a1");
  REQUIRE(pi.has_value());
  CHECK(sim.sleeper.sleeps.size() == 2);
  CHECK(sim.ledger_count_for("s-7") == 1);
}

TEST_CASE("e2e: a 500 stored under the key is replayed, so the write stays unknown after the retries") {
  Sim sim({fault(stripesim::FaultKind::ServerError, 1)});
  auto pi = sim.create(sim.sale("s-8", 1200), "s-8-a1");
  REQUIRE_FALSE(pi.has_value());
  CHECK(pi.error().kind == ErrorKind::OutcomeUnknown);
  CHECK(sim.ledger_count_for("s-8") == 0);
}

TEST_CASE("e2e: manual capture, then a partial refund with the application fee") {
  Sim sim;
  auto p = sim.sale("s-9", 2000);
  p.capture_method = "manual";
  auto pi = sim.create(p, "s-9-a1");
  REQUIRE(pi.has_value());
  CHECK(pi->status == PaymentIntentStatus::RequiresCapture);
  CHECK(pi->amount_capturable == 2000);
  auto captured = sim.client->wait(
      sim.client->async_capture_payment_intent(pi->id, CaptureParams{1500, 75}, RequestOptions{kAccount, "s-9-cap"}));
  REQUIRE(captured.has_value());
  CHECK(captured->status == PaymentIntentStatus::Succeeded);
  CHECK(captured->amount_received == 1500);
  CreateRefundParams rp;
  rp.payment_intent = pi->id;
  rp.amount = 500;
  rp.refund_application_fee = true;
  auto refund = sim.client->wait(sim.client->async_create_refund(rp, RequestOptions{kAccount, "s-9-ref1"}));
  REQUIRE(refund.has_value());
  CHECK(refund->amount == 500);
  CHECK(refund->payment_intent == pi->id);
  const auto ledger = sim.server->ledger();
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].amount_received == 1500);
  // How the released, never-captured 500 is booked is the simulator's business; the refund is.
  CHECK(ledger[0].amount_refunded >= 500);
}

TEST_CASE("e2e: an uncaptured PaymentIntent is cancelled") {
  Sim sim;
  auto p = sim.sale("s-10", 800);
  p.capture_method = "manual";
  auto pi = sim.create(p, "s-10-a1");
  REQUIRE(pi.has_value());
  auto canceled = sim.client->wait(
      sim.client->async_cancel_payment_intent(pi->id, "abandoned", RequestOptions{kAccount, "s-10-cancel"}));
  REQUIRE(canceled.has_value());
  CHECK(canceled->status == PaymentIntentStatus::Canceled);
}

TEST_CASE("e2e: a PaymentIntent is found by metadata when only the sale id is known") {
  Sim sim;
  auto pi = sim.create(sim.sale("s-11", 1234), "s-11-a1");
  REQUIRE(pi.has_value());
  REQUIRE(sim.create(sim.sale("s-12", 99), "s-12-a1").has_value());
  auto found = sim.client->wait(sim.client->async_search_payment_intents(search_query_metadata("sale_id", "s-11"),
                                                                         RequestOptions{kAccount, ""}));
  REQUIRE(found.has_value());
  REQUIRE(found->data.size() == 1);
  CHECK(found->data[0].id == pi->id);
  auto listed = sim.client->wait(sim.client->async_list_payment_intents(ListParams{10, "", ""},
                                                                        RequestOptions{kAccount, ""}));
  REQUIRE(listed.has_value());
  CHECK(listed->data.size() == 2);
}

TEST_CASE("e2e: a wrong API key is Unauthenticated and an unknown account is refused") {
  Sim sim;
  boost::asio::io_context io;
  StripeConfig config;
  config.http.base_url = sim.server->base_url();
  config.api_key = Secret("sk_test_not_a_key_the_sim_knows");
  auto bad = StripeClient::create(io, config);
  REQUIRE(bad.has_value());
  auto r = (*bad)->wait((*bad)->async_retrieve_payment_intent("pi_x", RequestOptions{kAccount, ""}));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::Unauthenticated);
  auto unknown = sim.client->wait(sim.client->async_retrieve_payment_intent("pi_x", RequestOptions{"acct_nope", ""}));
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().kind != ErrorKind::OutcomeUnknown);
}

TEST_CASE("e2e: server-driven reader flow with a simulated WisePOS E") {
  Sim sim;
  const RequestOptions opts{kAccount, ""};
  FormParams loc{{"display_name", "Front counter"},
                 {"address", FormValue::object({{"line1", "1 Main St"}, {"city", "Berlin"},
                                                {"postal_code", "10115"}, {"country", "DE"}})}};
  auto location = sim.client->wait(sim.client->async_create_location(loc, RequestOptions{kAccount, "loc-1"}));
  REQUIRE(location.has_value());
  auto reader = sim.client->wait(
      sim.client->async_create_reader("simulated-wpe", "Till 1", location->id, RequestOptions{kAccount, "rdr-1"}));
  REQUIRE(reader.has_value());
  auto p = sim.sale("s-13", 1500, "");
  p.confirm = false;
  auto pi = sim.create(p, "s-13-create");
  REQUIRE(pi.has_value());
  CHECK(pi->status == PaymentIntentStatus::RequiresPaymentMethod);
  auto processing = sim.client->wait(sim.client->async_process_payment_intent(reader->id, pi->id, FormParams{},
                                                                              RequestOptions{kAccount, "s-13-proc"}));
  REQUIRE(processing.has_value());
  REQUIRE(processing->action.has_value());
  CHECK(processing->action->type == "process_payment_intent");
  CHECK(processing->action->payment_intent == pi->id);
  auto presented = sim.client->wait(sim.client->async_present_payment_method(
      reader->id, "4242424242424242", std::nullopt, RequestOptions{kAccount, "s-13-present"}));
  REQUIRE(presented.has_value());
  // The action finishes asynchronously; poll the reader the way the engine would.
  std::string status;
  for (int i = 0; i < 200 && status != "succeeded" && status != "failed"; ++i) {
    auto r = sim.client->wait(sim.client->async_retrieve_reader(reader->id, opts));
    REQUIRE(r.has_value());
    status = r->action ? r->action->status : "";
  }
  CHECK(status == "succeeded");
  auto readers = sim.client->wait(sim.client->async_list_readers(ListParams{}, opts));
  REQUIRE(readers.has_value());
  CHECK(readers->data.size() == 1);
  auto events = sim.client->wait(sim.client->async_list_events(ListParams{}, opts));
  REQUIRE(events.has_value());
  CHECK_FALSE(events->data.empty());
}

namespace {

// A location and a registered simulated reader on the connected account.
std::string make_reader(Sim& sim, const std::string& tag) {
  FormParams loc{{"display_name", "Counter " + tag},
                 {"address", FormValue::object({{"line1", "1 Main St"}, {"city", "Toronto"},
                                                {"postal_code", "M5V"}, {"country", "CA"}})}};
  auto location = sim.client->wait(sim.client->async_create_location(loc, RequestOptions{kAccount, "loc-" + tag}));
  REQUIRE(location.has_value());
  auto reader = sim.client->wait(
      sim.client->async_create_reader("simulated-wpe", "Till " + tag, location->id, RequestOptions{kAccount, "rdr-" + tag}));
  REQUIRE(reader.has_value());
  CHECK_FALSE(reader->device_sw_version.empty());
  return reader->id;
}

}  // namespace

TEST_CASE("e2e: set_reader_display and cancel_action on a simulated reader") {
  Sim sim;
  const std::string reader = make_reader(sim, "d");
  FormValue cart = FormValue::object(
      {{"currency", FormValue("cad")},
       {"line_items", FormValue::array({FormValue::object({{"amount", FormValue(250)},
                                                           {"description", FormValue("Muffin")},
                                                           {"quantity", FormValue(2)}})})},
       {"tax", FormValue(65)},
       {"total", FormValue(565)}});
  auto shown = sim.client->wait(sim.client->async_set_reader_display(reader, cart, RequestOptions{kAccount, "disp-1"}));
  REQUIRE(shown.has_value());
  REQUIRE(shown->action.has_value());
  CHECK(shown->action->type == "set_reader_display");
  // Without a key the client refuses before anything is sent.
  auto unkeyed = sim.client->wait(sim.client->async_set_reader_display(reader, cart, RequestOptions{kAccount, ""}));
  REQUIRE_FALSE(unkeyed.has_value());
  CHECK(unkeyed.error().kind == ErrorKind::InvalidArgument);

  auto p = sim.sale("s-cancel", 1500, "");
  p.confirm = false;
  auto pi = sim.create(p, "s-cancel-create");
  REQUIRE(pi.has_value());
  REQUIRE(sim.client->wait(sim.client->async_process_payment_intent(reader, pi->id, FormParams{},
                                                                    RequestOptions{kAccount, "s-cancel-proc"})));
  auto canceled = sim.client->wait(sim.client->async_cancel_reader_action(reader, RequestOptions{kAccount, "c-1"}));
  REQUIRE(canceled.has_value());
  CHECK_FALSE(canceled->action.has_value());
  // Nothing left to cancel: a plain refusal (nothing was in doubt).
  auto again = sim.client->wait(sim.client->async_cancel_reader_action(reader, RequestOptions{kAccount, "c-2"}));
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().kind == ErrorKind::InvalidArgument);
  CHECK(again.error().stripe->code == "terminal_reader_action_not_cancelable");
}

TEST_CASE("e2e: terminal_reader_timeout on a POST is OutcomeUnknown and a busy reader is FailedPrecondition") {
  Sim sim;
  const std::string reader = make_reader(sim, "t");
  auto p = sim.sale("s-timeout", 1500, "");
  p.confirm = false;
  auto pi = sim.create(p, "s-timeout-create");
  REQUIRE(pi.has_value());
  stripesim::Request control;
  control.method = "POST";
  control.target = "/_sim/readers/" + reader;
  control.body = "timeout=true";
  REQUIRE(sim.server->api().handle(control).status == 200);
  auto r = sim.client->wait(
      sim.client->async_process_payment_intent(reader, pi->id, FormParams{}, RequestOptions{kAccount, "t-proc"}));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::OutcomeUnknown);
  CHECK(r.error().stripe->code == "terminal_reader_timeout");
  control.body = "timeout=false";
  REQUIRE(sim.server->api().handle(control).status == 200);
  // The action did start, so the reader is busy for anyone else.
  auto op = sim.sale("s-other", 900, "");
  op.confirm = false;
  auto other = sim.create(op, "s-other-create");
  REQUIRE(other.has_value());
  auto busy = sim.client->wait(
      sim.client->async_process_payment_intent(reader, other->id, FormParams{}, RequestOptions{kAccount, "o-proc"}));
  REQUIRE_FALSE(busy.has_value());
  CHECK(busy.error().kind == ErrorKind::FailedPrecondition);
}

TEST_CASE("e2e: confirm a PaymentIntent, and refund an Interac payment on the reader") {
  Sim sim;
  auto p = sim.sale("s-confirm", 2000, "");
  p.confirm = false;
  auto pi = sim.create(p, "s-confirm-create");
  REQUIRE(pi.has_value());
  FormParams confirm{{"payment_method", "pm_test_visa_abcdefghijkmnopqrstu"}};
  auto confirmed =
      sim.client->wait(sim.client->async_confirm_payment_intent(pi->id, confirm, RequestOptions{kAccount, "cf-1"}));
  REQUIRE(confirmed.has_value());
  CHECK(confirmed->status == PaymentIntentStatus::Succeeded);
  CHECK(sim.ledger_count_for("s-confirm") == 1);

  const std::string reader = make_reader(sim, "r");
  CreatePaymentIntentParams ip;
  ip.amount = 4000;
  ip.currency = "cad";
  ip.allowed_payment_method_types = {"card_present", "interac_present"};
  ip.metadata = {{"sale_id", "s-interac"}};
  auto ipi = sim.create(ip, "s-interac-create");
  REQUIRE(ipi.has_value());
  REQUIRE(sim.client->wait(
      sim.client->async_process_payment_intent(reader, ipi->id, FormParams{}, RequestOptions{kAccount, "i-proc"})));
  REQUIRE(sim.client->wait(sim.client->async_present_payment_method(reader, "4506445006931933", std::nullopt,
                                                                    RequestOptions{kAccount, "i-present"})));
  auto refund =
      sim.client->wait(sim.client->async_refund_payment(reader, ipi->id, 1500, RequestOptions{kAccount, "i-refund"}));
  REQUIRE(refund.has_value());
  REQUIRE(refund->action.has_value());
  CHECK(refund->action->type == "refund_payment");
  CHECK(refund->action->status == "in_progress");
}

TEST_CASE("e2e: TLS to the simulator verifies against its generated loopback CA") {
  Sim sim({}, /*tls=*/true);
  REQUIRE(sim.server->base_url().rfind("https://", 0) == 0);
  auto pi = sim.create(sim.sale("s-14", 4200), "s-14-a1");
  REQUIRE(pi.has_value());
  CHECK(pi->status == PaymentIntentStatus::Succeeded);
  CHECK(sim.client->http().connections_opened() == 1);
}
