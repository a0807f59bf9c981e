// The simulators plugged into the runtime (sim_wiring.hpp). Stripe-side work (registering a
// simulated smart reader, presenting a card on it) goes to till-stripe-sim's Api in process, as
// plain requests: the simulator shares no code with the client it stands in for.

#include "till/app/sim_wiring.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "till/base/log.hpp"
#include "till/base/random.hpp"
#include "till/hwsim/reader_device.hpp"
#include "till/hwsim/test_cards.hpp"
#include "till/stripesim/server.hpp"

namespace till::app {
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

// application/x-www-form-urlencoded value: unreserved characters as they are, the rest %XX.
std::string form_escape(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string form(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  std::string body;
  for (const auto& [k, v] : fields) {
    if (!body.empty()) body += '&';
    body += std::string(k) + "=" + form_escape(v);
  }
  return body;
}

}  // namespace

std::unique_ptr<SimulatedWorld> SimulatedWorld::plug_into(RuntimeConfig& config, SimulatedWorldOptions options) {
  if (options.seed == 0) options.seed = SystemRandom::instance().next_u64() | 1;  // never 0 again
  std::unique_ptr<SimulatedWorld> world(new SimulatedWorld(std::move(options)));
  const auto spec = parse_reader_spec(config.reader);  // a bad setting fails Runtime::start itself
  world->stripe_wanted_ = config.api_key.empty();
  world->device_wanted_ = spec && spec->kind == ReaderSpec::Kind::Simulated;
  world->smart_simulated_ = spec && spec->kind == ReaderSpec::Kind::Stripe && world->stripe_wanted_;
  world->register_reader_ = world->smart_simulated_ && spec->stripe_reader_id.empty();
  world->location_id_ = config.location_id;
  world->account_hint_ = config.account_id;
  // The simulated Stripe keeps its books beside the till's, so the PaymentIntents on old
  // receipts can still be looked up and refunded after a restart.
  if (!config.data_dir.empty()) world->stripe_state_dir_ = config.data_dir + "/stripe-sim";
  if (world->stripe_wanted_ || world->device_wanted_) config.simulation = world.get();
  return world;
}

SimulatedWorld::SimulatedWorld(SimulatedWorldOptions options) : options_(std::move(options)) {}

SimulatedWorld::~SimulatedWorld() {
  if (owned_stripe_) owned_stripe_->stop();
}

stripesim::Server* SimulatedWorld::stripe() const {
  return options_.shared_stripe != nullptr ? options_.shared_stripe : owned_stripe_.get();
}

// ---- Simulation ------------------------------------------------------------------------------

Result<StripeEndpoint> SimulatedWorld::start_stripe(const Clock& clock) {
  if (!stripe_wanted_) return fail(ErrorKind::FailedPrecondition, "this simulated world does not stand in for Stripe");
  stripesim::SimConfig defaults;
  if (options_.shared_stripe == nullptr && !owned_stripe_) {
    stripesim::ServerOptions so;
    so.sim.seed = options_.seed;  // fault dice only
    so.sim.state_dir = stripe_state_dir_;
    so.sim.clock = &clock;
    if (!account_hint_.empty()) so.sim.connected_accounts = {account_hint_};
    auto server = stripesim::Server::start(so);
    if (!server) return fail(server.error());
    owned_stripe_ = std::move(*server);
    defaults = so.sim;
  }
  api_key_ = defaults.api_keys.front();
  account_ = account_hint_.empty() ? defaults.connected_accounts.front() : account_hint_;
  if (register_reader_) {
    auto reader = register_smart_reader();
    if (!reader) return fail(reader.error());
  }
  StripeEndpoint e;
  e.base_url = stripe()->base_url();
  e.api_key = Secret(api_key_);
  e.account_id = account_;
  e.mode = "simulated (till-stripe-sim on " + e.base_url + ")";
  return e;
}

// A location (unless configured) and a simulated WisePOS E on till-stripe-sim, as Stripe's test
// mode offers them (registration code simulated-wpe), when the account has no reader yet.
Result<std::string> SimulatedWorld::register_smart_reader() {
  auto call = [this](std::string method, std::string target, std::string body) -> Result<Json> {
    stripesim::Request rq;
    rq.method = std::move(method);
    rq.target = std::move(target);
    rq.headers = {{"Authorization", "Bearer " + api_key_}, {"Stripe-Account", account_}};
    if (rq.method == "POST") {
      rq.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      rq.headers.emplace_back("Idempotency-Key", new_uuid_v4(SystemRandom::instance()));
    }
    rq.body = std::move(body);
    const stripesim::Response r = stripe()->api().handle(rq);
    Json j = Json::parse(r.body, nullptr, false);
    if (r.status / 100 != 2 || j.is_discarded()) {
      return fail(ErrorKind::Unavailable, rq.method + " " + rq.target + " on till-stripe-sim: " + r.body);
    }
    return j;
  };
  auto listed = call("GET", "/v1/terminal/readers?limit=100", "");
  if (!listed) return fail(listed.error());
  if (!(*listed)["data"].empty()) return (*listed)["data"][0].value("id", std::string());
  std::string location = location_id_;
  if (location.empty()) {
    auto created = call("POST", "/v1/terminal/locations",
                        form({{"display_name", "Till (SIMULATED)"}, {"address[line1]", "1 Main St"},
                              {"address[city]", "Springfield"}, {"address[country]", "US"}}));
    if (!created) return fail(created.error());
    location = created->value("id", std::string());
  }
  auto reader = call("POST", "/v1/terminal/readers",
                     form({{"registration_code", "simulated-wpe"}, {"label", "Counter (SIMULATED)"}, {"location", location}}));
  if (!reader) return fail(reader.error());
  const std::string id = reader->value("id", std::string());
  log::info("app.sim_smart_reader_registered", {{"reader", id}, {"location", location}});
  return id;
}

Result<terminal::protocol::DeviceEndpoint*> SimulatedWorld::reader_device() {
  if (!device_wanted_) return fail(ErrorKind::FailedPrecondition, "this simulated world has no in-process reader");
  if (!device_) {
    hwsim::DeviceConfig dc;
    dc.seed = options_.seed;
    // A person presents the card; give the simulated one a human-ish pace so the cashier sees
    // the prompts.
    dc.present_delay = 400ms;
    dc.read_delay = 300ms;
    dc.authorize_delay = 300ms;
    device_ = std::make_unique<hwsim::ReaderDevice>(dc);
  }
  return device_.get();
}

void SimulatedWorld::attach(CoreAccess& core) {
  std::lock_guard lock(mutex_);
  core_ = &core;
}

void SimulatedWorld::detach() {
  std::lock_guard lock(mutex_);
  core_ = nullptr;
  collecting_attempt_.clear();
}

// The customer: a queued card, else the demo card, else nobody (present_card()).
std::string SimulatedWorld::next_card() {
  std::string card = options_.customer_presents_demo_card ? options_.demo_card : std::string();
  if (!queued_cards_.empty()) {
    card = queued_cards_.front();
    queued_cards_.pop_front();
  }
  return card;
}

void SimulatedWorld::collect_starting(const CollectStarted& collect) {
  if (collect.smart_reader_id.empty()) {
    if (device_ && device_->scripted_remaining() == 0) {
      // "CARD+FAULT" (queue_card): the simulated reader plays that fault for this payment.
      std::string card = next_card();
      hwsim::Fault fault = hwsim::Fault::None;
      if (const auto plus = card.find('+'); plus != std::string::npos) {
        fault = hwsim::parse_fault(std::string_view(card).substr(plus + 1)).value_or(hwsim::Fault::None);
        card.resize(plus);
      }
      device_->queue_payment(hwsim::scripted_card(card, fault, hwsim::ReadMethod::Contactless));
    }
    return;
  }
  collecting_attempt_ = collect.attempt_id;
  smart_reader_id_ = collect.smart_reader_id;
  if (std::string card = next_card(); !card.empty()) present_on_smart_reader(collect.attempt_id, card, 600);
}

void SimulatedWorld::collect_ended(const std::string& attempt_id) {
  if (collecting_attempt_ == attempt_id) collecting_attempt_.clear();
}

// ---- the customer's card -----------------------------------------------------------------------

// In-process reader: presents the card as soon as the device waits for one (the collect may still
// be on its way to the device), trying every 20 ms, `tries` times.
void SimulatedWorld::present_when_waiting(const std::string& card, int tries) {
  if (!device_) return;
  if (device_->waiting_for_card() || tries <= 0) {
    if (Status s = device_->present_card(card, hwsim::ReadMethod::Contactless); !s) {
      log::warn("app.sim_present_card_refused", {{"error", s.error().message}});
    }
    return;
  }
  std::lock_guard lock(mutex_);
  if (core_ != nullptr) core_->after(20ms, [this, card, tries] { present_when_waiting(card, tries - 1); });
}

// Smart reader: once the reader shows the payment (its process_payment_intent action is in
// progress), the card is presented through till-stripe-sim's present_payment_method test helper.
// Looks every 100 ms; gives up when the collect ends or after `tries` looks.
void SimulatedWorld::present_on_smart_reader(const std::string& attempt_id, const std::string& card, int tries) {
  if (collecting_attempt_ != attempt_id || tries <= 0) return;
  const hwsim::TestCard* test_card = hwsim::find_test_card(card);
  if (test_card == nullptr) {
    log::warn("app.sim_unknown_card", {{"attempt", attempt_id}});
    return;
  }
  stripesim::Request look;
  look.method = "GET";
  look.target = "/v1/terminal/readers/" + smart_reader_id_;
  look.headers = {{"Authorization", "Bearer " + api_key_}, {"Stripe-Account", account_}};
  const stripesim::Response r = stripe()->api().handle(look);
  const Json reader = Json::parse(r.body, nullptr, false);
  const Json* action = (!reader.is_discarded() && reader.contains("action") && reader["action"].is_object())
                           ? &reader["action"]
                           : nullptr;
  if (r.status == 200 && action != nullptr && action->value("status", "") == "in_progress" &&
      action->value("type", "") == "process_payment_intent") {
    stripesim::Request present = look;
    present.method = "POST";
    present.target = "/v1/test_helpers/terminal/readers/" + smart_reader_id_ + "/present_payment_method";
    present.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    present.headers.emplace_back("Idempotency-Key", new_uuid_v4(SystemRandom::instance()));
    present.body = form({{"type", "card_present"}, {"card_present[number]", test_card->number}});
    const stripesim::Response p = stripe()->api().handle(present);
    stripe()->api().run_deferred();  // the reader's action moves on now, not at the next request
    if (p.status / 100 != 2) {
      log::warn("app.sim_present_card_refused", {{"attempt", attempt_id}, {"error", p.body}});
    } else {
      log::info("app.sim_card_presented", {{"attempt", attempt_id}, {"reader", smart_reader_id_}});
    }
    return;
  }
  std::lock_guard lock(mutex_);
  if (core_ != nullptr) {
    core_->after(100ms, [this, attempt_id, card, tries] { present_on_smart_reader(attempt_id, card, tries - 1); });
  }
}

// ---- SIMULATED hooks ---------------------------------------------------------------------------

Status SimulatedWorld::on_core(std::function<void()> work) {
  std::lock_guard lock(mutex_);
  if (core_ == nullptr) return fail(ErrorKind::FailedPrecondition, "the simulated world is not plugged into a running runtime");
  core_->post(std::move(work));
  return ok();
}

Status SimulatedWorld::queue_card(std::string card) {
  if (!simulated_customer()) return fail(ErrorKind::FailedPrecondition, "not a simulated reader");
  return on_core([this, card = std::move(card)] { queued_cards_.push_back(card); });
}

Status SimulatedWorld::present_card(std::string card) {
  if (!simulated_customer()) return fail(ErrorKind::FailedPrecondition, "not a simulated reader");
  return on_core([this, card = std::move(card)] {
    if (smart_simulated_) {
      if (collecting_attempt_.empty()) {
        log::warn("app.sim_present_card_refused", {{"error", "no payment is waiting for a card"}});
        return;
      }
      present_on_smart_reader(collecting_attempt_, card, 600);
      return;
    }
    present_when_waiting(card, 250);
  });
}

Status SimulatedWorld::simulate_outage(bool down) {
  if (stripe() == nullptr || !simulated_customer()) {
    return fail(ErrorKind::FailedPrecondition, "the outage hook needs the embedded simulators");
  }
  std::vector<stripesim::FaultSpec> faults;
  if (down) {
    stripesim::FaultSpec f;
    f.kind = stripesim::FaultKind::Unavailable;  // no p, no n: every request
    faults.push_back(f);
  }
  stripe()->api().set_faults(std::move(faults));
  std::lock_guard lock(mutex_);
  if (core_ == nullptr) return ok();  // the faults hold; the runtime sees them when it starts
  core_->post([this, down] {
    log::info("app.sim_outage", {{"down", down}});
    if (device_) device_->set_online(!down);
    std::lock_guard inner(mutex_);
    if (core_ != nullptr) core_->check_connectivity_now();
  });
  return ok();
}

Status SimulatedWorld::simulate_lost_answers(bool lost) {
  if (stripe() == nullptr) return fail(ErrorKind::FailedPrecondition, "the lost-answer hook needs the embedded till-stripe-sim");
  std::vector<stripesim::FaultSpec> faults;
  if (lost) {
    // Every POST's connection is reset before it is read (nothing applied), except the next one,
    // which is applied and then dropped unanswered (the later spec wins when both fire). The
    // client's in-call retries with the same key are reset too, so the payment ends in doubt.
    stripesim::FaultSpec reset;
    reset.kind = stripesim::FaultKind::ResetBeforeRead;
    reset.post_only = true;
    faults.push_back(reset);
    stripesim::FaultSpec lost_answer;
    lost_answer.kind = stripesim::FaultKind::LostAfterCommit;
    lost_answer.post_only = true;
    lost_answer.nth = stripe()->api().requests_seen() + 1;
    faults.push_back(lost_answer);
  }
  stripe()->api().set_faults(std::move(faults));
  std::lock_guard lock(mutex_);
  if (core_ == nullptr) return ok();
  core_->post([this, lost] {
    log::info("app.sim_lost_answers", {{"lost", lost}});
    std::lock_guard inner(mutex_);
    if (!lost && core_ != nullptr) core_->check_connectivity_now();
  });
  return ok();
}

Status SimulatedWorld::simulate_reader_unplugged(bool unplugged) {
  if (!device_wanted_) return fail(ErrorKind::FailedPrecondition, "not a simulated reader");
  return on_core([this, unplugged] {
    if (!device_) return;
    if (unplugged) {
      device_->unplug();
    } else {
      device_->plug();
    }
  });
}

}  // namespace till::app
