// The sell screen. Left: search and barcode, a hint line, the categories, the product tiles (a
// scrolling region) and the staff offline banner under them. Right: the cart (a scrolling
// region), the totals (every row reserved), and two rows of actions at fixed places. What does
// not fit beside them opens in a popup: the line editor, the sale's options (discount, tip, the
// customer's contact) and cash entry. Every size comes from the measured text and the style.

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "till/ui/input_parse.hpp"
#include "views_common.hpp"

namespace till::ui {
namespace {

using namespace detail;

constexpr const char* kLinePopup = "Edit line";
constexpr const char* kCharge = "Charge card (F2)";
constexpr const char* kCash = "Cash (F6)";
constexpr const char* kExact = "Exact cash (F4)";
constexpr const char* kOptions = "Discount/tip (F3)";
constexpr const char* kOptionsPopup = "Discount and tip";
constexpr const char* kCashPopup = "Cash payment";

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

bool any_popup() { return ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId); }

void wedge_scanner(SellViewState& state, const ViewEnv& env) {
  // A keyboard-wedge scanner "types" digits then Enter. When no text field has focus those keys
  // would go nowhere, so the sell screen collects them itself. Never while a popup (the PIN pad)
  // is open: a PIN must not end up in a barcode.
  if (ImGui::IsAnyItemActive() || any_popup()) return;
  ImGuiIO& io = ImGui::GetIO();
  for (ImWchar c : io.InputQueueCharacters) {
    if (c >= '0' && c <= '9' && state.wedge.size() < 32) state.wedge += static_cast<char>(c);
  }
  if (enter_pressed() && !state.wedge.empty()) {
    env.dispatch(pos::ScanBarcode{state.wedge});
    state.wedge.clear();
  }
  if (escape_pressed()) state.wedge.clear();
}

std::vector<const pos::Product*> shown_products(const SellViewState& state, const pos::Catalog& catalog) {
  const auto& categories = catalog.categories();
  std::string category_id;
  if (state.category > 0 && static_cast<std::size_t>(state.category) <= categories.size()) {
    category_id = categories[static_cast<std::size_t>(state.category) - 1].id;
  }
  const std::string needle = lower(state.search.data());
  std::vector<const pos::Product*> shown;
  shown.reserve(catalog.products().size());
  for (const auto& p : catalog.products()) {
    if ((category_id.empty() || p.category == category_id) && matches(p, needle)) shown.push_back(&p);
  }
  return shown;
}

// Search (Enter adds the product when exactly one matches), barcode (Enter adds it), Add code.
void search_row(const pos::Model& m, SellViewState& state, const ViewEnv& env, std::string& hint) {
  Flow flow(ImGui::GetContentRegionAvail().x);
  const float search_w = field_width("Search products", "Butter Croissant");
  flow.next(search_w);
  tab_into_first_field();
  if (field(env.log, "##search", "Search products", state.search, search_w) && m.phase == PaymentPhase::None) {
    const auto shown = shown_products(state, env.config.catalog);
    if (shown.size() == 1) {
      env.dispatch(pos::AddProduct{shown.front()->id, 1});
      clear(state.search);
    } else {
      hint = shown.empty() ? "No product matches the search" : "Several products match: tap one";
    }
  }
  const float barcode_w = field_width("Barcode + Enter", "0000000000000");
  flow.next(barcode_w);
  const bool scanned = field(env.log, "##barcode", "Barcode + Enter", state.barcode, barcode_w);
  flow.next(touch_button_size("Add code").x);
  if ((touch_button(env.log, "Add code") || scanned) && state.barcode[0] != '\0') {
    env.dispatch(pos::ScanBarcode{state.barcode.data()});
    clear(state.barcode);
  }
}

void category_row(SellViewState& state, const ViewEnv& env) {
  const auto& categories = env.config.catalog.categories();
  Flow flow(ImGui::GetContentRegionAvail().x);
  flow.next(touch_button_size("All").x);
  if (choice_button(env.log, "All##cat", state.category == 0)) state.category = 0;
  for (std::size_t i = 0; i < categories.size(); ++i) {
    const std::string label = categories[i].name + "##cat" + categories[i].id;
    flow.next(touch_button_size(label).x);
    if (choice_button(env.log, label.c_str(), state.category == static_cast<int>(i) + 1)) {
      state.category = static_cast<int>(i) + 1;
    }
  }
}

void product_grid(SellViewState& state, const ViewEnv& env, float height) {
  const pos::Catalog& catalog = env.config.catalog;
  const std::vector<const pos::Product*> shown = shown_products(state, catalog);
  begin_scroll_region(env.log, "products", ImVec2(0, height));
  if (state.scroll_to_top) ImGui::SetScrollY(0);
  const ImGuiStyle& style = ImGui::GetStyle();
  const float spacing = style.ItemSpacing.x;
  // Wide enough for a long word of a product name, and three lines (two of name, one of price).
  const float min_tile = text_width("Cappuccino 00") + 2 * style.FramePadding.x;
  const float avail_w = ImGui::GetContentRegionAvail().x;
  const int columns = std::max(1, static_cast<int>((avail_w + spacing) / (min_tile + spacing)));
  const ImVec2 tile((avail_w - spacing * static_cast<float>(columns - 1)) / static_cast<float>(columns),
                    3 * ImGui::GetFontSize() + 2 * style.FramePadding.y);
  const int rows = (static_cast<int>(shown.size()) + columns - 1) / columns;
  ImGuiListClipper clipper;  // a 1,000-product catalog draws only the visible rows
  clipper.Begin(rows, tile.y + style.ItemSpacing.y);
  while (clipper.Step()) {
    for (int row = clipper.DisplayStart; row < clipper.DisplayEnd; ++row) {
      for (int col = 0; col < columns; ++col) {
        const std::size_t i = static_cast<std::size_t>(row * columns + col);
        if (i >= shown.size()) break;
        const pos::Product& p = *shown[i];
        if (col > 0) ImGui::SameLine();
        const std::string label = wrap_label(p.name, tile.x - 2 * style.FramePadding.x) + "\n" +
                                  pos::Money(p.price, catalog.currency()).amount_string() + "##p" + p.id;
        if (touch_button(env.log, label.c_str(), tile)) env.dispatch(pos::AddProduct{p.id, 1});
      }
    }
  }
  if (shown.empty()) text(env.log, "No product matches.");
  end_scroll_region(env.log);
}

void catalog_column(const pos::Model& m, SellViewState& state, const ViewEnv& env) {
  std::string hint;
  search_row(m, state, env, hint);
  {
    // One line kept for the scanner's digits and the screen's hints, shown or not.
    Reserve line(line_pitch());
    if (!state.wedge.empty()) {
      text(env.log, fit_text("Scanner: " + state.wedge + " (Enter adds it)", ImGui::GetContentRegionAvail().x),
           Tone::Info);
    } else if (!hint.empty()) {
      text(env.log, hint, Tone::Info);
    } else if (!m.reader.connected && !m.cart.lines.empty()) {
      text(env.log, fit_text("No card reader connected: cash only", ImGui::GetContentRegionAvail().x), Tone::Warning);
    } else if (!m.offline.online && !m.cart.lines.empty()) {
      text(env.log, fit_text("Offline: add the customer's contact under Discount/tip (F3)", ImGui::GetContentRegionAvail().x),
           Tone::Warning);
    }
  }
  category_row(state, env);
  const float banner = offline_banner_height(m, env, ImGui::GetContentRegionAvail().x);
  const float grid_h = ImGui::GetContentRegionAvail().y - (banner > 0 ? banner + vgap() : 0.0f);
  product_grid(state, env, std::max(grid_h, touch_size()));
  draw_offline_banner(m, env);
}

// Cart rows are one touch target high: the line's name (tap to edit), -, quantity, +, total.
void cart_table(const pos::Model& m, SellViewState& state, const ViewEnv& env, bool editable, float height) {
  const pos::Currency cur = env.config.catalog.currency();
  begin_scroll_region(env.log, "cart", ImVec2(0, height), true);
  if (state.scroll_to_top) ImGui::SetScrollY(0);
  if (m.cart.lines.empty()) wrapped_text(env.log, "Cart is empty: tap a product or scan a barcode.");
  const float step_w = touch_size();
  const float qty_w = 2 * step_w + 2 * gap() + text_width("999");
  const float total_w = text_width("00,000.00");
  if (!m.cart.lines.empty() && ImGui::BeginTable("cart_lines", 3, ImGuiTableFlags_RowBg)) {
    ImGui::TableSetupColumn("Item", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("Qty", ImGuiTableColumnFlags_WidthFixed, qty_w);
    ImGui::TableSetupColumn("Total", ImGuiTableColumnFlags_WidthFixed, total_w);
    const float text_dy = (touch_size() - ImGui::GetFontSize()) * 0.5f;
    for (std::size_t i = 0; i < m.cart.lines.size(); ++i) {
      const pos::CartLine& line = m.cart.lines[i];
      const pos::SaleLine* computed = i < m.totals.lines.size() ? &m.totals.lines[i] : nullptr;
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      const bool selected = state.selected_line == static_cast<int>(i);
      std::string name = (selected ? "> " : "") + line.name;
      if (computed != nullptr && computed->discount > 0) name += "  -" + pos::Money(computed->discount, cur).amount_string();
      const float row_y = ImGui::GetCursorPosY();
      const std::string id = "##line" + std::to_string(i);
      ImGui::BeginDisabled(!editable);
      // The whole cell is the target; the name is drawn on its middle (a Selectable draws its
      // label at the top). No vertical item spacing: a Selectable grows by it into the next row.
      ImGui::PushStyleVar(ImGuiStyleVar_ItemSpacing, ImVec2(gap(), 0.0f));
      const bool tapped = ImGui::Selectable(id.c_str(), selected, ImGuiSelectableFlags_None, ImVec2(0, touch_size()));
      ImGui::PopStyleVar();
      if (tapped && editable) {
        state.selected_line = static_cast<int>(i);
        state.popup = SellViewState::Popup::Line;
        set_text(state.quantity, std::to_string(line.quantity));
        clear(state.line_discount);
        state.input_error.clear();
      }
      ImGui::EndDisabled();
      // "line: Latte", so a script's "tap Latte" still means the product tile.
      if (env.log != nullptr) env.log->add_last_item(LoggedItem::Kind::Button, "line: " + line.name, editable);
      const float cell_w = ImGui::GetItemRectSize().x;
      const std::string shown = fit_text(name, cell_w - ImGui::GetStyle().FramePadding.x);
      ImGui::SetCursorPosY(row_y + text_dy);
      text(env.log, shown);
      ImGui::TableNextColumn();
      const std::string minus = "-##q" + std::to_string(i);
      const std::string plus = "+##q" + std::to_string(i);
      const float cell_x = ImGui::GetCursorPosX();
      if (touch_button(env.log, minus.c_str(), ImVec2(step_w, 0), editable && line.quantity > 1)) {
        env.dispatch(pos::SetQuantity{i, line.quantity - 1});
      }
      const std::string qty = std::to_string(line.quantity);
      // SameLine(x) counts from the column in a table; SetCursorPos counts from the window.
      ImGui::SameLine();
      // Text beside a button sits on its baseline already (ImGui aligns a line's text to its frames).
      ImGui::SetCursorPos(ImVec2(cell_x + step_w + (qty_w - 2 * step_w - text_width(qty)) * 0.5f, row_y));
      text(env.log, qty);
      ImGui::SameLine();
      ImGui::SetCursorPos(ImVec2(cell_x + qty_w - step_w, row_y));
      if (touch_button(env.log, plus.c_str(), ImVec2(step_w, 0), editable)) {
        env.dispatch(pos::SetQuantity{i, line.quantity + 1});
      }
      ImGui::TableNextColumn();
      if (computed != nullptr) {
        const std::string gross = pos::Money(computed->gross, cur).amount_string();
        // The table aligns the row's text to the buttons' baseline.
        ImGui::SetCursorPos(ImVec2(ImGui::GetCursorPosX() + std::max(0.0f, total_w - text_width(gross)), row_y));
        text(env.log, gross);
      }
    }
    ImGui::EndTable();
  }
  end_scroll_region(env.log);
}

// Every row is reserved: subtotal, discounts, tip on the left; one per tax rate on the right
// (as many as the catalog has classes, up to three; more rates share the last row); TOTAL.
int tax_rows(const ViewEnv& env) {
  return std::clamp(static_cast<int>(env.config.catalog.tax_classes().size()), 1, 3);
}

float totals_height(const ViewEnv& env) {
  const int rows = std::max(3, tax_rows(env));
  const float row = ImGui::GetFontSize() + 2.0f;
  return static_cast<float>(rows) * row + vgap() + env.fonts.large->FontSize * ImGui::GetIO().FontGlobalScale;
}

void totals_block(const pos::Model& m, const ViewEnv& env) {
  const pos::Currency cur = env.config.catalog.currency();
  const pos::Totals& t = m.totals;
  const ImVec2 start = ImGui::GetCursorPos();
  const float width = ImGui::GetContentRegionAvail().x;
  const float half = (width - gap()) * 0.5f;
  const float row = ImGui::GetFontSize() + 2.0f;
  ImGui::PushStyleVar(ImGuiStyleVar_ItemSpacing, ImVec2(gap(), 2.0f));
  total_row(env.log, "Subtotal", money(t.subtotal, cur), start.x + half);
  total_row(env.log, "Discounts", t.discount_total > 0 ? "-" + money(t.discount_total, cur) : money(0, cur), start.x + half);
  total_row(env.log, "Tip", money(t.tip, cur), start.x + half);
  const int rows = tax_rows(env);
  for (int r = 0; r < rows && static_cast<std::size_t>(r) < t.taxes.size(); ++r) {
    ImGui::SetCursorPos(ImVec2(start.x + half + gap(), start.y + row * static_cast<float>(r)));
    const bool last = r == rows - 1 && t.taxes.size() > static_cast<std::size_t>(rows);
    std::int64_t tax = t.taxes[static_cast<std::size_t>(r)].tax;
    if (last) {
      for (std::size_t k = static_cast<std::size_t>(r) + 1; k < t.taxes.size(); ++k) tax += t.taxes[k].tax;
    }
    const std::string label = last ? "Tax, other rates" : "Tax " + percent_text(t.taxes[static_cast<std::size_t>(r)].tax_rate_ppm);
    total_row(env.log, label, money(tax, cur), start.x + width);
  }
  ImGui::PopStyleVar();
  ImGui::SetCursorPos(ImVec2(start.x, start.y + row * static_cast<float>(std::max(3, rows)) + vgap()));
  total_row(env.log, "TOTAL", money(t.total, cur), start.x + width, env.fonts.large);
  ImGui::SetCursorPos(start);
  ImGui::Dummy(ImVec2(width, totals_height(env)));
}

// Charge card (F2), Cash (F6), Exact cash (F4), Discount/tip (F3), Clear cart or Void sale:
// always in these places, enabled or not.
void actions(const pos::Model& m, SellViewState& state, const ViewEnv& env, bool editable) {
  const float w = ImGui::GetContentRegionAvail().x;
  const bool has_lines = !m.cart.lines.empty();
  const bool can_pay = has_lines && m.reader.connected;
  const bool keys = !any_popup() && !ImGui::IsAnyItemActive();
  const int first = button_row(env.log, {{kCharge, true, can_pay, Tone::Good, 2.0f}, {kCash, true, has_lines}}, w);
  if (first == 0 || (keys && can_pay && key_pressed(kKeyF2))) env.dispatch(pos::Charge{});
  if (first == 1 || (keys && has_lines && key_pressed(kKeyF6))) {
    state.popup = SellViewState::Popup::Cash;
    clear(state.cash);
    state.input_error.clear();
  }
  // -1 when nothing was tapped; 0..2 the button.
  const int tapped = button_row(env.log,
                                {{kExact, true, has_lines},
                                 {kOptions, true, editable && has_lines},
                                 {m.sale ? "Void sale" : "Clear cart", true, m.sale || has_lines,
                                  m.sale ? Tone::Bad : Tone::Neutral, 1.0f, {"Void sale", "Clear cart"}}},
                                w);
  if (tapped == 0 || (keys && has_lines && key_pressed(kKeyF4))) env.dispatch(pos::PayCash{pos::balance_due(m)});
  if (tapped == 1 || (keys && editable && has_lines && key_pressed(kKeyF3))) {
    state.popup = SellViewState::Popup::Options;
    state.input_error.clear();
  }
  if (tapped == 2) {
    env.dispatch(m.sale ? pos::Action(pos::VoidSale{}) : pos::Action(pos::ClearCart{}));
    if (!m.sale) {
      // The cashier cleared the cart: nothing of it stays on screen (the search, the buffers).
      const int category = state.category;
      state = SellViewState{};
      state.category = category;
    }
  }
}

float actions_height(const pos::Model& m, float width) {
  return button_row_height({{kCharge, true, true, Tone::Good, 2.0f}, {kCash}}, width) + vgap() +
         button_row_height({{kExact}, {kOptions},
                            {m.sale ? "Void sale" : "Clear cart", true, true, Tone::Neutral, 1.0f, {"Void sale", "Clear cart"}}},
                           width);
}

void cart_column(const pos::Model& m, SellViewState& state, const ViewEnv& env, bool editable) {
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float below = totals_height(env) + actions_height(m, avail.x) + 2 * vgap();
  cart_table(m, state, env, editable, std::max(touch_size() * 2, avail.y - below));
  totals_block(m, env);
  actions(m, state, env, editable);
}

// The cart column is wide enough for its widest row of actions, and takes 45 % of the screen
// when that is more; the catalog keeps at least one tile column.
float cart_column_width(const pos::Model& m, float width) {
  const float actions_min =
      std::max(widest_button({kCharge}) + gap() + widest_button({kCash}),
               widest_button({kExact}) + widest_button({kOptions}) + widest_button({"Void sale", "Clear cart"}) + 2 * gap());
  (void)m;
  return std::clamp(std::max(width * 0.45f, actions_min), width * 0.35f, width * 0.55f);
}

void show_input_error(const std::string& error, const ViewEnv& env) {
  Reserve line(line_pitch());
  if (!error.empty()) text(env.log, "! " + error, Tone::Bad);
}

// The line editor: quantity (Enter sets it), line discount in % or amount (Enter applies it),
// remove; Done or Esc closes it.
void line_popup(const pos::Model& m, SellViewState& state, const ViewEnv& env) {
  const bool valid = state.selected_line >= 0 && static_cast<std::size_t>(state.selected_line) < m.cart.lines.size();
  if (!modal(env.log, kLinePopup, state.popup == SellViewState::Popup::Line && valid)) return;
  const auto i = static_cast<std::size_t>(state.selected_line);
  const pos::Currency cur = env.config.catalog.currency();
  text(env.log, "Line: " + m.cart.lines[i].name, std::nullopt, env.fonts.bold);
  if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
  const bool qty_entered = field(env.log, "##qty", "Qty", state.quantity, field_width("Qty", "0000"));
  ImGui::SameLine();
  if (touch_button(env.log, "Set qty") || qty_entered) {
    auto q = parse_quantity(state.quantity.data());
    if (q) {
      env.dispatch(pos::SetQuantity{i, *q});
      state.input_error.clear();
    } else {
      state.input_error = q.error().message;
    }
  }
  const bool disc_entered = field(env.log, "##linedisc", "Discount", state.line_discount, field_width("Discount", "000.00"));
  ImGui::SameLine();
  if (touch_button(env.log, state.line_discount_percent ? "%##ld" : "$##ld")) {
    state.line_discount_percent = !state.line_discount_percent;
  }
  ImGui::SameLine();
  if (touch_button(env.log, "Apply line discount") || disc_entered) {
    auto d = parse_discount(state.line_discount.data(), state.line_discount_percent, cur);
    if (d) {
      env.dispatch(pos::SetLineDiscount{i, *d});
      state.input_error.clear();
    } else {
      state.input_error = d.error().message;
    }
  }
  show_input_error(state.input_error, env);
  const int tapped = button_row(env.log, {{"Remove line", true, true, Tone::Bad}, {"Done"}},
                                widest_button({"Remove line", "Done"}) * 2 + gap());
  if (tapped == 0) env.dispatch(pos::RemoveLine{i});
  if (tapped >= 0 || escape_pressed()) {
    state.popup = SellViewState::Popup::None;
    state.selected_line = -1;
    state.input_error.clear();
  }
  end_modal(env.log);
}

// Cart discount, tip (presets of the taxed subtotal, or an amount) and, offline, the customer's
// contact.
void options_popup(const pos::Model& m, SellViewState& state, const ViewEnv& env) {
  if (!modal(env.log, kOptionsPopup, state.popup == SellViewState::Popup::Options)) return;
  const pos::Currency cur = env.config.catalog.currency();
  if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();  // typed digits go to the discount
  const bool disc_entered = field(env.log, "##cartdisc", "Cart discount", state.cart_discount,
                                  field_width("Cart discount", "000.00"));
  ImGui::SameLine();
  if (touch_button(env.log, state.cart_discount_percent ? "%##cd" : "$##cd")) {
    state.cart_discount_percent = !state.cart_discount_percent;
  }
  ImGui::SameLine();
  if (touch_button(env.log, "Apply cart discount") || disc_entered) {
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
  if (touch_button(env.log, "No tip")) env.dispatch(pos::SetTip{0});
  for (int pct : {10, 15, 20}) {
    ImGui::SameLine();
    const std::string label = std::to_string(pct) + "%##tip";
    if (touch_button(env.log, label.c_str())) {
      auto amount = pos::mul_div_round_half_up(base, pct, 100);
      if (amount) env.dispatch(pos::SetTip{*amount});
    }
  }
  const bool tip_entered = field(env.log, "##tip", "Tip", state.tip, field_width("Tip", "000.00"));
  ImGui::SameLine();
  if (touch_button(env.log, "Set tip") || tip_entered) {
    auto amount = parse_amount(state.tip.data(), cur);
    if (amount) {
      env.dispatch(pos::SetTip{*amount});
      state.input_error.clear();
    } else {
      state.input_error = amount.error().message;
    }
  }
  if (!m.offline.online) {
    const bool contact_entered = field(env.log, "##contact", "Customer email/phone (offline)", state.contact,
                                       field_width("Customer email/phone (offline)"));
    ImGui::SameLine();
    if (touch_button(env.log, "Save contact") || contact_entered) env.dispatch(pos::SetCustomerContact{state.contact.data()});
  }
  text(env.log, "Total now " + money(m.totals.total, cur) + " (tip " + money(m.totals.tip, cur) + ")");
  show_input_error(state.input_error, env);
  if (touch_button(env.log, "Done##options") || escape_pressed()) {
    state.popup = SellViewState::Popup::None;
    state.input_error.clear();
  }
  end_modal(env.log);
}

void cash_popup(const pos::Model& m, SellViewState& state, const ViewEnv& env) {
  if (!modal(env.log, kCashPopup, state.popup == SellViewState::Popup::Cash)) return;
  const std::int64_t due = pos::balance_due(m);
  text(env.log, "Due " + money(due, env.config.catalog.currency()), std::nullopt, env.fonts.large);
  if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
  Flow flow(field_width("Cash given", "00000.00") + widest_button({"Take cash"}) + gap());
  const bool dispatched = cash_entry(state.cash, state.input_error, due, env, true, flow, false);
  show_input_error(state.input_error, env);
  if (touch_button(env.log, "Close##cash") || escape_pressed() || dispatched) {
    state.popup = SellViewState::Popup::None;
    state.input_error.clear();
  }
  end_modal(env.log);
}

}  // namespace

void draw_sell(const pos::Model& m, SellViewState& state, const ViewEnv& env) {
  const bool open_sale = !m.sale || m.sale->state == pos::SaleState::Open;
  const bool cart_editable = m.phase == PaymentPhase::None && open_sale && pos::amount_paid(m) == 0;
  if (!cart_editable && state.popup != SellViewState::Popup::Cash) state.popup = SellViewState::Popup::None;
  wedge_scanner(state, env);
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float cart_w = cart_column_width(m, avail.x);
  begin_fixed_region("catalog", ImVec2(avail.x - cart_w - gap(), avail.y));
  catalog_column(m, state, env);
  end_fixed_region();
  ImGui::SameLine();
  begin_fixed_region("cart_panel", ImVec2(cart_w, avail.y));
  cart_column(m, state, env, cart_editable);
  end_fixed_region();
  line_popup(m, state, env);
  options_popup(m, state, env);
  cash_popup(m, state, env);
  state.scroll_to_top = false;
}

void detail::close_sell_popups(SellViewState& state, FrameLog* log) {
  state.popup = SellViewState::Popup::None;
  for (const char* name : {kLinePopup, kOptionsPopup, kCashPopup}) (void)modal(log, name, false);
}

}  // namespace till::ui
