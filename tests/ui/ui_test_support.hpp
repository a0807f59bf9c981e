#pragma once
// Shared by the headless UI tests: Model fixtures built through the real reducer, and a harness
// that draws the kiosk in a window-less ImGui context and "taps" what the frame log recorded.

#include <cstdlib>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/pos/checkout.hpp"
#include "till/ui/harness.hpp"
#include "till/ui/kiosk.hpp"
#include "till/app/catalog.hpp"
#include "till/ui/runtime_world.hpp"
#include "till/ui/views.hpp"

namespace till::ui::test {

// The kiosk configuration the tests use: the shipped demo catalog (app/data/demo_catalog.json),
// manager PIN 1234, a placeholder test key (only its mask may ever be drawn).
inline KioskConfig test_config() {
  static const app::CatalogDocument doc = [] {
    auto d = app::load_catalog(app::demo_catalog_path());
    if (!d) std::abort();  // the shipped catalog must load; catalog_loader_test says why not
    return std::move(*d);
  }();
  app::RuntimeConfig rc;
  rc.register_id = "reg_test_1";
  rc.account_id = "acct_test";
  rc.fee_rule = "30+290bp";
  rc.location_id = "tml_test";
  rc.api_key = Secret("sk_test_" "00000000000000000000demo");
  KioskConfig c = kiosk_config(doc, rc, "1234");
  c.mode = "SIMULATED reader and Stripe";
  return c;
}

// Builds models by applying actions through pos::update with a fixed clock and seed.
class ModelBuilder {
 public:
  ModelBuilder() : config_(test_config()) {}
  ModelBuilder& then(const pos::Action& action) {
    pos::Context ctx{now_, random_, config_.register_id, config_.account_id, config_.catalog.currency(),
                     config_.catalog, config_.risk, config_.merchant, config_.manager_pin,
                     config_.capture_method};
    auto result = pos::update(std::move(model_), action, ctx);
    model_ = std::move(result.model);
    last_effects_ = std::move(result.effects);
    return *this;
  }
  // The id of the attempt the reader is collecting for (after Charge).
  std::string active() const { return model_.active_attempt_id.value_or(""); }
  const pos::Model& model() const { return model_; }
  const std::vector<pos::Effect>& last_effects() const { return last_effects_; }
  // The fixtures' "now": FakeClock's default start, the same instant ViewHarness's clock shows.
  Timestamp now() const { return now_; }
  const KioskConfig& config() const { return config_; }

