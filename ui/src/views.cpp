#include "till/ui/views.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <string>

#include "till/ui/input_parse.hpp"

namespace till::ui {
namespace {

using pos::AttemptState;
using pos::PaymentPhase;

constexpr ImGuiWindowFlags kPanel = ImGuiWindowFlags_NoSavedSettings;

// ---- small helpers ---------------------------------------------------------------------------

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

// A tab whose header is recorded like a button (BeginTabItem leaves the tab as the last item).
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

// Label/value row for totals.
void total_row(FrameLog* log, std::string_view label, const std::string& value, float value_x,
               ImFont* font = nullptr) {
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

// The most recent card attempt (the one a decline/refusal/failure is about once the reducer has
// left it active).
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

// ---- sell screen pieces ----------------------------------------------------------------------

// Greedy word wrap to `width` pixels, at most two lines (tiles are big but not unlimited).
std::string wrap_label(const std::string& name, float width) {
  std::string out;
  std::string line;
  int lines = 1;
  std::size_t i = 0;
  while (i < name.size()) {
    std::size_t j = name.find(' ', i);
    if (j == std::string::npos) j = name.size();
    const std::string word = name.substr(i, j - i);
    const std::string candidate = line.empty() ? word : line + " " + word;
    if (!line.empty() && ImGui::CalcTextSize(candidate.c_str()).x > width && lines < 2) {
      out += line + "\n";
      line = word;
      ++lines;
    } else {
      line = candidate;
    }
    i = j + 1;
  }
  return out + line;
}

// Case-insensitive substring test without allocating: it runs for every product every frame.
bool icontains(std::string_view haystack, std::string_view needle_lower) {
  if (needle_lower.empty()) return true;
  return std::search(haystack.begin(), haystack.end(), needle_lower.begin(), needle_lower.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         }) != haystack.end();
}

bool matches(const pos::Product& p, const std::string& needle) {
  if (needle.empty()) return true;
  return icontains(p.name, needle) || icontains(p.sku, needle) || p.barcode.find(needle) != std::string::npos;
}

void wedge_scanner(SellViewState& state, const ViewEnv& env) {
  // A keyboard-wedge scanner "types" digits then Enter. When no text field has focus those keys
  // would go nowhere, so the sell screen collects them itself. Never while a popup (the PIN pad)
  // is open: a PIN must not end up in a barcode.
  if (ImGui::IsAnyItemActive() || ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId)) return;
  ImGuiIO& io = ImGui::GetIO();
  for (ImWchar c : io.InputQueueCharacters) {
    if (c >= '0' && c <= '9' && state.wedge.size() < 32) state.wedge += static_cast<char>(c);
  }
  if (enter_pressed() && !state.wedge.empty()) {
    env.dispatch(pos::ScanBarcode{state.wedge});
    state.wedge.clear();
  }
  if (key_pressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) state.wedge.clear();
}

void product_grid(const pos::Model&, SellViewState& state, const ViewEnv& env) {
  const pos::Catalog& catalog = env.config.catalog;
  const auto& categories = catalog.categories();
  std::string category_id;
  if (ImGui::BeginTabBar("categories")) {
    if (tab(env.log, "All")) {
      state.category = 0;
      ImGui::EndTabItem();
    }
    for (std::size_t i = 0; i < categories.size(); ++i) {
      const std::string label = categories[i].name + "##cat" + categories[i].id;
      if (tab(env.log, label.c_str())) {
        state.category = static_cast<int>(i) + 1;
        ImGui::EndTabItem();
      }
    }
    ImGui::EndTabBar();
  }
  if (state.category > 0 && static_cast<std::size_t>(state.category) <= categories.size()) {
    category_id = categories[static_cast<std::size_t>(state.category) - 1].id;
  }
  const std::string needle = lower(state.search.data());
  std::vector<const pos::Product*> shown;
  shown.reserve(catalog.products().size());
  for (const auto& p : catalog.products()) {
    if ((category_id.empty() || p.category == category_id) && matches(p, needle)) shown.push_back(&p);
  }

  ImGui::BeginChild("grid", ImVec2(0, 0), false, kPanel);
  const float scale = ImGui::GetFontSize() / 20.0f;
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  const float min_tile = 150.0f * scale;  // >= 9 mm wide at typical kiosk DPI
  const float avail_w = ImGui::GetContentRegionAvail().x;
  const int columns = std::max(1, static_cast<int>((avail_w + spacing) / (min_tile + spacing)));
  const ImVec2 tile((avail_w - spacing * static_cast<float>(columns - 1)) / static_cast<float>(columns), 84.0f * scale);
  const int rows = (static_cast<int>(shown.size()) + columns - 1) / columns;
  ImGuiListClipper clipper;  // a 1,000-product catalog draws only the visible rows
  clipper.Begin(rows, tile.y + ImGui::GetStyle().ItemSpacing.y);
  while (clipper.Step()) {
    for (int row = clipper.DisplayStart; row < clipper.DisplayEnd; ++row) {
      for (int col = 0; col < columns; ++col) {
        const std::size_t i = static_cast<std::size_t>(row * columns + col);
        if (i >= shown.size()) break;
        const pos::Product& p = *shown[i];
        if (col > 0) ImGui::SameLine();
        const std::string label = wrap_label(p.name, tile.x - 2 * ImGui::GetStyle().FramePadding.x) + "\n" +
                                  pos::Money(p.price, catalog.currency()).amount_string() + "##p" + p.id;
        if (touch_button(env.log, label.c_str(), tile)) env.dispatch(pos::AddProduct{p.id, 1});
      }
    }
  }
  if (shown.empty()) text(env.log, "No product matches.");
  ImGui::EndChild();
}

void cart_table(const pos::Model& m, SellViewState& state, const ViewEnv& env, bool editable, float height) {
  const pos::Currency cur = env.config.catalog.currency();
  ImGui::BeginChild("cart_lines", ImVec2(0, height), true, kPanel);
  if (m.cart.lines.empty()) text(env.log, "Cart is empty: tap a product or scan a barcode.");
  if (!m.cart.lines.empty() &&
      ImGui::BeginTable("cart", 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
    ImGui::TableSetupColumn("Item", ImGuiTableColumnFlags_WidthStretch, 3.0f);
    ImGui::TableSetupColumn("Qty", ImGuiTableColumnFlags_WidthStretch, 2.0f);
    ImGui::TableSetupColumn("Discount", ImGuiTableColumnFlags_WidthStretch, 1.3f);
    ImGui::TableSetupColumn("Total", ImGuiTableColumnFlags_WidthStretch, 1.5f);
    ImGui::TableHeadersRow();
    for (std::size_t i = 0; i < m.cart.lines.size(); ++i) {
      const pos::CartLine& line = m.cart.lines[i];
      const pos::SaleLine* computed = i < m.totals.lines.size() ? &m.totals.lines[i] : nullptr;
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      const bool selected = state.selected_line == static_cast<int>(i);
      const std::string sel = (selected ? "> " : "") + line.name + "##line" + std::to_string(i);
      if (ImGui::Selectable(sel.c_str(), selected, ImGuiSelectableFlags_None, ImVec2(0, ImGui::GetFrameHeight()))) {
        state.selected_line = selected ? -1 : static_cast<int>(i);
        set_text(state.quantity, std::to_string(line.quantity));
        clear(state.line_discount);
      }
      if (env.log != nullptr) {
        // "line: Latte", so a script's "tap Latte" still means the product tile.
        env.log->add({LoggedItem::Kind::Button, "line: " + line.name, ImGui::GetItemRectMin(), ImGui::GetItemRectMax(), true});
      }
      ImGui::TableNextColumn();
      const std::string minus = "-##q" + std::to_string(i);
      const std::string plus = "+##q" + std::to_string(i);
      if (touch_button(env.log, minus.c_str(), ImVec2(ImGui::GetFrameHeight() * 1.3f, 0), editable && line.quantity > 1)) {
        env.dispatch(pos::SetQuantity{i, line.quantity - 1});
      }
      ImGui::SameLine();
      text(env.log, std::to_string(line.quantity));
      ImGui::SameLine();
      if (touch_button(env.log, plus.c_str(), ImVec2(ImGui::GetFrameHeight() * 1.3f, 0), editable)) {
        env.dispatch(pos::SetQuantity{i, line.quantity + 1});
      }
      ImGui::TableNextColumn();
      if (computed != nullptr && computed->discount > 0) text(env.log, "-" + pos::Money(computed->discount, cur).amount_string());
      ImGui::TableNextColumn();
      if (computed != nullptr) text(env.log, pos::Money(computed->gross, cur).amount_string());
    }
    ImGui::EndTable();
  }
  ImGui::EndChild();
}

void line_editor(const pos::Model& m, SellViewState& state, const ViewEnv& env) {
  if (state.selected_line < 0 || static_cast<std::size_t>(state.selected_line) >= m.cart.lines.size()) {
    state.selected_line = -1;
    return;
  }
  const auto i = static_cast<std::size_t>(state.selected_line);
  const pos::Currency cur = env.config.catalog.currency();
  text(env.log, "Line: " + m.cart.lines[i].name);
  field(env.log, "##qty", "Qty", state.quantity, 70);
  ImGui::SameLine();
  if (touch_button(env.log, "Set qty")) {
    auto q = parse_quantity(state.quantity.data());
    if (q) {
      env.dispatch(pos::SetQuantity{i, *q});
      state.input_error.clear();
    } else {
      state.input_error = q.error().message;
    }
  }
  ImGui::SameLine();
  field(env.log, "##linedisc", "Discount", state.line_discount, 90);
  ImGui::SameLine();
  if (touch_button(env.log, state.line_discount_percent ? "%##ld" : "$##ld")) {
    state.line_discount_percent = !state.line_discount_percent;
  }
  ImGui::SameLine();
  if (touch_button(env.log, "Apply line discount")) {
    auto d = parse_discount(state.line_discount.data(), state.line_discount_percent, cur);
    if (d) {
      env.dispatch(pos::SetLineDiscount{i, *d});
      state.input_error.clear();
    } else {
      state.input_error = d.error().message;
    }
  }
  ImGui::SameLine();
  if (touch_button(env.log, "Remove line", {0, 0}, true, Tone::Bad)) {
    env.dispatch(pos::RemoveLine{i});
    state.selected_line = -1;
  }
}

void totals_block(const pos::Model& m, const ViewEnv& env) {
  const pos::Currency cur = env.config.catalog.currency();
  const pos::Totals& t = m.totals;
  const float x = ImGui::GetContentRegionAvail().x * 0.62f;
  total_row(env.log, "Subtotal", money(t.subtotal, cur), x);
  if (t.discount_total > 0) total_row(env.log, "Discounts", "-" + money(t.discount_total, cur), x);
  for (const auto& tax : t.taxes) {
    total_row(env.log, "Tax " + tax.tax_code + " " + percent_text(tax.tax_rate_ppm), money(tax.tax, cur), x);
  }
  if (t.tip > 0) total_row(env.log, "Tip", money(t.tip, cur), x);
  total_row(env.log, "TOTAL", money(t.total, cur), x * 0.6f, env.fonts.large);
}

void discount_and_tip(const pos::Model& m, SellViewState& state, const ViewEnv& env) {
  const pos::Currency cur = env.config.catalog.currency();
  field(env.log, "##cartdisc", "Cart discount", state.cart_discount, 130);
  ImGui::SameLine();
  if (touch_button(env.log, state.cart_discount_percent ? "%##cd" : "$##cd")) {
    state.cart_discount_percent = !state.cart_discount_percent;
  }
  ImGui::SameLine();
  if (touch_button(env.log, "Apply cart discount")) {
    auto d = parse_discount(state.cart_discount.data(), state.cart_discount_percent, cur);
    if (d) {
      env.dispatch(pos::SetCartDiscount{*d});
      state.input_error.clear();
    } else {
      state.input_error = d.error().message;
    }
  }
  // Tip presets are a percentage of what the customer pays before the tip.
  const std::int64_t base = m.totals.subtotal + m.totals.tax_total;
  text(env.log, "Tip:");
  ImGui::SameLine();
  if (touch_button(env.log, "No tip")) env.dispatch(pos::SetTip{0});
  for (int pct : {10, 15, 20}) {
    ImGui::SameLine();
    const std::string label = std::to_string(pct) + "%##tip";
    if (touch_button(env.log, label.c_str())) {
      auto amount = pos::mul_div_round_half_up(base, pct, 100);
      if (amount) env.dispatch(pos::SetTip{*amount});
    }
  }
  ImGui::SameLine();
  field(env.log, "##tip", "Tip", state.tip, 80);
  ImGui::SameLine();
  if (touch_button(env.log, "Set tip")) {
    auto amount = parse_amount(state.tip.data(), cur);
    if (amount) {
      env.dispatch(pos::SetTip{*amount});
      state.input_error.clear();
    } else {
      state.input_error = amount.error().message;
    }
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

}  // namespace

// ---- labels --------------------------------------------------------------------------------------

std::string phase_label(PaymentPhase phase) {
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

std::string attempt_label(AttemptState state) {
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

// ---- status bar, banners -----------------------------------------------------------------------

void draw_status_bar(const pos::Model& m, ViewState& state, const ViewEnv& env) {
  // The mode without its detail (the simulator's address is in the settings): the bar must fit.
  const std::string& mode = env.config.mode;
  const std::string& reg = env.config.register_name.empty() ? env.config.register_id : env.config.register_name;
  text(env.log, "Till  |  " + reg + "  |  " + mode.substr(0, mode.find(" (")));
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

// ---- screens -----------------------------------------------------------------------------------

void draw_sell(const pos::Model& m, SellViewState& state, const ViewEnv& env) {
  const bool open_sale = !m.sale || m.sale->state == pos::SaleState::Open;
  const bool cart_editable = m.phase == PaymentPhase::None && open_sale && pos::amount_paid(m) == 0;
  wedge_scanner(state, env);
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  ImGui::BeginChild("catalog", ImVec2(avail.x * 0.55f, 0), false, kPanel);
  field(env.log, "##search", "Search products", state.search, ImGui::GetContentRegionAvail().x * 0.45f);
  ImGui::SameLine();
  const bool scanned = field(env.log, "##barcode", "Barcode + Enter", state.barcode,
                             ImGui::GetContentRegionAvail().x * 0.6f, ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((touch_button(env.log, "Add code") || scanned) && state.barcode[0] != '\0') {
    env.dispatch(pos::ScanBarcode{state.barcode.data()});
    clear(state.barcode);
  }
  if (!state.wedge.empty()) text(env.log, "Scanner: " + state.wedge + " (Enter adds it)", Tone::Info);
  product_grid(m, state, env);
  ImGui::EndChild();

  ImGui::SameLine();
  ImGui::BeginChild("cart_panel", ImVec2(0, 0), false, kPanel);
  const float line_h = ImGui::GetFrameHeightWithSpacing();
  const float totals_h = line_h * (4.5f + static_cast<float>(m.totals.taxes.size())) + ImGui::GetFontSize();
  const float controls_h = line_h * (state.selected_line >= 0 ? 6.0f : 5.0f);
  cart_table(m, state, env, cart_editable, std::max(line_h * 3, ImGui::GetContentRegionAvail().y - totals_h - controls_h));
  if (cart_editable) line_editor(m, state, env);
  if (cart_editable && !m.cart.lines.empty()) discount_and_tip(m, state, env);
  if (!state.input_error.empty()) text(env.log, "! " + state.input_error, Tone::Bad);
  totals_block(m, env);
  const bool can_pay = !m.cart.lines.empty() && m.reader.connected;
  const float w = ImGui::GetContentRegionAvail().x;
  if (touch_button(env.log, "Charge card (F2)", ImVec2(w * 0.5f, line_h * 1.4f), can_pay, Tone::Good) ||
      (can_pay && key_pressed(kKeyF2))) {
    env.dispatch(pos::Charge{});
  }
  ImGui::SameLine();
  if (m.sale) {
    if (touch_button(env.log, "Void sale", ImVec2(0, line_h * 1.4f), true, Tone::Bad)) env.dispatch(pos::VoidSale{});
  } else if (touch_button(env.log, "Clear cart", ImVec2(0, line_h * 1.4f), !m.cart.lines.empty())) {
    env.dispatch(pos::ClearCart{});
    state.selected_line = -1;
  }
  if (!m.reader.connected && !m.cart.lines.empty()) text(env.log, "No card reader connected: cash only", Tone::Warning);
  cash_entry(state.cash, state.input_error, pos::balance_due(m), env, !m.cart.lines.empty());
  if (!m.offline.online) {
    field(env.log, "##contact", "Customer email/phone (offline)", state.contact, w * 0.6f);
    ImGui::SameLine();
    if (touch_button(env.log, "Save contact")) env.dispatch(pos::SetCustomerContact{state.contact.data()});
  }
  ImGui::EndChild();
}

void draw_payment(const pos::Model& m, PaymentViewState& state, const ViewEnv& env) {
  const pos::Currency cur = env.config.catalog.currency();
  const std::int64_t total = m.sale ? m.sale->total : m.totals.total;
  const std::int64_t paid = pos::amount_paid(m);
  const std::int64_t balance = pos::balance_due(m);
  const pos::PaymentAttempt* active = active_attempt(m);
  const pos::PaymentAttempt* last = active != nullptr ? active : last_card_attempt(m);

  ImGui::PushFont(env.fonts.large);
  text(env.log, "Total " + money(total, cur) + "   Paid " + money(paid, cur) + "   Due " + money(balance, cur));
  ImGui::PopFont();
  badge(env.log, phase_label(m.phase), phase_tone(m.phase));
  if (active != nullptr) {
    ImGui::SameLine();
    text(env.log, "Card payment " + money(active->amount, cur) + " (attempt " + std::to_string(active->number) + ")");
  }
  ImGui::Spacing();

  const float big_h = ImGui::GetFrameHeight() * 1.8f;
  const ImVec2 big(260.0f * ImGui::GetFontSize() / 20.0f, big_h);
  switch (m.phase) {
    case PaymentPhase::Collecting: {
      const std::string prompt = m.reader.prompt_text.empty() ? "Present card on the reader" : m.reader.prompt_text;
      text(env.log, prompt, Tone::Info, env.fonts.large);
      text(env.log, "Waiting for the reader. The customer can tap, insert or swipe.");
      if (touch_button(env.log, "Cancel payment", big, true, Tone::Bad) ||
          key_pressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) {
        env.dispatch(pos::CancelPayment{});
      }
      break;
    }
    case PaymentPhase::Canceling:
      text(env.log, "Canceling: waiting for the reader to confirm", Tone::Info, env.fonts.large);
      text(env.log, "If the card was already read, the payment may still complete.");
      break;
    case PaymentPhase::Authorizing: {
      const std::string prompt = m.reader.prompt_text.empty() ? "Processing: do not remove the card" : m.reader.prompt_text;
      text(env.log, prompt, Tone::Info, env.fonts.large);
      text(env.log, "Authorizing with the bank. This cannot be cancelled now.");
      break;
    }
    case PaymentPhase::InDoubt:
      // Lesson 1 and 2: no retry, no other tender, no cancel until Stripe's answer is known.
      text(env.log, std::string(pos::kInDoubtText), Tone::Warning, env.fonts.large);
      text(env.log, "Checking with Stripe. Do not retry and do not take another payment for this sale.");
      text(env.log, "The card may have been charged. This screen updates by itself when Stripe answers.");
      if (last != nullptr && !last->failure_message.empty()) text(env.log, "Reason: " + last->failure_message);
      text(env.log, "A manager can set the sale aside from the back office to serve the next customer.");
      break;
    case PaymentPhase::Declined: {
      const std::string code = last != nullptr ? last->decline_code : std::string();
      text(env.log, "Declined: " + pos::decline_reason(code), Tone::Bad, env.fonts.large);
      if (!code.empty()) text(env.log, "Decline code: " + code);
      break;
    }
    case PaymentPhase::Refused:
      text(env.log, "Card refused offline", Tone::Bad, env.fonts.large);
      if (last != nullptr && !last->failure_message.empty()) text(env.log, last->failure_message);
      text(env.log, "Nothing was charged. Try another card, take cash, or wait for the connection.");
      break;
    case PaymentPhase::Failed:
      text(env.log, "The reader did not read a card", Tone::Bad, env.fonts.large);
      if (last != nullptr && !last->failure_message.empty()) text(env.log, "Reader: " + last->failure_message);
      text(env.log, "Nothing was charged: it is safe to try again.");
      break;
    case PaymentPhase::None:
      if (balance > 0) text(env.log, "Balance due " + money(balance, cur) + ": take another card or cash", Tone::Info, env.fonts.large);
      break;
  }

  const bool retryable = m.phase == PaymentPhase::Declined || m.phase == PaymentPhase::Refused ||
                         m.phase == PaymentPhase::Failed;
  if (retryable) {
    if (touch_button(env.log, m.phase == PaymentPhase::Failed ? "Try the card again" : "Try another card", big,
                     m.reader.connected, Tone::Good)) {
      env.dispatch(pos::RetryWithAnotherCard{});
    }
    ImGui::SameLine();
    if (touch_button(env.log, "Cancel payment", big, true, Tone::Bad)) env.dispatch(pos::CancelPayment{});
  }
  if (m.phase == PaymentPhase::None && balance > 0) {
    if (touch_button(env.log, "Charge card for the balance", big, m.reader.connected, Tone::Good)) {
      env.dispatch(pos::Charge{});
    }
  }
  // Split tender: part card, part cash, whenever no card payment is running or in question.
  if (m.phase == PaymentPhase::None || retryable) {
    ImGui::Separator();
    text(env.log, "Split the payment:");
    field(env.log, "##split", "Card amount", state.split_amount, 130);
    ImGui::SameLine();
    if (touch_button(env.log, "Charge card for amount", ImVec2(0, 0), m.reader.connected && m.phase == PaymentPhase::None)) {
      auto amount = parse_amount(state.split_amount.data(), cur);
      if (amount) {
        env.dispatch(pos::Charge{*amount});
        clear(state.split_amount);
        state.input_error.clear();
      } else {
        state.input_error = amount.error().message;
      }
    }
    cash_entry(state.cash, state.input_error, balance, env, balance > 0);
    if (!state.input_error.empty()) text(env.log, "! " + state.input_error, Tone::Bad);
    if (paid == 0 && touch_button(env.log, "Void sale", ImVec2(0, 0), true, Tone::Bad)) env.dispatch(pos::VoidSale{});
  }
  ImGui::Spacing();
  tenders_list(m, env);
  // Card schemes want a receipt for a decline too (lesson 17): the reducer printed it; show it.
  if (m.phase == PaymentPhase::Declined && !m.last_receipt.empty()) {
    const bool open = ImGui::CollapsingHeader("Declined receipt (printed)");
    if (env.log != nullptr) {
      env.log->add({LoggedItem::Kind::Button, "Declined receipt (printed)", ImGui::GetItemRectMin(),
                    ImGui::GetItemRectMax(), true});
    }
    if (open) {
      ImGui::PushFont(env.fonts.mono);
      text(env.log, m.last_receipt);
      ImGui::PopFont();
    }
  }
}

void draw_receipt(const pos::Model& m, ReceiptViewState& state, const ViewEnv& env) {
  const pos::Currency cur = env.config.catalog.currency();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  ImGui::BeginChild("receipt_paper", ImVec2(avail.x * 0.48f, 0), true, kPanel);
  ImGui::PushFont(env.fonts.mono);
  if (m.last_receipt.empty()) {
    text(env.log, "(no receipt)");
  } else {
    text(env.log, m.last_receipt);
  }
  ImGui::PopFont();
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("receipt_side", ImVec2(0, 0), false, kPanel);
  const bool paid = m.sale && m.sale->state == pos::SaleState::Paid;
  bool offline = false;
  for (const auto& a : m.attempts) offline = offline || a.state == AttemptState::StoredOffline;
  if (paid) {
    badge(env.log, offline ? "~ PAID (STORED OFFLINE)" : "OK PAID", offline ? Tone::Info : Tone::Good);
    text(env.log, "Sale complete: " + money(m.sale->total, cur), std::nullopt, env.fonts.large);
  }
  if (offline) text(env.log, "Card stored offline: it is authorized when the connection returns.", Tone::Info);
  if (m.change_due > 0) text(env.log, "Change due " + money(m.change_due, cur), Tone::Warning, env.fonts.large);
  text(env.log, "Receipt sent to the printer.");
  ImGui::SameLine();
  if (touch_button(env.log, "Print again")) env.dispatch(pos::ReprintReceipt{});
  // Email: the address lives only in this field until it is dispatched (the store seals it).
  if (state.email[0] == '\0' && m.customer_contact.find('@') != std::string::npos) set_text(state.email, m.customer_contact);
  field(env.log, "##email", "Customer email", state.email, 300);
  ImGui::SameLine();
  if (touch_button(env.log, "Email receipt")) {
    const std::string address = state.email.data();
    if (address.find('@') == std::string::npos) {
      state.input_error = "Type the customer's email address first";
    } else {
      env.dispatch(pos::EmailReceipt{address});
      clear(state.email);
      state.input_error.clear();
    }
  }
  if (!state.input_error.empty()) text(env.log, "! " + state.input_error, Tone::Bad);
  tenders_list(m, env);
  ImGui::Spacing();
  if (touch_button(env.log, "New sale (F5)", ImVec2(260.0f * ImGui::GetFontSize() / 20.0f, ImGui::GetFrameHeight() * 1.8f),
                   true, Tone::Good) ||
      key_pressed(kKeyF5)) {
    env.dispatch(pos::NewSale{});
  }
  ImGui::EndChild();
}

namespace {

std::string attention_kind(pos::AttentionItem::Kind k) {
  switch (k) {
    case pos::AttentionItem::Kind::InDoubt: return "?? IN DOUBT";
    case pos::AttentionItem::Kind::Dead: return "X DEAD";
    case pos::AttentionItem::Kind::DeclinedAfterForward: return "X DECLINED AFTER FORWARD";
  }
  return "?";
}

void queue_tab(const pos::Model& m, const ViewEnv& env) {
  const pos::QueueCounts& c = m.back_office.counts;
  if (ImGui::BeginTable("queue", 2, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingFixedFit)) {
    auto row = [&](std::string_view name, std::int64_t n, const char* meaning) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      text(env.log, std::string(name) + ": " + std::to_string(n));
      ImGui::TableNextColumn();
      text(env.log, meaning);
    };
    row(pos::to_string(pos::OutboxState::Pending), c.pending, "waiting to be sent");
    row(pos::to_string(pos::OutboxState::InFlight), c.in_flight, "being sent now");
    row(pos::to_string(pos::OutboxState::FailedRetryable), c.failed_retryable, "failed, retrying with backoff");
    row(pos::to_string(pos::OutboxState::Dead), c.dead, "needs a person (see Needs attention)");
    row(pos::to_string(pos::OutboxState::Done), c.done, "Stripe's answer recorded");
    row(pos::to_string(pos::AttemptState::StoredOffline), c.stored_offline, "payments stored offline");
    row(pos::to_string(pos::AttemptState::InDoubt), c.in_doubt, "payments whose outcome is being checked");
    ImGui::EndTable();
  }
}

void attention_tab(const pos::Model& m, BackOfficeViewState& state, const ViewEnv& env) {
  const pos::Currency fallback = env.config.catalog.currency();
  if (m.phase == PaymentPhase::InDoubt || m.phase == PaymentPhase::Authorizing) {
    text(env.log, "The register is waiting for a payment outcome.", Tone::Warning);
    ImGui::SameLine();
    if (touch_button(env.log, "Set current sale aside")) env.dispatch(pos::SetAsideSale{});
  }
  if (m.back_office.attention.empty()) {
    text(env.log, "Nothing needs attention.");
    return;
  }
  field(env.log, "##note", "Note for 'Mark handled' (required)", state.note, 480);
  for (std::size_t i = 0; i < m.back_office.attention.size(); ++i) {
    const pos::AttentionItem& item = m.back_office.attention[i];
    ImGui::PushID(static_cast<int>(i));
    ImGui::Separator();
    badge(env.log, attention_kind(item.kind),
          item.kind == pos::AttentionItem::Kind::InDoubt ? Tone::Warning : Tone::Bad);
    ImGui::SameLine();
    text(env.log, "sale " + item.sale_id + "  " + money(item.amount, item.currency, fallback) + "  since " +
                      age_text(env.now - item.since) + " ago");
    if (!item.last_error.empty()) text(env.log, "Last error: " + item.last_error);
    if (!item.last_request_id.empty()) text(env.log, "Stripe request id: " + item.last_request_id);
    if (!item.customer_contact.empty()) text(env.log, "Customer contact: " + item.customer_contact);
    if (item.kind == pos::AttentionItem::Kind::InDoubt) {
      text(env.log, "Checking with Stripe (same idempotency key). Do not charge the customer again.");
    }
    if (item.operation_id != 0) {
      if (item.kind == pos::AttentionItem::Kind::Dead &&
          touch_button(env.log, "Retry (same key)")) {
        env.dispatch(pos::RetryOperation{item.operation_id});
      }
      if (item.kind == pos::AttentionItem::Kind::Dead) ImGui::SameLine();
      if (touch_button(env.log, "Mark handled")) {
        if (state.note[0] == '\0') {
          state.input_error = "Write a note first: say what was done";
        } else {
          env.dispatch(pos::MarkHandled{item.operation_id, state.note.data()});
          clear(state.note);
          state.input_error.clear();
        }
      }
    }
    ImGui::PopID();
  }
}

// Refund of a past sale: found by the receipt number printed on it, each card payment with what
// was captured, refunded and is still refundable; full or partial, queued and keyed.
void past_sale_refund(const pos::Model& m, BackOfficeViewState& state, const ViewEnv& env) {
  const pos::BackOffice& bo = m.back_office;
  text(env.log, "Refund a past sale:");
  field(env.log, "##receiptno", "Receipt number (sale id, 8+ characters)", state.refund_receipt_number, 420);
  ImGui::SameLine();
  if (touch_button(env.log, "Find sale")) {
    env.dispatch(pos::FindSaleForRefund{state.refund_receipt_number.data()});
  }
  if (bo.refund_lookup_running) text(env.log, ".. looking the sale up", Tone::Info);
  if (!bo.refund_lookup_error.empty()) text(env.log, "! " + bo.refund_lookup_error, Tone::Bad);
  if (!bo.refund_sale) return;
  const pos::PastSale& past = *bo.refund_sale;
  const pos::Currency cur = currency_of(past.sale.currency, env.config.catalog.currency());
  text(env.log, "Sale " + past.sale.id + "  " + std::string(pos::to_string(past.sale.state)) + "  total " +
                    money(past.sale.total, cur) + "  refundable " + money(past.refundable, cur));
  for (const auto& line : past.sale.lines) {
    text(env.log, "  " + std::to_string(line.quantity) + " x " + line.name + "  " + money(line.gross, cur));
  }
  for (const auto& p : past.payments) {
    if (p.tender != pos::TenderKind::Card || p.state != AttemptState::Approved) continue;
    ImGui::PushID(p.attempt_id.c_str());
    text(env.log, "#" + std::to_string(p.number) + " " + (p.brand.empty() ? "card" : p.brand) +
                      (p.last4.empty() ? "" : " **** " + p.last4) + "  captured " + money(p.captured, cur) +
                      "  refunded " + money(p.refunded, cur) +
                      (p.refund_pending > 0 ? "  queued " + money(p.refund_pending, cur) : std::string()) +
                      "  refundable " + money(p.refundable, cur));
    if (p.refundable > 0) {
      if (touch_button(env.log, "Refund the rest")) {
        env.dispatch(pos::RequestRefund{past.sale.id, p.attempt_id, p.payment_intent_id, p.refundable,
                                        past.sale.currency});
      }
      ImGui::SameLine();
      field(env.log, "##partial", "Amount", state.past_refund_amount, 110);
      ImGui::SameLine();
      if (touch_button(env.log, "Refund amount")) {
        auto amount = parse_amount(state.past_refund_amount.data(), cur);
        if (!amount) {
          state.input_error = amount.error().message;
        } else {
          env.dispatch(pos::RequestRefund{past.sale.id, p.attempt_id, p.payment_intent_id, *amount, past.sale.currency});
          clear(state.past_refund_amount);
          state.input_error.clear();
        }
      }
    } else if (p.refund_pending > 0) {
      badge(env.log, "~ REFUND QUEUED", Tone::Info);
    } else {
      badge(env.log, "OK FULLY REFUNDED", Tone::Good);
    }
    ImGui::PopID();
  }
}

void refunds_tab(const pos::Model& m, BackOfficeViewState& state, const ViewEnv& env) {
  const pos::Currency cur = env.config.catalog.currency();
  bool any = false;
  for (const auto& a : m.attempts) {
    if (a.tender != pos::TenderKind::Card || a.state != AttemptState::Approved || a.payment_intent_id.empty()) continue;
    any = true;
    ImGui::PushID(a.id.c_str());
    text(env.log, attempt_line(a, cur) + "  " + a.payment_intent_id);
    ImGui::SameLine();
    if (touch_button(env.log, "Refund in full")) {
      env.dispatch(pos::RequestRefund{a.sale_id, a.id, a.payment_intent_id, a.amount, a.currency});
    }
    ImGui::PopID();
  }
  if (!any) text(env.log, "No confirmed card payment on this register's current sale.");
  ImGui::Separator();
  past_sale_refund(m, state, env);
  ImGui::Separator();
  text(env.log, "Refund another payment (full or partial; queued and keyed):");
  field(env.log, "##refpi", "pi_... (PaymentIntent)", state.refund_payment_intent, 300);
  ImGui::SameLine();
  field(env.log, "##refsale", "Sale id", state.refund_sale, 300);
  ImGui::SameLine();
  field(env.log, "##refamount", "Amount", state.refund_amount, 110);
  ImGui::SameLine();
  if (touch_button(env.log, "Queue refund")) {
    auto amount = parse_amount(state.refund_amount.data(), cur);
    if (!amount) {
      state.input_error = amount.error().message;
    } else {
      env.dispatch(pos::RequestRefund{state.refund_sale.data(), "", state.refund_payment_intent.data(), *amount,
                                      std::string(cur.code())});
      clear(state.refund_amount);
      state.input_error.clear();
    }
  }
}

void day_tab(const pos::Model& m, const ViewEnv& env) {
  const pos::BackOffice& bo = m.back_office;
  const pos::Currency fallback = env.config.catalog.currency();
  if (touch_button(env.log, "Refresh report")) env.dispatch(pos::LoadDayReport{});
  ImGui::SameLine();
  if (bo.day_loading) {
    text(env.log, ".. building the report from the store", Tone::Info);
  } else if (!bo.day_error.empty()) {
    text(env.log, "! Report failed: " + bo.day_error, Tone::Bad);
  } else {
    text(env.log, "From the store's ledger (the same one the sync uses); UTC day.");
  }
  if (!bo.day) {
    text(env.log, "No report loaded.");
    return;
  }
  const pos::DaySummary& d = *bo.day;
  text(env.log, "End of day " + d.day, std::nullopt, env.fonts.large);
  constexpr ImGuiTableFlags kTable = ImGuiTableFlags_Borders | ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg;
  if (d.currencies.empty()) text(env.log, "No sales today.");
  if (!d.currencies.empty() && ImGui::BeginTable("day_currencies", 8, kTable)) {
    for (const char* h : {"Currency", "Sales", "Gross", "Net", "Tax", "Tips", "Discounts", "Voided / open"}) {
      ImGui::TableSetupColumn(h);
    }
    ImGui::TableHeadersRow();
    for (const auto& c : d.currencies) {
      ImGui::TableNextRow();
      auto cell = [&](const std::string& v) {
        ImGui::TableNextColumn();
        text(env.log, v);
      };
      cell(currency_of(c.currency, fallback).upper());
      cell("Sales " + std::to_string(c.sales));
      cell(money(c.gross, c.currency, fallback));
      cell(money(c.net, c.currency, fallback));
      cell(money(c.tax, c.currency, fallback));
      cell(money(c.tips, c.currency, fallback));
      cell(money(c.discounts, c.currency, fallback));
      cell(std::to_string(c.voided) + " / " + std::to_string(c.open));
    }
    ImGui::EndTable();
  }
  const float x = 480.0f * ImGui::GetFontSize() / 20.0f;
  for (const auto& t : d.tenders) {
    const std::string name = t.tender == "card_stored_offline" ? "Card stored offline (not yet authorized)"
                             : t.tender == "card"              ? "Card"
                             : t.tender == "cash"              ? "Cash"
                                                               : t.tender;
    total_row(env.log, name + " (" + std::to_string(t.count) + ")", money(t.amount, t.currency, fallback), x);
  }
  for (const auto& t : d.tax_rates) {
    total_row(env.log, "Tax " + t.tax_code + " " + percent_text(t.rate_ppm) + " on " + money(t.net, t.currency, fallback),
              money(t.tax, t.currency, fallback), x);
  }
  for (const auto& f : d.fees) {
    total_row(env.log, "Platform fees (" + std::to_string(f.payments) + " payments)",
              money(f.application_fees, f.currency, fallback), x);
  }
  for (const auto& r : d.refunds) {
    total_row(env.log, "Refunds confirmed (" + std::to_string(r.count) + ")", money(r.amount, r.currency, fallback), x);
    if (r.pending > 0) total_row(env.log, "  refunds still queued", std::to_string(r.pending), x);
  }
  total_row(env.log, "Declined attempts", std::to_string(d.declined), x);
  total_row(env.log, "Declined after forwarding (contact the customer)", std::to_string(d.declined_after_forward), x);
  total_row(env.log, "In doubt (being checked)", std::to_string(d.in_doubt), x);
  total_row(env.log, "Not yet sent to Stripe", std::to_string(d.unsent), x);
}

void readers_tab(const pos::Model& m, const ViewEnv& env) {
  const pos::ReaderStatus& r = m.reader;
  const pos::ReaderDetails& d = r.details;
  badge(env.log, r.connected ? "OK CONNECTED" : "X " + upper_words(d.connection), r.connected ? Tone::Good : Tone::Bad);
  ImGui::SameLine();
  text(env.log, r.label.empty() ? "(no reader)" : r.label);
  if (!r.detail.empty()) text(env.log, "Detail: " + r.detail);
  const float x = 300.0f * ImGui::GetFontSize() / 20.0f;
  total_row(env.log, "Connection", d.connection, x);
  total_row(env.log, "Battery",
            d.battery_percent < 0 ? std::string("unknown / mains")
                                  : std::to_string(d.battery_percent) + " %" + (d.charging ? " (charging)" : "") +
                                        (d.battery_percent <= 15 ? "  ! LOW" : ""),
            x);
  total_row(env.log, "Firmware", d.firmware_version.empty() ? std::string("unknown") : d.firmware_version, x);
  total_row(env.log, "Update",
            d.update_progress >= 0 ? ".. installing " + std::to_string(d.update_progress) + " %"
            : d.update_required    ? std::string("! REQUIRED: install before the next payment")
                                   : std::string("none required"),
            x);
  total_row(env.log, "Offline payments",
            d.offline_capable ? "~ capable: " + std::to_string(d.offline_stored) + " of " +
                                    std::to_string(d.offline_capacity) + " stored on the reader"
                              : std::string("X not supported by this reader"),
            x);
  total_row(env.log, "Reader's own network", d.reader_online ? "online" : "offline (stores and forwards)", x);
  ImGui::Separator();
  if (r.command_running) {
    text(env.log, ".. a reader command is running", Tone::Info);
    return;
  }
  const bool busy = m.phase == PaymentPhase::Collecting || m.phase == PaymentPhase::Canceling ||
                    m.phase == PaymentPhase::Authorizing || m.phase == PaymentPhase::InDoubt;
  if (!r.connected && touch_button(env.log, "Connect reader")) env.dispatch(pos::ManageReader{pos::ReaderCommandKind::Connect});
  if (r.connected) {
    if (touch_button(env.log, "Disconnect reader", ImVec2(0, 0), !busy)) {
      env.dispatch(pos::ManageReader{pos::ReaderCommandKind::Disconnect});
    }
    ImGui::SameLine();
    if (touch_button(env.log, "Install update", ImVec2(0, 0), !busy)) {
      env.dispatch(pos::ManageReader{pos::ReaderCommandKind::InstallUpdate});
    }
    ImGui::SameLine();
  }
  if (touch_button(env.log, "Refresh status", ImVec2(0, 0), !busy)) {
    env.dispatch(pos::ManageReader{pos::ReaderCommandKind::RefreshStatus});
  }
  if (busy) text(env.log, "The reader is taking a payment: reader commands wait until it is done.", Tone::Warning);
}

void settings_tab(BackOfficeViewState& state, const ViewEnv& env) {
  const KioskConfig& c = env.config;
  const float x = 300.0f * ImGui::GetFontSize() / 20.0f;
  total_row(env.log, "Register", c.register_name.empty() ? c.register_id : c.register_name + " (" + c.register_id + ")", x);
  total_row(env.log, "Connected account", c.account_id.empty() ? "(none)" : c.account_id, x);
  total_row(env.log, "Location", c.location_id.empty() ? "(none)" : c.location_id, x);
  total_row(env.log, "Mode", c.mode, x);
  // Only ever the mask: the key's value is never drawn (architecture.md, security rules).
  total_row(env.log, "API key", c.api_key.empty() ? "(not set: simulator)" : c.api_key.masked(), x);
  total_row(env.log, "Platform fee rule", c.fee_rule + " (fixed minor units + basis points) on each card payment", x);
  total_row(env.log, "Capture", c.capture_method, x);
  total_row(env.log, "Offline payments", c.risk.enabled ? "allowed within caps" : "refused (require online)", x);
  const pos::Currency own = c.catalog.currency();
  if (auto caps = c.risk.caps.find(std::string(own.code())); caps != c.risk.caps.end()) {
    total_row(env.log, "  " + own.upper() + " caps",
              money(caps->second.per_transaction_max, own) + " per payment, " +
                  money(caps->second.stored_total_max, own) + " stored", x);
  } else {
    total_row(env.log, "  " + own.upper() + " caps", "none: offline refused in this currency", x);
  }
  std::string others;
  for (const auto& [code, caps] : c.risk.caps) {
    if (code != own.code()) others += (others.empty() ? "" : ", ") + currency_of(code, own).upper();
  }
  if (!others.empty()) total_row(env.log, "  Other currencies with caps", others, x);
  total_row(env.log, "  Stored count cap", std::to_string(c.risk.max_stored_count), x);
  total_row(env.log, "  Oldest before forwarding", age_text(c.risk.max_age), x);
  std::string brands;
  for (const auto& b : c.risk.allowed_brands) brands += (brands.empty() ? "" : ", ") + b;
  total_row(env.log, "  Brands allowed offline", brands, x);
  ImGui::Separator();
  char buf[48];
  std::snprintf(buf, sizeof buf, "Text size: %.0f%%", static_cast<double>(state.font_scale) * 100.0);
  text(env.log, buf);
  ImGui::SameLine();
  if (touch_button(env.log, "A-") && state.font_scale > 0.75f) state.font_scale -= 0.125f;
  ImGui::SameLine();
  if (touch_button(env.log, "A+") && state.font_scale < 2.0f) state.font_scale += 0.125f;
}

}  // namespace

void draw_back_office(const pos::Model& m, BackOfficeViewState& state, const ViewEnv& env) {
  ImGui::PushFont(env.fonts.large);
  text(env.log, "Back office");
  ImGui::PopFont();
  if (m.back_office.loading) {
    ImGui::SameLine();
    text(env.log, ".. loading", Tone::Info);
  }
  if (!state.input_error.empty()) text(env.log, "! " + state.input_error, Tone::Bad);
  if (ImGui::BeginTabBar("back_office_tabs")) {
    const std::string attention = "Needs attention (" + std::to_string(m.back_office.attention.size()) + ")###attention";
    if (tab(env.log, "Sync queue")) {
      ImGui::BeginChild("tab_body", ImVec2(0, 0), false, kPanel);
      queue_tab(m, env);
      ImGui::EndChild();
      ImGui::EndTabItem();
    }
    if (tab(env.log, attention.c_str())) {
      ImGui::BeginChild("tab_body", ImVec2(0, 0), false, kPanel);
      attention_tab(m, state, env);
      ImGui::EndChild();
      ImGui::EndTabItem();
    }
    if (tab(env.log, "Refunds")) {
      ImGui::BeginChild("tab_body", ImVec2(0, 0), false, kPanel);
      refunds_tab(m, state, env);
      ImGui::EndChild();
      ImGui::EndTabItem();
    }
    if (tab(env.log, "End of day")) {
      ImGui::BeginChild("tab_body", ImVec2(0, 0), false, kPanel);
      day_tab(m, env);
      ImGui::EndChild();
      ImGui::EndTabItem();
    }
    if (tab(env.log, "Readers")) {
      ImGui::BeginChild("tab_body", ImVec2(0, 0), false, kPanel);
      readers_tab(m, env);
      ImGui::EndChild();
      ImGui::EndTabItem();
    }
    if (tab(env.log, "Settings")) {
      ImGui::BeginChild("tab_body", ImVec2(0, 0), false, kPanel);
      settings_tab(state, env);
      ImGui::EndChild();
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
  }
}

void draw_pin_prompt(BackOfficeViewState& state, const ViewEnv& env) {
  if (state.pin_prompt_open && !ImGui::IsPopupOpen("Manager PIN")) ImGui::OpenPopup("Manager PIN");
  const ImVec2 centre(ImGui::GetIO().DisplaySize.x * 0.5f, ImGui::GetIO().DisplaySize.y * 0.5f);
  ImGui::SetNextWindowPos(centre, ImGuiCond_Always, ImVec2(0.5f, 0.5f));
  if (!ImGui::BeginPopupModal("Manager PIN", nullptr, ImGuiWindowFlags_AlwaysAutoResize | kPanel)) return;
  text(env.log, "Enter the manager PIN");
  if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
  const bool entered = field(env.log, "##pin", "PIN", state.pin, 200,
                             ImGuiInputTextFlags_Password | ImGuiInputTextFlags_CharsDecimal |
                                 ImGuiInputTextFlags_EnterReturnsTrue);
  const ImVec2 key(72.0f * ImGui::GetFontSize() / 20.0f, 60.0f * ImGui::GetFontSize() / 20.0f);
  const char* keys[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "Clear", "0", "OK"};
  bool submit = entered;
  for (int i = 0; i < 12; ++i) {
    if (i % 3 != 0) ImGui::SameLine();
    const std::string label = std::string(keys[i]) + "##pinkey";
    if (!touch_button(env.log, label.c_str(), key, true, i == 11 ? Tone::Good : Tone::Neutral)) continue;
    const std::size_t len = std::string_view(state.pin.data()).size();
    if (i == 9) {
      clear(state.pin);
    } else if (i == 11) {
      submit = true;
    } else if (len + 1 < state.pin.size()) {
      state.pin[len] = keys[i][0];
    }
  }
  if (touch_button(env.log, "Cancel##pin", ImVec2(key.x * 3 + ImGui::GetStyle().ItemSpacing.x * 2, 0)) ||
      key_pressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) {
    clear(state.pin);
    state.pin_prompt_open = false;
    ImGui::CloseCurrentPopup();
  }
  if (submit && state.pin[0] != '\0') {
    env.dispatch(pos::OpenBackOffice{state.pin.data()});
    clear(state.pin);  // the PIN lives only as long as the prompt
    state.pin_prompt_open = false;
    ImGui::CloseCurrentPopup();
  }
  ImGui::EndPopup();
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
