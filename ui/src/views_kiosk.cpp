// The frame around every screen: the status bar and the message lines (storage error, the
// reducer's notice), both of a fixed height so that nothing below them moves when a notice
// appears, changes or goes; the staff offline banner (drawn by each screen at the bottom of its
// flexible column); draw_kiosk picks the Model's screen and keeps the clean slate between sales.

#include <algorithm>
#include <string>
#include <vector>

#include "views_common.hpp"

namespace till::ui {

using namespace detail;

namespace {

// One line of the offline banner: an optional badge, then text wrapped beside it.
struct BannerLine {
  std::string badge;  // empty: none
  Tone tone = Tone::Warning;
  std::string text;
};

bool banner_shown(const pos::OfflineStatus& o) {
  return !o.online || o.stored.count > 0 || !o.require_online_reason.empty();
}

std::vector<BannerLine> banner_lines(const pos::Model& m, const ViewEnv& env) {
  const pos::OfflineStatus& o = m.offline;
  const pos::Currency fallback = env.config.catalog.currency();
  std::vector<BannerLine> lines;
  std::string summary = std::to_string(o.stored.count) + " payment" + (o.stored.count == 1 ? "" : "s") +
                        " stored, not yet authorized";
  if (o.stored.oldest) summary += "; oldest " + age_text(env.now - *o.stored.oldest);
  lines.push_back({o.online ? "STORED PAYMENTS (STAFF ONLY)" : "OFFLINE (STAFF ONLY)", Tone::Warning, summary});
  for (const auto& [code, stored] : o.stored.by_currency) {
    lines.push_back({"", Tone::Warning,
                     money(stored.amount, code, fallback) + " in " + std::to_string(stored.count) + " stored"});
  }
  for (const auto& h : o.headroom) {
    std::string line = "Headroom " + money(h.amount, h.currency, fallback) + " / " + std::to_string(h.count) +
                       " more payments";
    if (h.per_transaction_max > 0) line += "; at most " + money(h.per_transaction_max, h.currency, fallback) + " per payment";
    lines.push_back({"", Tone::Warning, line});
  }
  if (!o.require_online_reason.empty()) lines.push_back({"CARDS NEED A CONNECTION", Tone::Bad, o.require_online_reason});
  return lines;
}

float banner_line_height(const BannerLine& line, float width) {
  const float badge_w = line.badge.empty() ? 0.0f : badge_size(line.badge).x + gap();
  const float text_h = ImGui::CalcTextSize(line.text.c_str(), nullptr, false, std::max(1.0f, width - badge_w)).y;
  return std::max(line.badge.empty() ? 0.0f : badge_height(), text_h);
}

float banner_inner_width(float width) { return width - 2 * ImGui::GetStyle().WindowPadding.x; }

// "Till | Front counter | simulated | Simulated reader SIM-001", cut to `width` with "...".
std::string status_title(const pos::Model& m, const ViewEnv& env, float width) {
  // The mode without its detail (the simulator's address is in the settings).
  const std::string& mode = env.config.mode;
  const std::string& reg = env.config.register_name.empty() ? env.config.register_id : env.config.register_name;
  std::string title = "Till  |  " + reg + "  |  " + mode.substr(0, mode.find(" ("));
  if (m.reader.connected && !m.reader.label.empty()) title += "  |  " + m.reader.label;
  return fit_text(title, width);
}

// The storage error, then the notice: a word badge each and text wrapped beside it, cut to the
// two lines the area keeps.
void message_lines(const pos::Model& m, const ViewEnv& env) {
  const float lines_h = 2 * ImGui::GetFontSize();
  const float width = ImGui::GetContentRegionAvail().x;
  begin_fixed_region("messages", ImVec2(width, std::max(lines_h, badge_height())));
  struct Message {
    std::string word;
    Tone tone;
    std::string text;
  };
  std::vector<Message> messages;
  if (!m.storage_error.empty()) messages.push_back({"X STORAGE ERROR", Tone::Bad, m.storage_error + ": call a manager"});
  if (!m.notice.text.empty()) {
    const bool error = m.notice.level == pos::NoticeLevel::Error;
    const bool warning = m.notice.level == pos::NoticeLevel::Warning;
    messages.push_back({error ? "ERROR" : warning ? "NOTE" : "INFO", error ? Tone::Bad : warning ? Tone::Warning : Tone::Info,
                        m.notice.text});
  }
  const float badge_w = std::max({badge_size("X STORAGE ERROR").x, badge_size("ERROR").x, badge_size("NOTE").x,
                                  badge_size("INFO").x});
  const float text_x = badge_w + gap();
  const float text_w = width - text_x;
  const int max_lines = messages.size() > 1 ? 1 : 2;  // both: a line each
  float y = 0;
  for (const Message& msg : messages) {
    ImGui::SetCursorPos(ImVec2(0, y));
    badge(env.log, msg.word, msg.tone, badge_w);
    ImGui::SetCursorPos(ImVec2(text_x, y + (badge_height() - ImGui::GetFontSize()) * 0.5f));
    ImGui::PushTextWrapPos(text_x + text_w);
    text(env.log, fit_lines(msg.text, text_w, max_lines));
    ImGui::PopTextWrapPos();
    y += ImGui::GetFontSize() * static_cast<float>(max_lines);
  }
  end_fixed_region();
}

}  // namespace

float detail::offline_banner_height(const pos::Model& m, const ViewEnv& env, float width) {
  if (!banner_shown(m.offline)) return 0.0f;
  const float inner = banner_inner_width(width);
  float h = 2 * ImGui::GetStyle().WindowPadding.y;
  const auto lines = banner_lines(m, env);
  for (const BannerLine& line : lines) h += banner_line_height(line, inner);
  h += vgap() * static_cast<float>(lines.size() - 1);
  // A banner of many currencies scrolls rather than squeezing the screen's own region away.
  const float cap = ImGui::GetIO().DisplaySize.y * 0.3f;
  return std::min(h, cap);
}

void draw_offline_banner(const pos::Model& m, const ViewEnv& env) {
  const float width = ImGui::GetContentRegionAvail().x;
  const float height = offline_banner_height(m, env, width);
  if (height <= 0) return;
  ImGui::PushStyleColor(ImGuiCol_ChildBg, palette::kBanner);
  ImGui::BeginChild("offline_banner", ImVec2(width, height), true, kPanel);
  for (const BannerLine& line : banner_lines(m, env)) {
    if (!line.badge.empty()) {
      badge(env.log, line.badge, line.tone);
      ImGui::SameLine();
      // Text beside a badge sits on the badge's middle.
      ImGui::SetCursorPosY(ImGui::GetCursorPosY() + (badge_height() - ImGui::GetFontSize()) * 0.5f);
    }
    wrapped_text(env.log, line.text);
  }
  ImGui::EndChild();
  ImGui::PopStyleColor();
}

// Laid out from the right edge: the manager button, then the connectivity, reader and database
// badges, each as wide as the widest word it can show, so none of them moves when its state
// changes; the title gets what is left and is cut to fit.
void draw_status_bar(const pos::Model& m, ViewState& state, const ViewEnv& env) {
  const ImVec2 start = ImGui::GetCursorPos();
  const float h = touch_size();
  const float right = ImGui::GetWindowContentRegionMax().x;
  const float manager_w = widest_button({"Manager (F9)", "Close back office"});
  const float online_w = std::max(badge_size("ONLINE").x, badge_size("OFFLINE").x);
  const float reader_w = std::max(badge_size("READER OK").x, badge_size("NO READER").x);
  const float manager_x = right - manager_w;
  const float online_x = manager_x - gap() - online_w;
  const float reader_x = online_x - gap() - reader_w;
  const float checking_x = reader_x - gap() - badge_size("CHECKING DATABASE").x;
  const bool checking = m.store_check == pos::StoreCheck::Checking;  // a failed check is the storage error
  const float title_w = (checking ? checking_x : reader_x) - gap() - start.x;

  ImGui::SetCursorPos(ImVec2(start.x, start.y + (h - ImGui::GetFontSize()) * 0.5f));
  text(env.log, status_title(m, env, title_w));
  if (checking) {
    ImGui::SetCursorPos(ImVec2(checking_x, start.y));
    badge(env.log, "CHECKING DATABASE", Tone::Warning, 0, h);
  }
  ImGui::SetCursorPos(ImVec2(reader_x, start.y));
  badge(env.log, m.reader.connected ? "READER OK" : "NO READER", m.reader.connected ? Tone::Good : Tone::Bad, reader_w, h);
  ImGui::SetCursorPos(ImVec2(online_x, start.y));
  badge(env.log, m.offline.online ? "ONLINE" : "OFFLINE", m.offline.online ? Tone::Good : Tone::Warning, online_w, h);
  ImGui::SetCursorPos(ImVec2(manager_x, start.y));
  if (m.screen == pos::Screen::BackOffice) {
    if (touch_button(env.log, "Close back office", ImVec2(manager_w, h))) env.dispatch(pos::CloseBackOffice{});
  } else if (touch_button(env.log, "Manager (F9)", ImVec2(manager_w, h)) || key_pressed(kKeyF9)) {
    state.back_office.pin_prompt_open = true;
  }
  ImGui::SetCursorPos(start);
  ImGui::Dummy(ImVec2(right - start.x, h));
}

void start_clean_slate(ViewState& state) {
  state.sell = SellViewState{};
  state.payment = PaymentViewState{};
  state.receipt = ReceiptViewState{};
  state.sale_seen = false;
}

void draw_kiosk(const pos::Model& m, ViewState& state, const ViewEnv& env) {
  // A sale ended (new sale, void) when the Model is back to an empty sell screen after one.
  const bool empty_sell = m.screen == pos::Screen::Sell && !m.sale && m.cart.lines.empty();
  if (empty_sell && state.sale_seen) start_clean_slate(state);
  if (m.sale) state.sale_seen = true;

  ImGuiIO& io = ImGui::GetIO();
  io.FontGlobalScale = state.back_office.font_scale;
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(io.DisplaySize);
  constexpr ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                     ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus |
                                     ImGuiWindowFlags_NoScrollWithMouse;
  ImGui::Begin("Till##kiosk", nullptr, flags);
  draw_status_bar(m, state, env);
  message_lines(m, env);
  ImGui::Separator();
  if (m.screen != pos::Screen::Sell) close_sell_popups(state.sell, env.log);
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
