// The sell screen: search, barcode and the wedge scanner, category tabs, product tiles, the cart
// with its line editor, discounts and tip, totals, charge / cash / void.

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "till/ui/input_parse.hpp"
#include "views_common.hpp"

namespace till::ui {
namespace {

using namespace detail;

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
}  // namespace

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

}  // namespace till::ui
