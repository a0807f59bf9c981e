// Drawing helpers the screens share, and the state labels views.hpp exports.

#include "views_common.hpp"

#include <cctype>
#include <cstdio>
#include <vector>

#include "till/ui/input_parse.hpp"

namespace till::ui {
namespace detail {

pos::Currency currency_of(const std::string& code, const pos::Currency& fallback) {
  auto c = pos::Currency::parse(code);
  return c ? *c : fallback;
}

std::string money(std::int64_t minor, const pos::Currency& c) { return pos::Money(minor, c).format(); }

std::string money(std::int64_t minor, const std::string& code, const pos::Currency& fallback) {
  return money(minor, currency_of(code, fallback));
}

std::string percent_text(std::int64_t ppm) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%%", static_cast<double>(ppm) / 10'000.0);  // display only
  return buf;
}

std::string upper_words(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool key_pressed(int key) {
  return key >= 0 && key < 512 && ImGui::IsKeyPressed(key, false);
}

bool enter_pressed() {
  return key_pressed(ImGui::GetKeyIndex(ImGuiKey_Enter)) ||
         key_pressed(ImGui::GetKeyIndex(ImGuiKey_KeyPadEnter));
}

void tab_into_first_field() {
  if (!ImGui::IsAnyItemActive() && !ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId) &&
      key_pressed(ImGui::GetKeyIndex(ImGuiKey_Tab)) && !ImGui::GetIO().KeyShift) {
    ImGui::SetKeyboardFocusHere();
  }
}

bool escape_pressed() { return key_pressed(ImGui::GetKeyIndex(ImGuiKey_Escape)); }

void total_row(FrameLog* log, std::string_view label, const std::string& value, float right, ImFont* font) {
  if (font != nullptr) ImGui::PushFont(font);
  text(log, label);
  // Right-aligned values line up in a column whatever their length; never over the label.
  const float label_end = ImGui::GetItemRectMax().x - ImGui::GetWindowPos().x + gap();
  ImGui::SameLine(std::max(label_end, right - text_width(value)));
  text(log, value);
  if (font != nullptr) ImGui::PopFont();
}

// ---- layout ----------------------------------------------------------------------------------

float gap() { return ImGui::GetStyle().ItemSpacing.x; }
float vgap() { return ImGui::GetStyle().ItemSpacing.y; }

float text_width(std::string_view s) { return ImGui::CalcTextSize(s.data(), s.data() + s.size()).x; }

float row_pitch() { return ImGui::GetFrameHeightWithSpacing(); }
float line_pitch() { return ImGui::GetTextLineHeightWithSpacing(); }

float field_width(std::string_view hint, std::string_view sample) {
  return std::max(text_width(hint), text_width(sample)) + 2 * ImGui::GetStyle().FramePadding.x;
}

float widest_button(std::initializer_list<std::string_view> labels) {
  float w = 0;
  for (std::string_view l : labels) w = std::max(w, touch_button_size(l).x);
  return w;
}

Flow::Flow(float width) : left_(ImGui::GetCursorPosX()), right_(ImGui::GetCursorPosX() + width) {}

void Flow::next(float item_width) {
  if (!first_) {
    const float end = ImGui::GetItemRectMax().x - ImGui::GetWindowPos().x + ImGui::GetScrollX();
    if (end + gap() + item_width <= right_ + 0.5f) {
      ImGui::SameLine();
    } else {
      ImGui::SetCursorPosX(left_);
    }
  }
  first_ = false;
}

int Flow::rows(std::initializer_list<float> widths, float width) {
  int rows = 0;
  float x = 0;
  for (float w : widths) {
    if (rows == 0 || x + gap() + w > width + 0.5f) {
      ++rows;
      x = w;
    } else {
      x += gap() + w;
    }
  }
  return rows;
}

bool slot_button(FrameLog* log, const char* label, ImVec2 size, bool shown, bool enabled, Tone tone) {
  if (shown) return touch_button(log, label, size, enabled, tone);
  const ImVec2 fit = touch_button_size(label);
  ImGui::Dummy(ImVec2(size.x > 0 ? size.x : fit.x, size.y > 0 ? size.y : fit.y));
  return false;
}

namespace {

void pop_utf8(std::string& s) {
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty()) s.pop_back();
}

}  // namespace

std::string fit_text(std::string s, float width) {
  if (text_width(s) <= width) return s;
  while (!s.empty() && text_width(s + "...") > width) pop_utf8(s);
  return s + "...";
}

std::string fit_lines(std::string s, float width, int lines) {
  const float limit = ImGui::GetFontSize() * static_cast<float>(lines) + 0.5f;
  auto height = [&](const std::string& t) { return ImGui::CalcTextSize(t.c_str(), nullptr, false, width).y; };
  if (height(s) <= limit) return s;
  while (!s.empty() && height(s + "...") > limit) pop_utf8(s);
  return s + "...";
}

