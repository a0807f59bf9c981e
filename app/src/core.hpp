#pragma once
// Internal to till_runtime: what every part of the runtime shares. The runtime is four parts on one
// core thread (one io_context), each in its own files:
//
//   runtime.cpp          start-up and wiring: Runtime's public calls, the store, the Stripe
//                        client, the data key, the deferred database check, stop
//   reader_session.*     the card reader: driver, connect, collect / cancel, reader commands,
//                        reader events; smart readers through SmartReaderPayment
//   sync_bridge.*        the sync engine's drive loop, the connectivity probe, and the engine's
//                        reports turned into the reducer's Actions
//   ui_bridge.*          the reducer's Effects in, Actions out: durable effects, operations built
//                        from the records on disk, printing, email, refund lookup, back office,
//                        day report
//
// Everything here belongs to the core thread unless a comment says otherwise.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <string>

#include "till/app/runtime.hpp"
#include "till/app/simulation.hpp"
#include "till/base/random.hpp"
#include "till/store/identity.hpp"
#include "till/store/store.hpp"
#include "till/sync/operations.hpp"
#include "till/sync/stripe_client.hpp"

namespace till::app::detail {

struct Core {
  RuntimeConfig config;
  Runtime::Post post;  // to the UI thread (thread-safe, see Runtime::start)
  const Clock* clock = nullptr;
  // Ids and idempotency keys that reach Stripe always come from the kernel CSPRNG.
  std::unique_ptr<Random> random;
  boost::asio::io_context io;

  Simulation* simulation = nullptr;  // config.simulation, when plugged in
  StripeEndpoint stripe;             // what the client talks to (and the mode shown)
  bool stripe_simulated = false;     // the endpoint came from the Simulation
  std::string store_path;
  std::optional<store::Store> store;
  store::RegisterIdentity identity;  // claimed at open (store/identity.hpp)
  std::unique_ptr<sync::StripeClient> client;
  sync::PaymentIntentOptions pi_options;
  bool stop_requested = false;
  int helpers_running = 0;  // the runtime's own coroutines on the client (stop waits for them)

  void emit(pos::Action a) {
    if (post) post(std::move(a));
  }
  const std::string& account_id() const { return stripe.account_id; }
  // Runs one of the runtime's own coroutines on the client; stop() waits until none runs (the
  // client must outlive its calls).
  void spawn_helper(boost::asio::awaitable<void> work);
};

}  // namespace till::app::detail
