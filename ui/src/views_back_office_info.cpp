// The back office tabs that report and configure: end of day, readers, settings.

#include <cstdio>
#include <string>

#include "views_common.hpp"

namespace till::ui::detail {

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
  total_row(env.log, "Register", c.register_id, x);
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

}  // namespace till::ui::detail
