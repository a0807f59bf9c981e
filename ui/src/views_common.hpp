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

// A text field recorded in the frame log (tests click it, then type).
template <std::size_t N>
bool field(FrameLog* log, const char* id, const char* hint, std::array<char, N>& buf, float width,
           ImGuiInputTextFlags flags = 0) {
  ImGui::SetNextItemWidth(width);
  const bool result = ImGui::InputTextWithHint(id, hint, buf.data(), N, flags);
  if (log != nullptr) {
    // Fields are found by their hint ("Card amount"); the typed text is not logged (PINs).
    const std::string_view visible = visible_label(id);
    log->add({LoggedItem::Kind::Input, std::string(visible.empty() ? std::string_view(hint) : visible),
              ImGui::GetItemRectMin(), ImGui::GetItemRectMax(), true});
  }
  return result;
}


// ---- widgets ---------------------------------------------------------------------------------

// A tab whose header is recorded like a button (BeginTabItem leaves the tab as the last item).
bool tab(FrameLog* log, const char* label);
bool key_pressed(int key);
bool enter_pressed();
// Label/value row for totals.
void total_row(FrameLog* log, std::string_view label, const std::string& value, float value_x,
               ImFont* font = nullptr);

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
// Cash entry shared by the sell and payment screens. Returns after dispatching PayCash.
void cash_entry(std::array<char, 16>& buf, std::string& input_error, std::int64_t balance, const ViewEnv& env,
                bool enabled);

// ---- back office tabs (views_back_office.cpp, views_back_office_info.cpp) ----------------------

void queue_tab(const pos::Model& m, const ViewEnv& env);
void attention_tab(const pos::Model& m, BackOfficeViewState& state, const ViewEnv& env);
void refunds_tab(const pos::Model& m, BackOfficeViewState& state, const ViewEnv& env);
void day_tab(const pos::Model& m, const ViewEnv& env);
void readers_tab(const pos::Model& m, const ViewEnv& env);
void settings_tab(BackOfficeViewState& state, const ViewEnv& env);

}  // namespace till::ui::detail
