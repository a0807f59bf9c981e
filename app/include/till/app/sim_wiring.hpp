#pragma once
// The simulators plugged into the runtime (target till_sim_wiring; till_runtime links none of
// this). SimulatedWorld implements app::Simulation (app/simulation.hpp) for the embedded default:
//
//   - Stripe: with no API key configured, an in-process till-stripe-sim on 127.0.0.1 (ephemeral
//     port) stands in for api.stripe.com; with reader "stripe" and no reader id it registers a
//     SIMULATED WisePOS E (and a location, unless one is configured) when the account has none.
//   - The reader: with reader "sim", till-reader-sim's device model behind the in-process driver,
//     at a human-ish pace so the cashier sees the prompts.
//   - The customer: for every collect with no queued card the customer presents `demo_card` by
//     itself (a person trying the kiosk), or nobody does until present_card() (scripts and tests
//     that want to see the "present card" screen). On a simulated smart reader the card is
//     presented through the simulator's present_payment_method test helper once the reader shows
//     the payment.
//   - The shop's network and Stripe's faults: the SIMULATED hooks below.
//
//   app::RuntimeConfig config = ...;                       // every other setting first
//   auto world = app::SimulatedWorld::plug_into(config);   // sets config.simulation
//   auto runtime = app::Runtime::start(config, post);      // the world outlives the runtime
//
// Threading: the hooks may be called from any thread but the runtime's core thread; each fails
// FailedPrecondition when this world does not run that simulator (a real reader, a live key) or
// is not plugged into a running runtime, and otherwise queues its work on the core thread and
// returns at once.

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "till/app/reader_spec.hpp"
#include "till/app/runtime.hpp"
#include "till/app/simulation.hpp"

namespace till::stripesim {
class Server;
}
namespace till::hwsim {
class ReaderDevice;
}

namespace till::app {

struct SimulatedWorldOptions {
  std::string demo_card = "4242424242424242";  // what the simulated customer presents by itself
  bool customer_presents_demo_card = true;      // false: nobody presents a card until present_card()
  // Seeds the simulated reader's tokens and the fault dice. 0: a fresh seed from the kernel
  // CSPRNG. (till-stripe-sim's object ids never come from it: they are random and never repeat,
  // and its books persist in <data_dir>/stripe-sim, so old receipts' ids still resolve.) Tests
  // may fix one.
  std::uint64_t seed = 0;
  // A till-stripe-sim already running (not owned) to use instead of starting one: several
  // registers on one simulated account (tests, demos).
  stripesim::Server* shared_stripe = nullptr;
};

class SimulatedWorld final : public Simulation {
 public:
  // Reads what `config` asks for (no api_key: the Stripe stand-in; reader "sim": the device;
  // reader "stripe" without a key: a simulated smart reader and its customer) and sets
  // config.simulation to the world when any of it applies. Call after every other setting.
  static std::unique_ptr<SimulatedWorld> plug_into(RuntimeConfig& config, SimulatedWorldOptions options = {});
  ~SimulatedWorld() override;  // stops the embedded till-stripe-sim (after the runtime has stopped)
  SimulatedWorld(const SimulatedWorld&) = delete;
  SimulatedWorld& operator=(const SimulatedWorld&) = delete;

  // True when a simulated customer presents the card (queue_card / present_card work): the
  // in-process simulated reader, or a simulated smart reader on the embedded till-stripe-sim.
  bool simulated_customer() const { return device_wanted_ || smart_simulated_; }
  // True when this world stands in for Stripe.
  bool simulates_stripe() const { return stripe_wanted_; }

  // ---- SIMULATED hooks (the kiosk's --script / --screenshots / --demo-sale, the tests) --------
  // Queue what the next customer presents (a test card name or number, hwsim/test_cards.hpp);
  // it is presented by itself shortly after the collect starts.
  Status queue_card(std::string card);
  // The customer presents this card on the reader now (the collect must be waiting for a card;
  // if not, the refusal is logged).
  Status present_card(std::string card);
  // Outage of the shop's internet (either simulated reader). true: till-stripe-sim answers every
  // request 503 (nothing applied), the in-process reader's own network is down (it stores payments
  // and forwards later; a smart reader cannot), and the runtime's connectivity check runs at once
  // and fails, so the register goes offline and nothing is forwarded. false: the faults are
  // cleared and the next check brings the register back online; stored payments are forwarded.
  Status simulate_outage(bool down);
  // Lost answers. true: till-stripe-sim applies the next POST and drops the connection before
  // answering (lost_after_commit), and resets every later POST before reading it, so the client's
  // same-key retries get no answer either and a payment sent now ends in doubt. false: answers
  // flow again; the engine re-sends the in-doubt operation with the same key and Stripe replays
  // the stored answer (one charge).
  Status simulate_lost_answers(bool lost);
  // The reader cable (in-process reader): unplugged (the link drops) or plugged back in (the
  // driver reconnects).
  Status simulate_reader_unplugged(bool unplugged);

  // ---- Simulation (called by the runtime) -----------------------------------------------------
  Result<StripeEndpoint> start_stripe(const Clock& clock) override;
  Result<terminal::protocol::DeviceEndpoint*> reader_device() override;
  void attach(CoreAccess& core) override;
  void collect_starting(const CollectStarted& collect) override;
  void collect_ended(const std::string& attempt_id) override;
  void detach() override;

 private:
  explicit SimulatedWorld(SimulatedWorldOptions options);
  stripesim::Server* stripe() const;
  // Queues `work` on the core thread; FailedPrecondition when not plugged into a running runtime.
  Status on_core(std::function<void()> work);
  std::string next_card();  // core thread
  void present_when_waiting(const std::string& card, int tries);  // core thread
  void present_on_smart_reader(const std::string& attempt_id, const std::string& card, int tries);  // core thread
  Result<std::string> register_smart_reader();

  SimulatedWorldOptions options_;
  bool stripe_wanted_ = false;
  bool device_wanted_ = false;
  bool smart_simulated_ = false;
  bool register_reader_ = false;  // reader "stripe" without a reader id
  std::string location_id_;
  std::string account_hint_;  // a configured account for the simulator to hold
  std::string stripe_state_dir_;  // <data_dir>/stripe-sim: the owned simulator's books
  std::string api_key_;
  std::string account_;
  std::unique_ptr<stripesim::Server> owned_stripe_;
  std::unique_ptr<hwsim::ReaderDevice> device_;
  mutable std::mutex mutex_;
  CoreAccess* core_ = nullptr;  // guarded by mutex_; set between attach and detach
  // Core thread only.
  std::deque<std::string> queued_cards_;
  std::string collecting_attempt_;  // the collect running on a simulated smart reader
  std::string smart_reader_id_;
};

}  // namespace till::app
