#pragma once
// The app's effect runner: the one place that names concrete drivers (architecture.md). It owns
// the core thread (one io_context) and, on it, the single SQLite writer, the card reader driver,
// the Stripe client and the sync engine. The kiosk hands it the reducer's Effects; it performs
// them in order on the core thread and reports results back as Actions through `post`.
//
// Embedded default (no STRIPE_API_KEY): SIMULATED. An in-process till-stripe-sim on 127.0.0.1
// (ephemeral port) stands in for api.stripe.com, and an in-process till-reader-sim device model
// stands in for the card reader; whatever card the (simulated) customer presents is decided by
// `demo_card` unless a test queues its own. The reader may be any driver instead (RuntimeConfig::
// reader): tcp, usb, or a Stripe smart reader (server-driven, through app::SmartReaderPayment: the
// runtime creates the PaymentIntent, processes it on the reader and reports to_action(outcome);
// smart readers are online only, so a collect while the register is offline is refused with the
// reason). Nothing else differs from a live setup: the same store,
// client, engine and driver code run. The SIMULATED hooks below (outage, lost answers, reader
// cable, the customer's card) exist only with these simulators.
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
#include "till/pos/checkout.hpp"

namespace till::app {

struct RuntimeConfig {
  std::string data_dir;              // holds till.db, till.log, receipts/, data.key
  std::string register_id = "reg_1";
  // The connected account sales are taken for. Empty with the embedded simulator: its merchant.
  std::string account_id;
  // Stripe. Empty api_key: start the embedded simulator and talk to it.
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
  // With the embedded till-stripe-sim, "stripe" registers a SIMULATED WisePOS E on the simulator
  // when the account has no reader, and the simulated customer presents cards on it through the
  // simulator's test helper.
  std::string reader = "sim";
  std::string demo_card = "4242424242424242";  // what the simulated customer presents
  // SIMULATED readers only. true: for every collect with no queued card the simulated customer
  // presents demo_card by itself (a person trying the kiosk). false: nobody presents a card until
  // present_card() (scripts and tests that want to see the "present card" screen).
  bool customer_presents_demo_card = true;
  std::uint64_t seed = 1;            // simulators only
  const Clock* clock = nullptr;      // nullptr: SystemClock
  // While the register is offline, how often the runtime checks whether Stripe answers again
  // (GET /v1/account). Nothing is forwarded until a check succeeds.
  std::chrono::milliseconds probe_interval{2'000};
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
  // The Stripe API base URL the runtime talks to (the embedded simulator's loopback URL by default).
  std::string stripe_base_url() const;
  // The reader setting as parsed (canonical text, app/reader_spec.hpp format_reader_spec).
  std::string reader_spec() const;
  // True when the card is presented by a simulated customer (the hooks below work): the
  // in-process simulated reader, or a simulated smart reader on the embedded till-stripe-sim.
  bool simulated_customer() const;

  // ---- SIMULATED world (the embedded default only) ---------------------------------------------
  // Test and demo hooks: the kiosk's --script / --screenshots / --demo-sale and the tests use them
  // to play the customer, the shop's network and Stripe's faults. Each fails FailedPrecondition
  // when the runtime does not run that simulator (a real reader, a live Stripe key); otherwise it
  // queues its work on the core thread and returns at once. Any thread but the core thread.

  // The customer's card (queue_card, present_card) works with both simulated readers (see
  // simulated_customer()); on a simulated smart reader it goes through till-stripe-sim's
  // present_payment_method test helper. The other hooks need the in-process simulated reader.

  // Queue what the next customer presents (a test card name or number, hwsim/test_cards.hpp);
  // it is presented by itself shortly after the collect starts. On the in-process simulated
  // reader "CARD+FAULT" also plays a reader fault for that payment (hwsim::parse_fault names,
  // e.g. "visa+disconnect_after_authorization").
  Status queue_card(std::string card);
  // The customer presents this card on the reader now (the collect must be waiting for a card;
  // if not, the device refuses and the refusal is logged).
  Status present_card(std::string card);
  // SIMULATED outage of the shop's internet (either simulated reader). true: the embedded
  // till-stripe-sim answers every request 503 (nothing applied), the in-process simulated reader's
  // own network is down (it stores payments and forwards later; a smart reader cannot), and the runtime's connectivity check runs at once and fails, so the
  // register goes offline and nothing is forwarded. false: the faults are cleared and the next
  // check brings the register back online; stored payments are forwarded then.
  Status simulate_outage(bool down);
  // SIMULATED lost answers. true: till-stripe-sim applies the next POST and drops the connection
  // before answering (lost_after_commit), and resets every later POST before reading it, so the
  // client's same-key retries get no answer either and a payment sent now ends in doubt. false:
  // answers flow again; the engine re-sends the in-doubt operation with the same key and Stripe
  // replays the stored answer (one charge).
  Status simulate_lost_answers(bool lost);
  // SIMULATED reader cable: unplugged (the link drops) or plugged back in (the driver reconnects).
  Status simulate_reader_unplugged(bool unplugged);

  // One line per outbox operation of these sales, from the store: "create_payment_intent sale=...
  // done pi_...". Blocks until the core thread answers; never call it from the core thread.
  std::vector<std::string> sync_summary(const std::vector<std::string>& sale_ids);

  struct Impl;

 private:
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace till::app
