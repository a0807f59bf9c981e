#pragma once
// SIMULATED. A stand-in for the app's effect runner, used by `till-kiosk --demo-sale`,
// `--headless-demo`, `--screenshots` and the UI tests until app/ wires the real store, reader
// drivers and Stripe client. It answers each Effect with the Action the real runner would post,
// from a scripted "world": which card is presented, what Stripe answers, whether the register is
// online. Nothing here talks to a reader, a database or the network; nothing is durable.
// No ImGui either: it is plain code the tests can drive directly.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "till/base/clock.hpp"
#include "till/pos/checkout.hpp"
#include "till/ui/kiosk.hpp"

namespace till::ui {

// The demo shop: a small cafe in USD with a standard (8.875 %) and a zero tax class.
pos::Catalog demo_catalog();
// A kiosk configuration for demos: the demo catalog, safe risk defaults, account acct_demo,
// manager PIN "1234" (demo only; real PINs come from configuration), no API key.
KioskConfig demo_config();

class SimulatedEffects final : public EffectSink {
 public:
  // What the simulated Stripe answers to the next payment it is sent.
  struct Outcome {
    enum class Kind { Approve, Decline, Unknown };
    Kind kind = Kind::Approve;
    std::string decline_code;  // for Decline
  };

  // `post` delivers Actions back to the kiosk (Kiosk::post). The clock stamps records.
  SimulatedEffects(std::function<void(pos::Action)> post, const Clock& clock);

  void run(std::vector<pos::Effect> effects) override;

  // ---- the world, driven by a script or a test (UI thread) ----
  void connect_reader(bool connected);
  void set_online(bool online);  // going online forwards stored payments (approved by the sim)
  void set_next_outcome(Outcome outcome) { next_outcome_ = std::move(outcome); }
  // The customer presents a card on the collecting reader. FailedPrecondition when no
  // collection is running.
  Status present_card(const std::string& brand, const std::string& last4,
                      const std::string& read_method = "contactless_emv");
  // The reader times out / the card is pulled before it was read.
  Status fail_collect(const std::string& reason);
  // The resolver's answer for every in-doubt attempt.
  void resolve_in_doubt(bool approved, const std::string& decline_code = {});
  // Adds a dead operation (as the sync engine would after a non-retryable error) so the back
  // office has something to show.
  void seed_dead_operation(const std::string& sale_id, std::int64_t amount, const std::string& error,
                           const std::string& request_id);

  // ---- what happened ----
  const std::vector<std::string>& receipts() const noexcept { return receipts_; }
  const std::vector<pos::Audit>& audit() const noexcept { return audit_; }
  const std::vector<pos::Effect>& effects() const noexcept { return effects_; }
  const std::vector<pos::OutboxOperation>& operations() const noexcept { return operations_; }
  DayReport day_report() const;
  // One line per operation: "create_payment_intent sale=... done pi_sim_1 (simulated Stripe)".
  std::vector<std::string> sync_summary() const;

 private:
  void enqueue(pos::OutboxOperation op);
  void send(pos::OutboxOperation& op);
  void post_offline_status();
  void post_back_office();
  std::string next_id(const char* prefix);

  std::function<void(pos::Action)> post_;
  const Clock& clock_;
  bool online_ = true;
  bool reader_ = false;
  Outcome next_outcome_;
  std::optional<pos::StartCollect> collecting_;
  std::map<std::string, pos::PaymentAttempt> attempts_;
  std::map<std::string, pos::Sale> sales_;
  std::vector<pos::OutboxOperation> operations_;
  std::vector<std::string> in_doubt_;
  std::vector<std::string> receipts_;
  std::vector<pos::Audit> audit_;
  std::vector<pos::Effect> effects_;
  std::int64_t refunds_total_ = 0;
  int counter_ = 0;
};

}  // namespace till::ui
