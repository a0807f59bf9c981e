// Drawing helpers the screens share, and the state labels views.hpp exports.

#include "views_common.hpp"

#include <cctype>
#include <cstdio>

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

bool tab(FrameLog* log, const char* label) {
  const bool open = ImGui::BeginTabItem(label);
  if (log != nullptr) {
    log->add({LoggedItem::Kind::Button, std::string(visible_label(label)), ImGui::GetItemRectMin(),
              ImGui::GetItemRectMax(), true});
  }
  return open;
}

bool key_pressed(int key) {
  return key >= 0 && key < 512 && ImGui::IsKeyPressed(key, false);
}

bool enter_pressed() {
  return key_pressed(ImGui::GetKeyIndex(ImGuiKey_Enter)) ||
         key_pressed(ImGui::GetKeyIndex(ImGuiKey_KeyPadEnter));
}


void total_row(FrameLog* log, std::string_view label, const std::string& value, float value_x, ImFont* font) {
  if (font != nullptr) ImGui::PushFont(font);
  text(log, label);
  ImGui::SameLine(value_x);
  text(log, value);
  if (font != nullptr) ImGui::PopFont();
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
    text(env.log, attempt_line(a, env.config.catalog.currency()));
  }
}

// Cash entry shared by the sell and payment screens. Returns after dispatching PayCash.
void cash_entry(std::array<char, 16>& buf, std::string& input_error, std::int64_t balance, const ViewEnv& env,
                bool enabled) {
  const pos::Currency cur = env.config.catalog.currency();
  field(env.log, "##cash", "Cash given", buf, 120);
  ImGui::SameLine();
  if (touch_button(env.log, "Cash", ImVec2(0, 0), enabled)) {
    auto amount = std::string_view(buf.data()).empty() ? Result<std::int64_t>(balance) : parse_amount(buf.data(), cur);
    if (amount) {
      env.dispatch(pos::PayCash{*amount});
      clear(buf);
      input_error.clear();
    } else {
      input_error = amount.error().message;
    }
  }
  ImGui::SameLine();
  if (touch_button(env.log, "Exact cash (F4)", ImVec2(0, 0), enabled) || (enabled && key_pressed(kKeyF4))) {
    env.dispatch(pos::PayCash{balance});
  }
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
