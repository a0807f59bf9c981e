#pragma once
// The app's effect runner: the one place that names concrete drivers (architecture.md). It owns
// the core thread (one io_context) and, on it, the single SQLite writer, the card reader driver,
// the Stripe client and the sync engine. The kiosk hands it the reducer's Effects; it performs
// them in order on the core thread and reports results back as Actions through `post`.
//
// Embedded default (no STRIPE_API_KEY): SIMULATED. An in-process till-stripe-sim on 127.0.0.1
// (ephemeral port) stands in for api.stripe.com, and an in-process till-reader-sim device model
// stands in for the card reader; whatever card the (simulated) customer presents is decided by
// `demo_card` unless a test queues its own. Nothing else differs from a live setup: the same store,
// client, engine and driver code run.
//
// Failure contract (pos/checkout.hpp): when a durable effect (PersistSale, UpdateSaleState,
// CreateAttempt, UpdateAttempt, EnqueueOperation) fails, the rest of that list is skipped and
// StoreFailed is posted, so a card is never collected for a sale or attempt that is not on disk.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/base/secret.hpp"
#include "till/pos/checkout.hpp"

namespace till::app {

struct RuntimeConfig {
  std::string data_dir;              // holds till.db, till.log, receipts.txt, data.key
  std::string register_id = "reg_1";
  // The connected account sales are taken for. Empty with the embedded simulator: its merchant.
  std::string account_id;
  // Stripe. Empty api_key: start the embedded simulator and talk to it.
  Secret api_key;
  std::string api_base;              // default https://api.stripe.com
  std::string ca_file;               // extra CA (loopback simulator over TLS only)
  std::string fee_rule = "0";        // sync::FeeRule text, e.g. "30+290bp"
  std::string capture_method = "automatic";
  // Reader. Empty reader_host: the in-process simulated reader.
  std::string reader_host;
  std::uint16_t reader_port = 0;
  std::string demo_card = "4242424242424242";  // what the simulated customer presents
  std::uint64_t seed = 1;            // simulators only
  const Clock* clock = nullptr;      // nullptr: SystemClock
};

class Runtime {
 public:
  using Post = std::function<void(pos::Action)>;

  // Opens the store (creating data_dir), starts the simulators when configured, connects the
  // reader and starts the sync engine, all on a new core thread. `post` is called from the core
  // thread and must be thread-safe (Kiosk::post is); it must stay callable until stop() has
  // returned (destroy the Runtime before whatever `post` writes into). Fails with the store's,
  // the simulator's or the client's error.
  static Result<std::unique_ptr<Runtime>> start(RuntimeConfig config, Post post);
  ~Runtime();  // stop()
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Any thread: queues the effects for the core thread and returns at once.
  void run(std::vector<pos::Effect> effects);
  // Any thread except the core thread: stops the engine, disconnects the reader, closes the
  // store and joins. Idempotent.
  void stop();

  // The account sales are bound to (the simulator's merchant by default).
  const std::string& account_id() const;
  // "simulated (till-stripe-sim on 127.0.0.1:PORT)" or "live (api.stripe.com)".
  std::string mode() const;
  std::string store_path() const;

  // SIMULATED reader only: queue what the next customer presents (a test card name or number).
  // FailedPrecondition with a real reader.
  Status queue_card(std::string card);

  struct Impl;

 private:
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace till::app
