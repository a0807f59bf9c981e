#include "till/ui/kiosk.hpp"

#include <utility>

namespace till::ui {

void Inbox::post(pos::Action action) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(action));
}

std::vector<pos::Action> Inbox::drain() {
  std::vector<pos::Action> out;
  std::lock_guard lock(mutex_);
  out.swap(queue_);
  return out;
}

bool Inbox::empty() const {
  std::lock_guard lock(mutex_);
  return queue_.empty();
}

Kiosk::Kiosk(KioskConfig config, const Clock& clock, Random& random, EffectSink* sink, pos::Model initial)
    : config_(std::move(config)), clock_(clock), random_(random), sink_(sink), model_(std::move(initial)) {}

pos::Context Kiosk::context() const {
  return pos::Context{clock_.now(),
                      random_,
                      config_.register_id,
                      config_.account_id,
                      config_.catalog.currency(),
                      config_.catalog,
                      config_.risk,
                      config_.merchant,
                      config_.manager_pin,
                      config_.capture_method};
}

void Kiosk::apply(const pos::Action& action) {
  pos::Update result = pos::update(std::move(model_), action, context());
  model_ = std::move(result.model);
  if (!result.effects.empty() && sink_ != nullptr) sink_->run(std::move(result.effects));
}

std::size_t Kiosk::process_inbox() {
  std::size_t applied = 0;
  // Effects may post more actions (a synchronous sink does); those wait for the next frame so a
  // frame's work stays bounded.
  for (const pos::Action& action : inbox_.drain()) {
    apply(action);
    ++applied;
  }
  return applied;
}

void Kiosk::draw(const Fonts& fonts, FrameLog* log) {
  ViewEnv env{fonts, log, clock_.now(), config_, [this](pos::Action a) { inbox_.post(std::move(a)); }};
  draw_kiosk(model_, view_, env);
}

}  // namespace till::ui
