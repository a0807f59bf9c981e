#pragma once
// Internal to ui/src: what the kiosk's screens share (drawing helpers, money text, tones, the
// fields and tabs that record themselves in the FrameLog). Not installed; views.hpp is the
// public face. UI thread only, like every view.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "till/ui/views.hpp"

namespace till::ui::detail {

using pos::AttemptState;
using pos::PaymentPhase;

constexpr ImGuiWindowFlags kPanel = ImGuiWindowFlags_NoSavedSettings;

// ---- text ------------------------------------------------------------------------------------

pos::Currency currency_of(const std::string& code, const pos::Currency& fallback);
std::string money(std::int64_t minor, const pos::Currency& c);
std::string money(std::int64_t minor, const std::string& code, const pos::Currency& fallback);
std::string percent_text(std::int64_t ppm);
std::string upper_words(std::string_view s);
std::string lower(std::string_view s);

template <std::size_t N>
void clear(std::array<char, N>& a) {
  a.fill('\0');
}

template <std::size_t N>
void set_text(std::array<char, N>& a, std::string_view s) {
  clear(a);
  std::copy_n(s.data(), std::min(s.size(), N - 1), a.data());
}

// A text field recorded in the frame log under its hint (tests tap it, then type; the typed text
// is never logged: PINs, addresses). Returns true when Enter submits it (keyboard operation: every
// field's Enter does what its button does).
template <std::size_t N>
bool field(FrameLog* log, const char* id, const char* hint, std::array<char, N>& buf, float width,
           ImGuiInputTextFlags flags = 0) {
  ImGui::SetNextItemWidth(width);
  // A border tells a field from a button at a glance (both are one touch target high).
  ImGui::PushStyleVar(ImGuiStyleVar_FrameBorderSize, 1.0f);
  const bool entered =
      ImGui::InputTextWithHint(id, hint, buf.data(), N, flags | ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::PopStyleVar();
  if (log != nullptr) {
    const std::string_view visible = visible_label(id);
    log->add_last_item(LoggedItem::Kind::Input, std::string(visible.empty() ? std::string_view(hint) : visible));
  }
  return entered;
}

// ---- layout: every size comes from the current font and style, never a fixed pixel width ------

float gap();          // ItemSpacing.x
float vgap();         // ItemSpacing.y
float text_width(std::string_view s);
// One row of controls and the space under it.
float row_pitch();
// One line of text and the space under it.
float line_pitch();
// A field that shows `hint` and holds `sample` (what a typical entry looks like).
float field_width(std::string_view hint, std::string_view sample = {});
// The widest touch_button among these labels.
float widest_button(std::initializer_list<std::string_view> labels);

// Places items left to right from the cursor's x, wrapping before an item that would cross
// `width`. Deterministic for a given width and font: a row never reflows because of what the
// Model says, only when the window or text size changes.
class Flow {
 public:
  explicit Flow(float width);
  void next(float item_width);  // call before each item
  // Rows that items of these widths take in `width`.
  static int rows(std::initializer_list<float> widths, float width);

 private:
  float left_;
  float right_;
  bool first_ = true;
};

// A button when `shown`, else an empty place of the same size, so nothing around it moves.
bool slot_button(FrameLog* log, const char* label, ImVec2 size, bool shown, bool enabled = true,
                 Tone tone = Tone::Neutral);

// Keeps `height` for what is drawn between construction and destruction (which must fit: a
// single line of text or a row of controls), so that a notice, an error or a badge appearing
// never moves what follows.
class Reserve {
 public:
  explicit Reserve(float height);
  ~Reserve();
  Reserve(const Reserve&) = delete;
  Reserve& operator=(const Reserve&) = delete;

 private:
  ImVec2 start_;
  float height_;
};

// A button-like choice among several (category, back office tab): the chosen one is filled and
// underlined, so the choice is shown by shape as well as by colour.
bool choice_button(FrameLog* log, const char* label, bool chosen, ImVec2 size = {0, 0});

// `s` cut to `width` (one line) or to `lines` wrapped lines of `width`, ending in "..." when cut.
std::string fit_text(std::string s, float width);
std::string fit_lines(std::string s, float width, int lines);

// A row of buttons sharing `width` by weight when each fits its share, else flowing at their
// natural widths. An item that is not shown keeps its place empty. `measure` lists every label
// the slot can show, so that the slot is as wide as the widest (nothing moves when it changes).
struct RowButton {
  const char* label;
  bool shown = true;
  bool enabled = true;
  Tone tone = Tone::Neutral;
  float weight = 1.0f;
  std::initializer_list<std::string_view> measure = {};
};
// Returns the index of the button pressed, or -1.
int button_row(FrameLog* log, std::initializer_list<RowButton> buttons, float width, float height = 0);
float button_row_height(std::initializer_list<RowButton> buttons, float width, float height = 0);

// A modal popup kept in step with the view's own flag: opened when `want_open`, closed (from
// inside, the only place ImGui allows) when not. True when the caller should draw its content and
// call end_modal.
bool modal(FrameLog* log, const char* name, bool want_open);

// Keyboard: Tab with nothing being edited and no popup open puts the cursor in the screen's first
// field (ImGui itself only tabs among the fields of the region that has the focus). Call it just
// before that field.
void tab_into_first_field();

bool key_pressed(int key);
bool enter_pressed();
bool escape_pressed();
// Label left, value right-aligned at `right` (a cursor x in window coordinates).
void total_row(FrameLog* log, std::string_view label, const std::string& value, float right,
               ImFont* font = nullptr);

// The staff offline banner's height for `width` (0 when it is not shown), measured from its lines.
float offline_banner_height(const pos::Model& m, const ViewEnv& env, float width);

// ---- payments --------------------------------------------------------------------------------

Tone attempt_tone(AttemptState s);
Tone phase_tone(PaymentPhase p);
const pos::PaymentAttempt* active_attempt(const pos::Model& m);
// The most recent card attempt (the one a decline/refusal/failure is about once the reducer has
// left it active).
const pos::PaymentAttempt* last_card_attempt(const pos::Model& m);
std::string card_text(const pos::CardDetails& card);
std::string attempt_line(const pos::PaymentAttempt& a, const pos::Currency& fallback);
void tenders_list(const pos::Model& m, const ViewEnv& env);
// Cash given (Enter takes it; empty means the balance), Take cash and, with `with_exact`, Exact
// cash (F4), placed in `flow`. True when it dispatched PayCash. Shared by the payment screen and the sell screen's cash popup.
bool cash_entry(std::array<char, 16>& buf, std::string& input_error, std::int64_t balance, const ViewEnv& env,
                bool enabled, Flow& flow, bool with_exact);

// The sell screen's popups closed (the screen is not shown: a popup must not outlive it).
void close_sell_popups(SellViewState& state, FrameLog* log);

// ---- back office tabs (views_back_office.cpp, views_back_office_info.cpp) ----------------------

void queue_tab(const pos::Model& m, const ViewEnv& env);
void attention_tab(const pos::Model& m, BackOfficeViewState& state, const ViewEnv& env);
void refunds_tab(const pos::Model& m, BackOfficeViewState& state, const ViewEnv& env);
void day_tab(const pos::Model& m, const ViewEnv& env);
void readers_tab(const pos::Model& m, const ViewEnv& env);
void settings_tab(BackOfficeViewState& state, const ViewEnv& env);

}  // namespace till::ui::detail
