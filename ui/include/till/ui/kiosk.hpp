#pragma once
// The kiosk runtime: owns the Model, drains an inbox of Actions through pos::update, hands the
// resulting Effects to an EffectSink, and draws the views. Architecture.md's UI thread loop:
// drain inbox -> update -> run effects -> draw. The app's effect runner implements EffectSink and
// posts results back with Kiosk::post (any thread).

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/pos/checkout.hpp"
#include "till/ui/harness.hpp"
#include "till/ui/views.hpp"
#include "till/ui/widgets.hpp"

namespace till::ui {

// Where the kiosk sends effects. Implemented over app::Runtime (RuntimeSink, which hands them to
// the core thread) and by recording doubles in tests. Called on the UI thread once per
// update that produced effects, in order; must not block (queue the work and return). The
// contract for failures is pos/checkout.hpp's (skip the rest of the list, post StoreFailed).
class EffectSink {
 public:
  virtual ~EffectSink() = default;
  virtual void run(std::vector<pos::Effect> effects) = 0;
};

// Actions waiting for the UI thread. post() from any thread; drain() from the UI thread swaps the
// queue out under the lock (Tracy's RunQueue pattern) so the lock is never held during a frame.
class Inbox {
 public:
  void post(pos::Action action);
  std::vector<pos::Action> drain();
  bool empty() const;

 private:
  mutable std::mutex mutex_;
  std::vector<pos::Action> queue_;
};

class Kiosk {
 public:
  // The clock and random source must outlive the kiosk. The sink may be replaced later.
  Kiosk(KioskConfig config, const Clock& clock, Random& random, EffectSink* sink,
        pos::Model initial = {});

  // Any thread.
  void post(pos::Action action) { inbox_.post(std::move(action)); }

  // UI thread. Applies every queued action through pos::update in order and hands each
  // non-empty effect list to the sink. Returns how many actions were applied.
  std::size_t process_inbox();
  // UI thread. Applies one action now (tests and the script use it).
  void apply(const pos::Action& action);

  // UI thread, between ImGui::NewFrame and ImGui::Render: draws the whole kiosk. Actions the
  // views dispatch are queued and applied at the next process_inbox().
  void draw(const Fonts& fonts, FrameLog* log);

  // UI thread: one complete frame step as architecture.md describes (drain, update, effects,
  // draw). The caller owns NewFrame/Render.
  void frame(const Fonts& fonts, FrameLog* log) {
    process_inbox();
    draw(fonts, log);
  }

  const pos::Model& model() const noexcept { return model_; }
  const KioskConfig& config() const noexcept { return config_; }
  ViewState& view_state() noexcept { return view_; }
  const Inbox& inbox() const noexcept { return inbox_; }
  void set_sink(EffectSink* sink) noexcept { sink_ = sink; }
  // The connected account and what the status bar says the kiosk talks to, once the app's
  // runtime knows them (before the first sale). UI thread.
  void set_account(std::string account_id, std::string mode) {
    config_.account_id = std::move(account_id);
    config_.mode = std::move(mode);
  }
  // The register's id and name as its database holds them (app::Runtime::register_id()), before
  // the first sale: every sale, and so every PaymentIntent's metadata, carries the id. UI thread.
  void set_register(std::string id, std::string name) {
    config_.register_id = std::move(id);
    config_.register_name = std::move(name);
  }

 private:
  pos::Context context() const;

  KioskConfig config_;
  const Clock& clock_;
  Random& random_;
  EffectSink* sink_;
  pos::Model model_;
  Inbox inbox_;
  ViewState view_;
};

}  // namespace till::ui
