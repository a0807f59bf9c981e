// The frame around every screen: the status bar, the staff offline banner, the storage error and
// the reducer's notice; draw_kiosk picks the Model's screen.

#include <algorithm>
#include <string>

#include "views_common.hpp"

namespace till::ui {

using namespace detail;

// ---- status bar, banners -----------------------------------------------------------------------

void draw_status_bar(const pos::Model& m, ViewState& state, const ViewEnv& env) {
  // The mode without its detail (the simulator's address is in the settings): the bar must fit.
  const std::string& mode = env.config.mode;
  text(env.log, "Till  |  register " + env.config.register_id + "  |  " + mode.substr(0, mode.find(" (")));
  ImGui::SameLine();
  if (m.reader.connected) {
    badge(env.log, "READER OK", Tone::Good);
    ImGui::SameLine();
    text(env.log, m.reader.label);
  } else {
    badge(env.log, "NO READER", Tone::Bad);
  }
  ImGui::SameLine();
  badge(env.log, m.offline.online ? "ONLINE" : "OFFLINE", m.offline.online ? Tone::Good : Tone::Warning);
  if (m.store_check == pos::StoreCheck::Checking) {  // a failed check shows as the storage error
    ImGui::SameLine();
    badge(env.log, "CHECKING DATABASE", Tone::Warning);
  }
  const float button_w = 230.0f * ImGui::GetFontSize() / 20.0f;
  // Right-aligned, but never over the badges (a long reader label pushes it right instead).
  const float after_badges = ImGui::GetItemRectMax().x - ImGui::GetWindowPos().x + ImGui::GetStyle().ItemSpacing.x;
  ImGui::SameLine(std::max(after_badges, ImGui::GetWindowContentRegionMax().x - button_w));
  if (m.screen == pos::Screen::BackOffice) {
    if (touch_button(env.log, "Close back office", ImVec2(button_w, 0))) env.dispatch(pos::CloseBackOffice{});
  } else if (touch_button(env.log, "Manager (F9)", ImVec2(button_w, 0)) || key_pressed(kKeyF9)) {
    state.back_office.pin_prompt_open = true;
  }
}

void draw_offline_banner(const pos::Model& m, const ViewEnv& env) {
  const pos::OfflineStatus& o = m.offline;
  if (o.online && o.stored.count == 0 && o.require_online_reason.empty()) return;
  const pos::Currency fallback = env.config.catalog.currency();
  ImGui::PushStyleColor(ImGuiCol_ChildBg, ImVec4(0.25f, 0.20f, 0.05f, 1.0f));
  const float lines = static_cast<float>(o.stored.by_currency.size() + o.headroom.size());
  const float badges = o.require_online_reason.empty() ? 1.0f : 2.0f;
  ImGui::BeginChild("offline_banner",
                    ImVec2(0, ImGui::GetTextLineHeightWithSpacing() * lines + ImGui::GetFrameHeightWithSpacing() * badges +
                                  ImGui::GetStyle().WindowPadding.y * 2),
                    true, kPanel);
  badge(env.log, o.online ? "STORED PAYMENTS (STAFF ONLY)" : "OFFLINE (STAFF ONLY)", Tone::Warning);
  ImGui::SameLine();
  std::string summary = std::to_string(o.stored.count) + " payment" + (o.stored.count == 1 ? "" : "s") +
                        " stored, not yet authorized";
  if (o.stored.oldest) summary += "; oldest " + age_text(env.now - *o.stored.oldest);
  text(env.log, summary);
  for (const auto& [code, stored] : o.stored.by_currency) {
    text(env.log, "  " + money(stored.amount, code, fallback) + " in " + std::to_string(stored.count) + " stored");
  }
  for (const auto& h : o.headroom) {
    std::string line = "  Headroom " + money(h.amount, h.currency, fallback) + " / " + std::to_string(h.count) +
                       " more payments";
    if (h.per_transaction_max > 0) line += "; at most " + money(h.per_transaction_max, h.currency, fallback) + " per payment";
    text(env.log, line);
  }
  if (!o.require_online_reason.empty()) {
    badge(env.log, "CARDS NEED A CONNECTION", Tone::Bad);
    ImGui::SameLine();
    text(env.log, o.require_online_reason);
  }
  ImGui::EndChild();
  ImGui::PopStyleColor();
}

void draw_kiosk(const pos::Model& m, ViewState& state, const ViewEnv& env) {
  ImGuiIO& io = ImGui::GetIO();
  io.FontGlobalScale = state.back_office.font_scale;
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(io.DisplaySize);
  constexpr ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                     ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus;
  ImGui::Begin("Till##kiosk", nullptr, flags);
  draw_status_bar(m, state, env);
  draw_offline_banner(m, env);
  if (!m.storage_error.empty()) {
    badge(env.log, "X STORAGE ERROR", Tone::Bad);
    ImGui::SameLine();
    text(env.log, m.storage_error + ": call a manager");
  }
  if (!m.notice.text.empty()) {
    const Tone tone = m.notice.level == pos::NoticeLevel::Error     ? Tone::Bad
                      : m.notice.level == pos::NoticeLevel::Warning ? Tone::Warning
                                                                    : Tone::Info;
    badge(env.log, m.notice.level == pos::NoticeLevel::Error     ? "ERROR"
                   : m.notice.level == pos::NoticeLevel::Warning ? "NOTE"
                                                                 : "INFO",
          tone);
    ImGui::SameLine();
    text(env.log, m.notice.text);
  }
  ImGui::Separator();
  switch (m.screen) {
    case pos::Screen::Sell: draw_sell(m, state.sell, env); break;
    case pos::Screen::Payment: draw_payment(m, state.payment, env); break;
    case pos::Screen::Receipt: draw_receipt(m, state.receipt, env); break;
    case pos::Screen::BackOffice: draw_back_office(m, state.back_office, env); break;
  }
  draw_pin_prompt(state.back_office, env);
  ImGui::End();
}


}  // namespace till::ui