 private:
  KioskConfig config_;
  Timestamp now_ = FakeClock().now();
  SeededRandom random_{42};
  pos::Model model_;
  std::vector<pos::Effect> last_effects_;
};

inline pos::CardDetails visa() {
  pos::CardDetails c;
  c.brand = "visa";
  c.last4 = "4242";
  c.read_method = "contactless_emv";
  return c;
}

// Sell screen with two lattes and a croissant, reader connected, online.
inline ModelBuilder cart_fixture() {
  ModelBuilder b;
  b.then(pos::ReaderStatusChanged{true, "Simulated reader SIM-001", ""})
      .then(pos::AddProduct{"latte", 2})
      .then(pos::AddProduct{"croissant", 1});
  return b;
}

inline ModelBuilder collecting_fixture() {
  ModelBuilder b = cart_fixture();
  b.then(pos::Charge{});
  return b;
}

inline ModelBuilder authorizing_fixture() {
  ModelBuilder b = collecting_fixture();
  b.then(pos::CardCollected{b.active(), "pm_1", visa(), false});
  return b;
}

inline ModelBuilder declined_fixture() {
  ModelBuilder b = authorizing_fixture();
  b.then(pos::PaymentDeclined{b.active(), "insufficient_funds", "Your card has insufficient funds.", "pi_1"});
  return b;
}

inline ModelBuilder in_doubt_fixture() {
  ModelBuilder b = authorizing_fixture();
  b.then(pos::PaymentOutcomeUnknown{b.active(), "timeout after 30 s"});
  return b;
}

inline ModelBuilder approved_fixture() {
  ModelBuilder b = authorizing_fixture();
  b.then(pos::PaymentApproved{b.active(), "pi_approved_1", visa()});
  return b;
}

// Offline with payments already stored (from the store) and a cart.
inline ModelBuilder offline_fixture() {
  ModelBuilder b = cart_fixture();
  pos::StoredTotals stored;
  stored.by_currency["usd"] = pos::StoredCurrency{3, 4'500};
  stored.count = 3;
  stored.oldest = b.now() - std::chrono::minutes(130);
  b.then(pos::ConnectivityChanged{false}).then(pos::OfflineStatusUpdated{stored});
  return b;
}

// Offline, and the card was swiped: the risk policy refuses to store it.
inline ModelBuilder refused_fixture() {
  ModelBuilder b = cart_fixture();
  b.then(pos::ConnectivityChanged{false}).then(pos::Charge{});
  pos::CardDetails swiped = visa();
  swiped.read_method = "magnetic_stripe";
  b.then(pos::PaymentStoredOffline{b.active(), "pm_2", swiped, false});
  return b;
}

inline ModelBuilder back_office_fixture() {
  ModelBuilder b = cart_fixture();
  b.then(pos::OpenBackOffice{"1234"});
  pos::BackOfficeLoaded loaded;
  loaded.counts.pending = 2;
  loaded.counts.dead = 1;
  loaded.counts.in_doubt = 1;
  pos::AttentionItem dead;
  dead.kind = pos::AttentionItem::Kind::Dead;
  dead.operation_id = 7;
  dead.sale_id = "sale_dead";
  dead.amount = 1250;
  dead.currency = "usd";
  dead.last_error = "invalid_request_error: No such payment_method";
  dead.last_request_id = "req_dead_123";
  dead.since = b.now() - std::chrono::hours(3);
  pos::AttentionItem doubt = dead;
  doubt.kind = pos::AttentionItem::Kind::InDoubt;
  doubt.operation_id = 8;
  doubt.sale_id = "sale_doubt";
  doubt.last_error = "timeout";
  doubt.last_request_id = "req_doubt_456";
  loaded.attention = {dead, doubt};
  b.then(loaded);
  return b;
}

// The back office with something on every tab: attention items, reader details, a day report
// and a past sale found for a refund.
inline ModelBuilder full_back_office_fixture() {
  ModelBuilder b = back_office_fixture();
  pos::ReaderDetails d;
  d.connection = "connected";
  d.battery_percent = 12;
  d.firmware_version = "1.4.0";
  d.update_required = true;
  d.offline_capable = true;
  d.offline_stored = 1;
  d.offline_capacity = 5;
  b.then(pos::ReaderDetailsUpdated{d});
  pos::DaySummary day;
  day.day = "2026-09-21";
  day.currencies.push_back({"usd", 4, 4'000, 3'700, 300, 150, 0, 1, 0});
  day.tenders.push_back({"card", "usd", 3, 3'500});
  day.tenders.push_back({"card_stored_offline", "usd", 1, 500});
  day.tax_rates.push_back({"usd", "standard", 88'750, 3'380, 300});
  day.refunds.push_back({"usd", 1, 100, 0});
  day.declined = 1;
  b.then(pos::DayReportLoaded{day});
  pos::PastSale past;
  past.sale.id = "0f3a9c1e-1111-4222-8333-444455556666";
  past.sale.currency = "usd";
  past.sale.total = 1312;
  past.sale.state = pos::SaleState::Paid;
  pos::PastSale::Payment pay;
  pay.attempt_id = "att_past";
  pay.brand = "visa";
  pay.last4 = "4242";
  pay.payment_intent_id = "pi_past";
  pay.captured = 1312;
  pay.refunded = 300;
  pay.refundable = 1012;
  past.payments.push_back(pay);
  past.refundable = 1012;
  b.then(pos::SaleForRefundFound{past});
  return b;
}

// Draws the kiosk headless and records what the views dispatch.
class ViewHarness {
 public:
  explicit ViewHarness(KioskConfig config = test_config(), DisplayConfig display = {})
      : ctx_(display), config_(std::move(config)) {}

  // Draws one frame of `model` and returns the actions dispatched during it.
  std::vector<pos::Action> frame(const pos::Model& model) {
    std::vector<pos::Action> dispatched;
    log_.clear();
    ctx_.new_frame();
    ViewEnv env{ctx_.fonts(), &log_, clock_.now(), config_, [&](pos::Action a) { dispatched.push_back(std::move(a)); }};
    draw_kiosk(model, state_, env);
    ctx_.end_frame();
    return dispatched;
  }

  // Two frames, so fixed windows and tab bars have settled.
  void show(const pos::Model& model) {
    frame(model);
    frame(model);
  }

  // Taps the centre of the first button/field/tab whose label is `label` (hover, press, release)
  // and returns everything dispatched meanwhile. Empty when the label is not on screen.
  std::vector<pos::Action> tap(const pos::Model& model, const std::string& label) {
    const LoggedItem* item = find(label);
    if (item == nullptr) return {};
    ImGui::SetCurrentContext(ctx_.context());  // another harness may have been made meanwhile
    ImGuiIO& io = ImGui::GetIO();
    io.MousePos = ImVec2((item->min.x + item->max.x) / 2, (item->min.y + item->max.y) / 2);
    std::vector<pos::Action> all;
    auto collect = [&](std::vector<pos::Action> a) { all.insert(all.end(), a.begin(), a.end()); };
    collect(frame(model));
    io.MouseDown[0] = true;
    collect(frame(model));
    io.MouseDown[0] = false;
    collect(frame(model));
    return all;
  }

  // Types characters (into the focused field, or the wedge scanner) over one frame.
  std::vector<pos::Action> type(const pos::Model& model, const std::string& chars) {
    ImGui::SetCurrentContext(ctx_.context());
    for (char c : chars) ImGui::GetIO().AddInputCharacter(static_cast<unsigned int>(c));
    return frame(model);
  }

  // Presses and releases a key (KeysDown index) over two frames.
  std::vector<pos::Action> key(const pos::Model& model, int index) {
    ImGui::SetCurrentContext(ctx_.context());
    ImGui::GetIO().KeysDown[index] = true;
    std::vector<pos::Action> all = frame(model);
    ImGui::GetIO().KeysDown[index] = false;
    auto more = frame(model);
    all.insert(all.end(), more.begin(), more.end());
    return all;
  }

  // Exact label first, then a tile whose first line is `label` ("Latte\n4.50").
  const LoggedItem* find(const std::string& label) const {
    for (const LoggedItem& item : log_.items()) {
      if (item.kind != LoggedItem::Kind::Text && item.label == label) return &item;
    }
    for (const LoggedItem& item : log_.items()) {
      if (item.kind != LoggedItem::Kind::Text && item.label.rfind(label + "\n", 0) == 0) return &item;
    }
    return nullptr;
  }
  bool shows(const std::string& text) const { return log_.shows(text); }
  std::string dump() const { return log_.dump(); }
  ViewState& state() { return state_; }
  const FrameLog& log() const { return log_; }
  ImGuiContext* context() const { return ctx_.context(); }
  FakeClock& clock() { return clock_; }
  KioskConfig& config() { return config_; }

 private:
  HeadlessContext ctx_;
  KioskConfig config_;
  FakeClock clock_;
  ViewState state_;
  FrameLog log_;
};

// The first action of type T, copied (the vector is usually a temporary).
template <class T>
std::optional<T> first_of(const std::vector<pos::Action>& actions) {
  for (const auto& a : actions) {
    if (const T* t = std::get_if<T>(&a)) return *t;
  }
  return std::nullopt;
}

}  // namespace till::ui::test
