#pragma once
// The kiosk program's wiring to app::Runtime: the effect sink, the script world over the
// simulators' SIMULATED hooks (app::SimulatedWorld), and the kiosk configuration built from the
// catalog file. This is the only ui header that sees app/; it belongs to its own target
// (till_kiosk_runtime), so the views (till_ui) still see pos only and cannot include it.
//
// Threading: everything here on the UI thread, except where a comment says otherwise.

#include <string>
#include <vector>

#include "till/app/catalog.hpp"
#include "till/app/runtime.hpp"
#include "till/app/sim_wiring.hpp"
#include "till/ui/kiosk.hpp"
#include "till/ui/script.hpp"

namespace till::ui {

// Hands each effect list to the runtime's core thread (Runtime::run returns at once).
class RuntimeSink final : public EffectSink {
 public:
  explicit RuntimeSink(app::Runtime& runtime) : runtime_(runtime) {}
  void run(std::vector<pos::Effect> effects) override { runtime_.run(std::move(effects)); }

 private:
  app::Runtime& runtime_;
};

// The script's world: the SIMULATED customer, network, Stripe faults and reader cable of the
// simulators plugged into the runtime, and what the runtime's store says reached Stripe. Each
// call fails FailedPrecondition when the world does not run that simulator.
class RuntimeWorld final : public ScriptWorld {
 public:
  RuntimeWorld(app::Runtime& runtime, app::SimulatedWorld& world) : runtime_(runtime), world_(world) {}
  Status present_card(const std::string& card) override { return world_.present_card(card); }
  Status queue_card(const std::string& card) override { return world_.queue_card(card); }
  Status set_outage(bool down) override { return world_.simulate_outage(down); }
  Status set_lost_answers(bool lost) override { return world_.simulate_lost_answers(lost); }
  Status set_reader_unplugged(bool unplugged) override { return world_.simulate_reader_unplugged(unplugged); }
  std::vector<std::string> sync_summary(const std::vector<std::string>& sale_ids) override {
    return runtime_.sync_summary(sale_ids);
  }

 private:
  app::Runtime& runtime_;
  app::SimulatedWorld& world_;
};

// The kiosk's configuration: the catalog and merchant from the catalog document, what the
// runtime was started with (register, fee rule, location, API key: shown masked only) and the
// manager PIN. The connected account and the mode are the runtime's (set them with
// Kiosk::set_account once it has started). Any thread; never fails.
KioskConfig kiosk_config(const app::CatalogDocument& doc, const app::RuntimeConfig& runtime, std::string manager_pin);

}  // namespace till::ui
