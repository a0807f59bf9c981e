#pragma once
// The app's effect runner: the one place that names concrete drivers (architecture.md). It owns
// the core thread (one io_context) and, on it, the single SQLite writer, the card reader driver,
// the Stripe client and the sync engine. The kiosk hands it the reducer's Effects; it performs
// them in order on the core thread and reports results back as Actions through `post`.
//
// Production code only: till_runtime links no simulator. The embedded default (no STRIPE_API_KEY,
// reader "sim") runs when a Simulation is plugged in (RuntimeConfig::simulation, app/simulation.hpp):
// the kiosk's main plugs in app::SimulatedWorld (app/sim_wiring.hpp), which starts till-stripe-sim
// on 127.0.0.1 as the Stripe endpoint and provides till-reader-sim's device model for the
// in-process reader, and plays the customer, the shop's network and Stripe's faults. Nothing else
// differs from a live setup: the same store, client, engine and driver code run.
//
// The reader may be any driver (RuntimeConfig::reader): sim, tcp, usb, or a Stripe smart reader
// (server-driven, through app::SmartReaderPayment: the runtime creates the PaymentIntent,
// processes it on the reader and reports to_action(outcome); smart readers are online only, so a
// collect while the register is offline is refused with the reason).
//
// Connectivity: the runtime drives the sync engine itself (Engine::async_drain_once in a loop).
// A send that ends Unavailable or OutcomeUnknown marks the register offline; while offline nothing
// is drained and a GET /v1/account every probe_interval checks whether Stripe answers again; the
// first answer marks it online and drains at once. Printing (PrintReceipt) goes to the configured
// printer sinks (app/printer.hpp); reader commands and the end-of-day report (sync::build_day_report)
// answer back as Actions. None of these is durable: their failures are reported, never StoreFailed.
//
// Failure contract (pos/checkout.hpp): when a durable effect (PersistSale, UpdateSaleState,
// CreateAttempt, UpdateAttempt, EnqueueOperation) fails, the rest of that list is skipped and
// StoreFailed is posted, so a card is never collected for a sale or attempt that is not on disk.
//
// Inside (app/src/core.hpp): runtime.cpp (start-up and wiring), reader_session (the reader),
// sync_bridge (the engine and connectivity), ui_bridge (effects in, actions out).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/base/secret.hpp"
#include "till/app/simulation.hpp"
#include "till/pos/checkout.hpp"

namespace till::app {

struct RuntimeConfig {
  std::string data_dir;              // holds till.db, till.log, receipts/, data.key
  // The register's identity (store/identity.hpp). Empty id: the one stored in the database, or
  // on its first open a generated "reg_" + 16 hex digits, stored there. A configured id must match
  // the stored one (a register's id never changes). Empty name: the stored one, or "Register 1";
  // a configured name renames the register. The id goes into every PaymentIntent's
  // metadata[register_id] (the reducer's Context must carry Runtime::register_id(); a sale for
  // another register is refused) and onto receipts; the name is for people.
  std::string register_id;
  std::string register_name;
  // The connected account sales are taken for. Empty with the embedded simulator: its merchant.
  std::string account_id;
  // Stripe. Empty api_key: the Simulation's stand-in (the embedded till-stripe-sim).
  Secret api_key;
  std::string api_base;              // default https://api.stripe.com
  std::string ca_file;               // extra CA (loopback simulator over TLS only)
  std::string fee_rule = "0";        // sync::FeeRule text, e.g. "30+290bp"
  std::string location_id;           // Stripe Terminal location (tml_...); shown in the settings
  // Where receipts print (app/printer.hpp parse_printer_spec, one sink per entry). Default: the
  // plain text and the ESC/POS bytes, each as a new file in <data_dir>/receipts (what a USB
  // printer would have printed). "device:/dev/usb/lp0" prints on a USB printer.
  std::vector<std::string> printers{"file,text", "file,escpos"};
  std::string capture_method = "automatic";
  // Which reader (app/reader_spec.hpp): "sim" or empty (the in-process SIMULATED reader),
  // "HOST:PORT" / "tcp:HOST:PORT" (till-reader-sim over TCP), "usb[:VID:PID[:SERIAL]]" (libusb),
  // "stripe[:tmr_...]" (a smart reader of the connected account, server-driven; online only).
  // With the embedded till-stripe-sim, the SimulatedWorld registers a SIMULATED WisePOS E on the
  // simulator for "stripe" when the account has no reader, and presents cards on it.
  std::string reader = "sim";
  const Clock* clock = nullptr;      // nullptr: SystemClock
  // While the register is offline, how often the runtime checks whether Stripe answers again
  // (GET /v1/account). Nothing is forwarded until a check succeeds.
  std::chrono::milliseconds probe_interval{2'000};
  // The simulators, when the configuration asks for them (app/simulation.hpp); nullptr in a live
  // setup. Needed for an empty api_key (the Stripe stand-in) and for reader "sim" (the device);
  // without it those fail Runtime::start with FailedPrecondition. Must outlive the runtime.
  Simulation* simulation = nullptr;
};

class Runtime {
 public:
  using Post = std::function<void(pos::Action)>;

  // Opens the store (creating data_dir), asks the Simulation for the Stripe endpoint when no key
  // is configured, connects the reader and starts the sync engine, all on a new core thread.
  // `post` is called from the core thread and must be thread-safe (Kiosk::post is); it must stay callable until stop() has
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

  // The register's identity as stored in its database (after start).
  const std::string& register_id() const;
  const std::string& register_name() const;
  // The account sales are bound to (the simulator's merchant by default).
  const std::string& account_id() const;
  // "simulated (till-stripe-sim on 127.0.0.1:PORT)" or "live (api.stripe.com)".
  std::string mode() const;
  std::string store_path() const;
  // The Stripe API base URL the runtime talks to (the embedded simulator's loopback URL by default).
  std::string stripe_base_url() const;
  // The reader setting as parsed (canonical text, app/reader_spec.hpp format_reader_spec).
  std::string reader_spec() const;

  // One line per outbox operation of these sales, from the store: "create_payment_intent sale=...
  // done pi_...". Blocks until the core thread answers; never call it from the core thread.
  std::vector<std::string> sync_summary(const std::vector<std::string>& sale_ids);

  struct Impl;

 private:
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace till::app
