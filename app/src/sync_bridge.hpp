#pragma once
// Internal to till_runtime: the sync bridge (see core.hpp). It owns the sync engine and drives it
// itself (Engine::async_drain_once in a loop) instead of Engine::async_run, so that connectivity
// is the runtime's: a send that ends Unavailable or OutcomeUnknown marks the register offline;
// while offline nothing is drained and GET /v1/account every probe_interval checks whether Stripe
// answers again; the first answer marks it online and drains at once. The engine's reports of
// payment attempts go to the reducer as the Actions the kiosk expects. Core thread only.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "core.hpp"
#include "till/sync/engine.hpp"

namespace till::app::detail {

class SyncBridge {
 public:
  explicit SyncBridge(Core& core) : core_(core) {}

  // Once the store and the client exist: makes the engine (it does not run yet).
  void create_engine();
  // Once the database check passed: starts the drive loop.
  void start();
  // Drain now (something was queued) instead of at the next poll.
  void wake();
  // Check connectivity before the next drain (a SIMULATED outage began or ended).
  void check_now();
  // Stop: the engine finishes what is in flight; done() turns true when the loop has returned.
  void stop();
  bool done() const { return done_; }
  // Unknown until the first send or check.
  std::optional<bool> online() const { return online_; }
  // The stored-offline totals (what counts against the offline caps) to the reducer.
  void post_offline_status();
  void reset() { engine_.reset(); }

 private:
  boost::asio::awaitable<void> drive();
  boost::asio::awaitable<bool> check_connectivity();
  void on_report(const sync::OperationReport& r);
  void report_attempt(const pos::PaymentAttempt& a, const std::string& detail);
  void set_online(bool now_online);

  Core& core_;
  std::unique_ptr<sync::Engine> engine_;
  std::set<std::string> in_doubt_reported_;  // attempts the kiosk was told are in doubt
  std::optional<bool> online_;
  bool done_ = true;       // the drive loop is not running (not started yet, or returned)
  bool check_now_ = false;  // run the connectivity check before the next drain
  boost::asio::steady_timer* idle_timer_ = nullptr;  // set while the drive loop waits
};

}  // namespace till::app::detail
