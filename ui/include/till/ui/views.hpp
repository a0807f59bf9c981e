#pragma once
// The kiosk's screens. Each is a function of the read-only Model plus per-screen transient
// widget state (text buffers, the selected tab or line), and dispatches pos::Actions; nothing
// else changes state. No I/O, no clock, no lock here: the current time arrives as a value in
// ViewEnv. All functions: UI thread only, between ImGui::NewFrame and ImGui::Render; they never
// fail (bad input in a text field becomes a message on the screen, not an action).

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/secret.hpp"
#include "till/pos/checkout.hpp"
#include "till/ui/harness.hpp"
#include "till/ui/widgets.hpp"

namespace till::ui {

// Configuration the kiosk runs with. The reducer's Context is built from it on every update;
// the back office shows it (the API key masked).
struct KioskConfig {
  // The register's identity: the runtime's (Kiosk::set_register once it has started).
  std::string register_id;
  std::string register_name;
  std::string account_id;
  pos::Catalog catalog;
  pos::RiskConfig risk = pos::RiskConfig::safe_defaults();
  pos::Merchant merchant;
  std::string manager_pin;         // compared by the reducer; never shown, logged or stored
  std::string fee_rule = "0";      // the runtime's application fee rule (sync::FeeRule text), shown
  std::string capture_method = "automatic";  // the reducer's Context::capture_method
  std::string location_id;         // Stripe Terminal location (tml_...)
  Secret api_key;                  // shown masked only
  std::string mode = "simulated";  // what the status bar says the kiosk talks to
};

// Transient widget state, per screen. Text buffers are fixed arrays so ImGui can edit them in
// place; nothing here is business state (that is the Model's). Everything of the sell, payment
// and receipt screens is reset when a sale ends (draw_kiosk sees the Model go back to an empty
// sell screen), so nothing of one customer's sale shows at the start of the next.
struct SellViewState {
  // The sell screen's popups: the line editor (quantity, line discount, remove), the sale's
  // options (cart discount, tip, the customer's contact) and cash entry.
  enum class Popup { None, Line, Options, Cash };
  std::array<char, 64> search{};
  std::array<char, 32> barcode{};
  std::string wedge;  // digits typed by a keyboard-wedge scanner while no field has focus
  int category = 0;   // selected category: 0 = all, i = catalog category i-1
  int selected_line = -1;  // the line the line editor edits
  Popup popup = Popup::None;
  bool scroll_to_top = true;  // the product grid and the cart start at the top
  std::array<char, 16> quantity{};
  std::array<char, 16> line_discount{};
  std::array<char, 16> cart_discount{};
  std::array<char, 16> tip{};
  std::array<char, 16> cash{};
  std::array<char, 64> contact{};
  bool line_discount_percent = true;
  bool cart_discount_percent = true;
  std::string input_error;  // why the last typed amount was not accepted
};

struct PaymentViewState {
  std::array<char, 16> split_amount{};
  std::array<char, 16> cash{};
  std::string input_error;
};

struct ReceiptViewState {
  std::array<char, 128> email{};  // cleared as soon as it is dispatched (personal data)
  bool email_prefilled = false;    // the offline contact was offered once (a cleared field stays clear)
  std::string input_error;
};

struct BackOfficeViewState {
  std::array<char, 16> pin{};   // cleared as soon as it is dispatched
  bool pin_prompt_open = false;
  int tab = 0;  // 0 sync queue, 1 needs attention, 2 refunds, 3 end of day, 4 readers, 5 settings
  std::array<char, 128> note{};
  std::array<char, 64> refund_payment_intent{};
  std::array<char, 64> refund_sale{};
  std::array<char, 16> refund_amount{};
  std::array<char, 48> refund_receipt_number{};  // the past sale to refund
  std::array<char, 16> past_refund_amount{};
  std::string input_error;
  float font_scale = 1.0f;  // live display preference (io.FontGlobalScale)
};

struct ViewState {
  SellViewState sell;
  PaymentViewState payment;
  ReceiptViewState receipt;
  BackOfficeViewState back_office;
  bool sale_seen = false;  // a sale (or a cart) was on screen since the last clean slate
};

// Forgets everything the sell, payment and receipt screens hold for the sale that ended (search,
// category, buffers, popups, scroll). The back office's state is the manager's and stays.
void start_clean_slate(ViewState& state);

using Dispatch = std::function<void(pos::Action)>;

// What every view gets besides the Model.
struct ViewEnv {
  const Fonts& fonts;
  FrameLog* log = nullptr;   // may be null
  Timestamp now{};           // for ages ("oldest stored 2 h 10 min"); taken by the frame loop
  const KioskConfig& config;
  Dispatch dispatch;
};

// The whole kiosk: status bar, staff offline banner, notices, then the Model's screen.
void draw_kiosk(const pos::Model& model, ViewState& state, const ViewEnv& env);

// The parts, for tests and benches. Each draws into the current window.
void draw_status_bar(const pos::Model& model, ViewState& state, const ViewEnv& env);
// Drawn only when offline, when payments are stored, or when a cap forces require-online, at the
// bottom of each screen's flexible column (so it never moves a control: only a scrolling region
// gets shorter), as wide as the space available.
void draw_offline_banner(const pos::Model& model, const ViewEnv& env);
void draw_sell(const pos::Model& model, SellViewState& state, const ViewEnv& env);
void draw_payment(const pos::Model& model, PaymentViewState& state, const ViewEnv& env);
void draw_receipt(const pos::Model& model, ReceiptViewState& state, const ViewEnv& env);
void draw_back_office(const pos::Model& model, BackOfficeViewState& state, const ViewEnv& env);
// The manager PIN pad (a modal), opened from the status bar.
void draw_pin_prompt(BackOfficeViewState& state, const ViewEnv& env);

// Keyboard shortcuts (GLFW key codes, which the GLFW backend writes into io.KeysDown).
inline constexpr int kKeyF2 = 291;   // charge card
inline constexpr int kKeyF3 = 292;   // discount and tip (sell screen)
inline constexpr int kKeyF4 = 293;   // cash (exact amount)
inline constexpr int kKeyF5 = 294;   // new sale (receipt screen)
inline constexpr int kKeyF6 = 295;   // cash entry (sell screen)
inline constexpr int kKeyF9 = 298;   // manager PIN

// Short human labels for states, with a symbol so colour is never the only signal.
std::string phase_label(pos::PaymentPhase phase);
std::string attempt_label(pos::AttemptState state);
// "2 h 10 min", "45 s" (negative durations read as 0 s).
std::string age_text(std::chrono::milliseconds age);

}  // namespace till::ui