namespace {

// The widths button_row gives each item: shares of `width` when all fit, else natural widths.
std::vector<float> row_widths(std::initializer_list<RowButton> buttons, float width, bool& shared) {
  float weights = 0;
  for (const RowButton& b : buttons) weights += b.weight;
  const float free = width - gap() * static_cast<float>(buttons.size() - 1);
  std::vector<float> natural;
  shared = true;
  for (const RowButton& b : buttons) {
    float w = touch_button_size(b.label).x;
    for (std::string_view alt : b.measure) w = std::max(w, touch_button_size(alt).x);
    natural.push_back(w);
    if (w > free * b.weight / weights + 0.5f) shared = false;
  }
  if (!shared) return natural;
  std::vector<float> widths;
  for (const RowButton& b : buttons) widths.push_back(free * b.weight / weights);
  return widths;
}

}  // namespace

int button_row(FrameLog* log, std::initializer_list<RowButton> buttons, float width, float height) {
  bool shared = false;
  const std::vector<float> widths = row_widths(buttons, width, shared);
  Flow flow(width);
  int pressed = -1;
  int i = 0;
  for (const RowButton& b : buttons) {
    const float w = widths[static_cast<std::size_t>(i)];
    flow.next(w);
    if (slot_button(log, b.label, ImVec2(w, height), b.shown, b.enabled, b.tone)) pressed = i;
    ++i;
  }
  return pressed;
}

float button_row_height(std::initializer_list<RowButton> buttons, float width, float height) {
  bool shared = false;
  const std::vector<float> widths = row_widths(buttons, width, shared);
  int rows = 1;
  if (!shared) {
    float x = 0;
    rows = 0;
    for (float w : widths) {
      if (rows == 0 || x + gap() + w > width + 0.5f) {
        ++rows;
        x = w;
      } else {
        x += gap() + w;
      }
    }
  }
  const float h = std::max(height, touch_size());
  return static_cast<float>(rows) * h + static_cast<float>(rows - 1) * vgap();
}

bool modal(FrameLog* log, const char* name, bool want_open) {
  const bool open = ImGui::IsPopupOpen(name);
  if (want_open && !open) ImGui::OpenPopup(name);
  if (!want_open && !open) return false;
  if (!begin_modal(log, name)) return false;
  if (!want_open) {
    ImGui::CloseCurrentPopup();
    end_modal(log);
    return false;
  }
  return true;
}

Reserve::Reserve(float height) : start_(ImGui::GetCursorPos()), height_(height) {}

Reserve::~Reserve() {
  ImGui::SetCursorPos(start_);
  ImGui::Dummy(ImVec2(0.0f, height_));
}

bool choice_button(FrameLog* log, const char* label, bool chosen, ImVec2 size) {
  if (chosen) {
    ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_Header));
    ImGui::PushStyleColor(ImGuiCol_ButtonHovered, ImGui::GetStyleColorVec4(ImGuiCol_HeaderHovered));
  }
  const bool pressed = touch_button(log, label, size);
  if (chosen) {
    ImGui::PopStyleColor(2);
    const ImVec2 min = ImGui::GetItemRectMin();
    const ImVec2 max = ImGui::GetItemRectMax();
    const float bar = std::max(2.0f, ImGui::GetStyle().FramePadding.y * 0.3f);
    ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(min.x, max.y - bar), max,
                                              ImGui::GetColorU32(ImGuiCol_Text));
  }
  return pressed;
}

Tone attempt_tone(AttemptState s) {
  switch (s) {
    case AttemptState::Approved: return Tone::Good;
    case AttemptState::StoredOffline: return Tone::Info;
    case AttemptState::InDoubt: return Tone::Warning;
    case AttemptState::Declined:
    case AttemptState::DeclinedAfterForward: return Tone::Bad;
    case AttemptState::Collecting:
    case AttemptState::Submitting: return Tone::Info;
    case AttemptState::Canceled: break;
  }
  return Tone::Neutral;
}

Tone phase_tone(PaymentPhase p) {
  switch (p) {
    case PaymentPhase::InDoubt: return Tone::Warning;
    case PaymentPhase::Declined:
    case PaymentPhase::Refused:
    case PaymentPhase::Failed: return Tone::Bad;
    case PaymentPhase::Collecting:
    case PaymentPhase::Canceling:
    case PaymentPhase::Authorizing: return Tone::Info;
    case PaymentPhase::None: break;
  }
  return Tone::Neutral;
}

