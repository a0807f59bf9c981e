// The back office tabs that report and configure: end of day, readers, settings.

#include <cstdio>
#include <string>

#include "views_common.hpp"

namespace till::ui::detail {
namespace {

// Label / value rows in two columns sharing the width, both wrapped: no fixed column position,
// so long values fit a narrow screen and short ones do not float far from their label.
class InfoTable {
 public:
  InfoTable(const char* id, FrameLog* log) : log_(log), open_(ImGui::BeginTable(id, 2, ImGuiTableFlags_RowBg)) {
    if (!open_) return;
    ImGui::TableSetupColumn("label", ImGuiTableColumnFlags_WidthStretch, 1.0f);
    ImGui::TableSetupColumn("value", ImGuiTableColumnFlags_WidthStretch, 1.2f);
  }
  ~InfoTable() {
    if (open_) ImGui::EndTable();
  }
  InfoTable(const InfoTable&) = delete;
  InfoTable& operator=(const InfoTable&) = delete;
  void row(const std::string& label, const std::string& value) {
    if (!open_) return;
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    wrapped_text(log_, label);
    ImGui::TableNextColumn();
    wrapped_text(log_, value);
  }

 private:
  FrameLog* log_;
  bool open_;
};

}  // namespace

void day_tab(const pos::Model& m, const ViewEnv& env) {
  const pos::BackOffice& bo = m.back_office;
  const pos::Currency fallback = env.config.catalog.currency();
  if (touch_button(env.log, "Refresh report")) env.dispatch(pos::LoadDayReport{});
  if (bo.day_loading) {
    wrapped_text(env.log, ".. building the report from the store", Tone::Info);
  } else if (!bo.day_error.empty()) {
    wrapped_text(env.log, "! Report failed: " + bo.day_error, Tone::Bad);
  } else {
    wrapped_text(env.log, "From the store's ledger (the same one the sync uses); UTC day.");
  }
  if (!bo.day) {
    text(env.log, "No report loaded.");
    return;
  }
  const pos::DaySummary& d = *bo.day;
  text(env.log, "End of day " + d.day, std::nullopt, env.fonts.large);
  // Eight columns do not fit a narrow screen: the table scrolls sideways in its own region.
  constexpr ImGuiTableFlags kTable =
      ImGuiTableFlags_Borders | ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollX;
  const float table_h = static_cast<float>(d.currencies.size() + 1) *
                            (ImGui::GetFontSize() + 2 * ImGui::GetStyle().CellPadding.y + 1) +
                        ImGui::GetStyle().ScrollbarSize + 2;
  if (d.currencies.empty()) text(env.log, "No sales today.");
  if (!d.currencies.empty() && ImGui::BeginTable("day_currencies", 8, kTable, ImVec2(0, table_h))) {
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
  InfoTable info("day_totals", env.log);
  for (const auto& t : d.tenders) {
    const std::string name = t.tender == "card_stored_offline" ? "Card stored offline (not yet authorized)"
                             : t.tender == "card"              ? "Card"
                             : t.tender == "cash"              ? "Cash"
                                                               : t.tender;
    info.row(name + " (" + std::to_string(t.count) + ")", money(t.amount, t.currency, fallback));
  }
  for (const auto& t : d.tax_rates) {
    info.row("Tax " + t.tax_code + " " + percent_text(t.rate_ppm) + " on " + money(t.net, t.currency, fallback),
              money(t.tax, t.currency, fallback));
  }
  for (const auto& f : d.fees) {
    info.row("Platform fees (" + std::to_string(f.payments) + " payments)",
              money(f.application_fees, f.currency, fallback));
  }
  for (const auto& r : d.refunds) {
    info.row("Refunds confirmed (" + std::to_string(r.count) + ")", money(r.amount, r.currency, fallback));
    if (r.pending > 0) info.row("  refunds still queued", std::to_string(r.pending));
  }
  info.row("Declined attempts", std::to_string(d.declined));
  info.row("Declined after forwarding (contact the customer)", std::to_string(d.declined_after_forward));
  info.row("In doubt (being checked)", std::to_string(d.in_doubt));
  info.row("Not yet sent to Stripe", std::to_string(d.unsent));
}

void readers_tab(const pos::Model& m, const ViewEnv& env) {
  const pos::ReaderStatus& r = m.reader;
  const pos::ReaderDetails& d = r.details;
  badge(env.log, r.connected ? "OK CONNECTED" : "X " + upper_words(d.connection), r.connected ? Tone::Good : Tone::Bad);
  ImGui::SameLine();
  text(env.log, fit_text(r.label.empty() ? "(no reader)" : r.label, ImGui::GetContentRegionAvail().x));
  if (!r.detail.empty()) wrapped_text(env.log, "Detail: " + r.detail);
  {
  InfoTable info("reader_details", env.log);
  info.row("Connection", d.connection);
  info.row("Battery",
            d.battery_percent < 0 ? std::string("unknown / mains")
                                  : std::to_string(d.battery_percent) + " %" + (d.charging ? " (charging)" : "") +
                                        (d.battery_percent <= 15 ? "  ! LOW" : ""));
  info.row("Firmware", d.firmware_version.empty() ? std::string("unknown") : d.firmware_version);
  info.row("Update",
            d.update_progress >= 0 ? ".. installing " + std::to_string(d.update_progress) + " %"
            : d.update_required    ? std::string("! REQUIRED: install before the next payment")
                                   : std::string("none required"));
  info.row("Offline payments",
            d.offline_capable ? "~ capable: " + std::to_string(d.offline_stored) + " of " +
                                    std::to_string(d.offline_capacity) + " stored on the reader"
                              : std::string("X not supported by this reader"));
  info.row("Reader's own network", d.reader_online ? "online" : "offline (stores and forwards)");
  }
  ImGui::Separator();
  if (r.command_running) {
    text(env.log, ".. a reader command is running", Tone::Info);
    return;
  }
  const bool busy = m.phase == PaymentPhase::Collecting || m.phase == PaymentPhase::Canceling ||
                    m.phase == PaymentPhase::Authorizing || m.phase == PaymentPhase::InDoubt;
  Flow flow(ImGui::GetContentRegionAvail().x);
  if (!r.connected) {
    flow.next(touch_button_size("Connect reader").x);
    if (touch_button(env.log, "Connect reader")) env.dispatch(pos::ManageReader{pos::ReaderCommandKind::Connect});
  }
  if (r.connected) {
    flow.next(touch_button_size("Disconnect reader").x);
    if (touch_button(env.log, "Disconnect reader", ImVec2(0, 0), !busy)) {
      env.dispatch(pos::ManageReader{pos::ReaderCommandKind::Disconnect});
    }
    flow.next(touch_button_size("Install update").x);
    if (touch_button(env.log, "Install update", ImVec2(0, 0), !busy)) {
      env.dispatch(pos::ManageReader{pos::ReaderCommandKind::InstallUpdate});
    }
  }
  flow.next(touch_button_size("Refresh status").x);
  if (touch_button(env.log, "Refresh status", ImVec2(0, 0), !busy)) {
    env.dispatch(pos::ManageReader{pos::ReaderCommandKind::RefreshStatus});
  }
  if (busy) wrapped_text(env.log, "The reader is taking a payment: reader commands wait until it is done.", Tone::Warning);
}

void settings_tab(BackOfficeViewState& state, const ViewEnv& env) {
  const KioskConfig& c = env.config;
  {
  InfoTable info("settings", env.log);
  info.row("Register", c.register_name.empty() ? c.register_id : c.register_name + " (" + c.register_id + ")");
  info.row("Connected account", c.account_id.empty() ? "(none)" : c.account_id);
  info.row("Location", c.location_id.empty() ? "(none)" : c.location_id);
  info.row("Mode", c.mode);
  // Only ever the mask: the key's value is never drawn (architecture.md, security rules).
  info.row("API key", c.api_key.empty() ? "(not set: simulator)" : c.api_key.masked());
  info.row("Platform fee rule", c.fee_rule + " (fixed minor units + basis points) on each card payment");
  info.row("Capture", c.capture_method);
  info.row("Offline payments", c.risk.enabled ? "allowed within caps" : "refused (require online)");
  const pos::Currency own = c.catalog.currency();
  if (auto caps = c.risk.caps.find(std::string(own.code())); caps != c.risk.caps.end()) {
    info.row("  " + own.upper() + " caps",
              money(caps->second.per_transaction_max, own) + " per payment, " +
                  money(caps->second.stored_total_max, own) + " stored");
  } else {
    info.row("  " + own.upper() + " caps", "none: offline refused in this currency");
  }
  std::string others;
  for (const auto& [code, caps] : c.risk.caps) {
    if (code != own.code()) others += (others.empty() ? "" : ", ") + currency_of(code, own).upper();
  }
  if (!others.empty()) info.row("  Other currencies with caps", others);
  info.row("  Stored count cap", std::to_string(c.risk.max_stored_count));
  info.row("  Oldest before forwarding", age_text(c.risk.max_age));
  std::string brands;
  for (const auto& b : c.risk.allowed_brands) brands += (brands.empty() ? "" : ", ") + b;
  info.row("  Brands allowed offline", brands);
  }
  ImGui::Separator();
  char buf[48];
  std::snprintf(buf, sizeof buf, "Text size: %.0f%%", static_cast<double>(state.font_scale) * 100.0);
  ImGui::AlignTextToFramePadding();
  text(env.log, buf);
  ImGui::SameLine();
  if (touch_button(env.log, "A-") && state.font_scale > 0.75f) state.font_scale -= 0.125f;
  ImGui::SameLine();
  if (touch_button(env.log, "A+") && state.font_scale < 2.0f) state.font_scale += 0.125f;
}

}  // namespace till::ui::detail
