#pragma once
// The seam the simulators plug into (RuntimeConfig::simulation). The production runtime
// (till_runtime) links no simulator: when the configuration asks for the embedded default, the
// kiosk's main plugs in app::SimulatedWorld (app/sim_wiring.hpp, target till_sim_wiring), which
// implements this interface over till-stripe-sim and till-reader-sim's device model. A runtime
// without a Simulation needs a Stripe key and a real reader (tcp, usb or stripe).
//
// The runtime calls a Simulation from two places: start_stripe() on the thread that calls
// Runtime::start, before the core thread runs; everything else on the core thread, between
// attach() and detach(). The Simulation must outlive the runtime.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/base/secret.hpp"

namespace till::terminal::protocol {
class DeviceEndpoint;
}

namespace till::app {

// The Stripe API a runtime talks to: api.stripe.com with a key, or a stand-in for it.
struct StripeEndpoint {
  std::string base_url;  // "http://127.0.0.1:PORT" for the embedded till-stripe-sim
  Secret api_key;
  std::string account_id;  // the connected account sales are taken for
  std::string ca_file;     // extra CA to trust (a loopback simulator over TLS); usually empty
  std::string mode;        // what the status bar says, "simulated (till-stripe-sim on ...)"
};

// A card collect the reader is about to run. No card data: a simulated customer decides which
// card to present.
struct CollectStarted {
  std::string attempt_id;
  std::int64_t amount = 0;  // minor units
  std::string currency;
  std::string smart_reader_id;  // tmr_... on a smart reader; empty on the in-process reader
};

// The runtime's core thread as a plugged-in Simulation sees it (between attach and detach).
class CoreAccess {
 public:
  virtual ~CoreAccess() = default;
  // Any thread: runs fn on the core thread soon (never after the runtime has stopped).
  virtual void post(std::function<void()> fn) = 0;
  // Core thread: runs fn on the core thread after `delay` (not if the runtime stops first).
  virtual void after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  // Core thread: check now whether Stripe answers (instead of at the next probe interval); the
  // register goes offline or online by the answer, and drains at once when online.
  virtual void check_connectivity_now() = 0;
};

class Simulation {
 public:
  virtual ~Simulation() = default;

  // The endpoint that stands in for api.stripe.com when no API key is configured. Runtime::start's
  // thread, once; its error fails the start.
  virtual Result<StripeEndpoint> start_stripe(const Clock& clock) = 0;
  // Reader "sim": the device the in-process driver talks to, on the core thread, once. It must
  // stay valid until detach() (the runtime drops its reader before that).
  virtual Result<terminal::protocol::DeviceEndpoint*> reader_device() = 0;

  // Core thread, once the store and reader are set up: the core thread is the Simulation's until
  // detach().
  virtual void attach(CoreAccess& core) = 0;
  // Core thread: a card collect is about to start on the reader (before anything reaches it), and
  // the collect has ended (any outcome).
  virtual void collect_starting(const CollectStarted& collect) = 0;
  virtual void collect_ended(const std::string& attempt_id) = 0;
  // Core thread, during stop, after the reader is gone: `core` must not be used any more.
  virtual void detach() = 0;
};

}  // namespace till::app