const pos::PaymentAttempt* active_attempt(const pos::Model& m) {
  return m.active_attempt_id ? pos::find_attempt(m, *m.active_attempt_id) : nullptr;
}

const pos::PaymentAttempt* last_card_attempt(const pos::Model& m) {
  for (auto it = m.attempts.rbegin(); it != m.attempts.rend(); ++it) {
    if (it->tender == pos::TenderKind::Card) return &*it;
  }
  return nullptr;
}

std::string card_text(const pos::CardDetails& card) {
  if (card.brand.empty() && card.last4.empty()) return {};
  std::string s = card.brand.empty() ? "card" : card.brand;
  if (!card.last4.empty()) s += " ending " + card.last4;
  return s;
}

std::string attempt_line(const pos::PaymentAttempt& a, const pos::Currency& fallback) {
  std::string s = "#" + std::to_string(a.number) + " ";
  s += a.tender == pos::TenderKind::Cash ? "cash" : "card";
  const std::string card = card_text(a.card);
  if (!card.empty()) s += " (" + card + ")";
  s += "  " + money(a.amount, a.currency, fallback);
  if (a.offline) s += "  stored offline";
  return s;
}

void tenders_list(const pos::Model& m, const ViewEnv& env) {
  if (m.attempts.empty()) return;
  text(env.log, "Tenders for this sale:");
  for (const auto& a : m.attempts) {
    badge(env.log, attempt_label(a.state), attempt_tone(a.state));
    ImGui::SameLine();
    ImGui::SetCursorPosY(ImGui::GetCursorPosY() + (badge_height() - ImGui::GetFontSize()) * 0.5f);
    wrapped_text(env.log, attempt_line(a, env.config.catalog.currency()));
  }
}

bool cash_entry(std::array<char, 16>& buf, std::string& input_error, std::int64_t balance, const ViewEnv& env,
                bool enabled, Flow& flow, bool with_exact) {
  const pos::Currency cur = env.config.catalog.currency();
  const float w = field_width("Cash given", "00000.00");
  flow.next(w);
  const bool entered = field(env.log, "##cash", "Cash given", buf, w);
  flow.next(touch_button_size("Take cash").x);
  if ((touch_button(env.log, "Take cash", ImVec2(0, 0), enabled) || (entered && enabled))) {
    auto amount = std::string_view(buf.data()).empty() ? Result<std::int64_t>(balance) : parse_amount(buf.data(), cur);
    if (amount) {
      env.dispatch(pos::PayCash{*amount});
      clear(buf);
      input_error.clear();
      return true;
    }
    input_error = amount.error().message;
  }
  if (!with_exact) return false;
  flow.next(touch_button_size("Exact cash (F4)").x);
  if (touch_button(env.log, "Exact cash (F4)", ImVec2(0, 0), enabled) || (enabled && key_pressed(kKeyF4))) {
    env.dispatch(pos::PayCash{balance});
    return true;
  }
  return false;
}

}  // namespace detail

using namespace detail;

// ---- labels --------------------------------------------------------------------------------------

std::string phase_label(pos::PaymentPhase phase) {
  switch (phase) {
    case PaymentPhase::None: return "READY";
    case PaymentPhase::Collecting: return ">> WAITING FOR CARD";
    case PaymentPhase::Canceling: return ".. CANCELING";
    case PaymentPhase::Authorizing: return ".. AUTHORIZING";
    case PaymentPhase::InDoubt: return "?? OUTCOME UNKNOWN";
    case PaymentPhase::Declined: return "X DECLINED";
    case PaymentPhase::Refused: return "X REFUSED OFFLINE";
    case PaymentPhase::Failed: return "! READER FAILED";
  }
  return "?";
}

std::string attempt_label(pos::AttemptState state) {
  switch (state) {
    case AttemptState::Collecting: return ">> collecting";
    case AttemptState::StoredOffline: return "~ stored offline";
    case AttemptState::Submitting: return ".. submitting";
    case AttemptState::InDoubt: return "?? in doubt";
    case AttemptState::Approved: return "OK approved";
    case AttemptState::Declined: return "X declined";
    case AttemptState::DeclinedAfterForward: return "X declined after forward";
    case AttemptState::Canceled: return "- canceled";
  }
  return "?";
}

std::string age_text(std::chrono::milliseconds age) {
  using namespace std::chrono;
  const auto s = std::max<std::int64_t>(0, duration_cast<seconds>(age).count());
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) return std::to_string(s / 60) + " min";
  if (s < 86'400) return std::to_string(s / 3600) + " h " + std::to_string((s % 3600) / 60) + " min";
  return std::to_string(s / 86'400) + " d " + std::to_string((s % 86'400) / 3600) + " h";
}

}  // namespace till::ui
