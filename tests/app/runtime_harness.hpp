#pragma once
// Register: the UI thread's part of the kiosk without ImGui, over a real app::Runtime with the
// simulators plugged in as the kiosk's main plugs them in (app::SimulatedWorld; see
// runtime_test.cpp). Shared by the runtime tests.

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <unistd.h>

#include "till/app/catalog.hpp"
#include "till/app/runtime.hpp"
#include "till/app/sim_wiring.hpp"
#include "till/base/random.hpp"
#include "till/pos/checkout.hpp"

namespace till::testing {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The UI thread's part, without ImGui: an inbox of Actions fed through pos::update, effects
// handed to the runtime (as the kiosk does every frame).
class Register {
 public:
  explicit Register(const fs::path& dir, const std::function<void(app::RuntimeConfig&)>& tweak = {},
                    app::SimulatedWorldOptions simulation = {})
      : doc_(*app::load_catalog(app::demo_catalog_path())), random_(SystemRandom::instance().next_u64()) {
    app::RuntimeConfig config;
    config.data_dir = dir.string();
    config.fee_rule = "30+100bp";
    if (tweak) tweak(config);
    capture_method_ = config.capture_method;
    world_ = app::SimulatedWorld::plug_into(config, std::move(simulation));
    auto rt = app::Runtime::start(config, [this](pos::Action a) {
      std::lock_guard lock(mutex_);
      inbox_.push_back(std::move(a));
      cv_.notify_all();
    });
    REQUIRE(rt);
    runtime_ = std::move(*rt);
    model_ = pos::initial_model(context());
  }

  // The runtime posts into inbox_ until it has stopped: stop it before the inbox goes, and
  // before the simulators it talks to.
  ~Register() {
    runtime_.reset();
    world_.reset();
  }

  pos::Context context() {
    return pos::Context{SystemClock::instance().now(), random_, runtime_->register_id(), runtime_->account_id(),
                        pos::Currency::of("usd"), doc_.catalog, pos::RiskConfig::safe_defaults(),
                        doc_.merchant, "2468", capture_method_};
  }

  void dispatch(const pos::Action& action) {
    auto u = pos::update(std::move(model_), action, context());
    model_ = std::move(u.model);
    if (!u.effects.empty()) runtime_->run(std::move(u.effects));
  }

  // Applies actions from the runtime until `done(model)` or the deadline (a generous bound for
  // a loaded CI machine; the happy path takes well under a second).
  bool pump_until(const std::function<bool(const pos::Model&)>& done, std::chrono::seconds deadline = 30s) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!done(model_)) {
      std::unique_lock lock(mutex_);
      if (!cv_.wait_until(lock, end, [&] { return !inbox_.empty(); })) return false;
      auto a = std::move(inbox_.front());
      inbox_.pop_front();
      lock.unlock();
      dispatch(a);
    }
    return true;
  }

  // The id of the demo catalog's n-th product.
  const std::string& product(std::size_t n) const { return doc_.catalog.products().at(n).id; }

  // One product, paid by card (the simulated customer's demo card): waits for the receipt.
  void sell_one(std::size_t n) {
    dispatch(pos::AddProduct{product(n), 1});
    dispatch(pos::Charge{});
    REQUIRE(pump_until([](const pos::Model& m) { return m.screen == pos::Screen::Receipt; }));
  }

  const pos::Model& model() const { return model_; }
  app::Runtime& runtime() { return *runtime_; }
  // The SIMULATED customer, network and Stripe faults.
  app::SimulatedWorld& world() { return *world_; }

 private:
  app::CatalogDocument doc_;
  // Sale ids and idempotency keys, as the kiosk's SystemRandom makes them: fresh per register (two
  // registers in one test share a Stripe account, where a repeated key is refused).
  SeededRandom random_;
  std::string capture_method_;
  std::unique_ptr<app::SimulatedWorld> world_;
  std::unique_ptr<app::Runtime> runtime_;
  pos::Model model_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<pos::Action> inbox_;
};

// The reader is connected and the database check passed: tenders are taken. (The runtime posts
// StoreCheckStarted before it connects the reader, so a connected reader means the check began.)
inline bool ready(const pos::Model& m) { return m.reader.connected && m.store_check == pos::StoreCheck::Passed; }

inline fs::path fresh_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("till_runtime_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

}  // namespace till::testing
