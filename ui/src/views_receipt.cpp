// The receipt screen. Left: the receipt as the reducer rendered it (monospace, scaled down when
// its 42 columns do not fit; a scrolling region). Right, each in a reserved place: the paid badge,
// the sale's total, the offline note, the change due, New sale (F5), print again, email; then the
// tenders and the staff offline banner.

#include <algorithm>
#include <optional>
#include <string>

#include "views_common.hpp"

namespace till::ui {

using namespace detail;

namespace {

constexpr int kReceiptColumns = 42;

void receipt_paper(const pos::Model& m, const ViewEnv& env, float width) {
  begin_scroll_region(env.log, "receipt", ImVec2(width, 0), true);
  ImGui::PushFont(env.fonts.mono);
  const float needed = text_width(std::string(kReceiptColumns, '0'));
  const float fit = std::min(1.0f, ImGui::GetContentRegionAvail().x / needed);
  ImGui::SetWindowFontScale(fit);
  text(env.log, m.last_receipt.empty() ? std::string("(no receipt)") : m.last_receipt);
  ImGui::SetWindowFontScale(1.0f);
  ImGui::PopFont();
  end_scroll_region(env.log);
}

void sale_outcome(const pos::Model& m, const ViewEnv& env) {
  const pos::Currency cur = env.config.catalog.currency();
  const float width = ImGui::GetContentRegionAvail().x;
  const float large = env.fonts.large->FontSize * ImGui::GetIO().FontGlobalScale;
  const bool paid = m.sale && m.sale->state == pos::SaleState::Paid;
  bool offline = false;
  for (const auto& a : m.attempts) offline = offline || a.state == AttemptState::StoredOffline;
  {
    Reserve row(badge_height() + vgap());
    if (paid) badge(env.log, offline ? "~ PAID (STORED OFFLINE)" : "OK PAID", offline ? Tone::Info : Tone::Good);
  }
  {
    Reserve row(large + vgap());
    if (paid) text(env.log, fit_text("Sale complete: " + money(m.sale->total, cur), width), std::nullopt, env.fonts.large);
  }
  {
    Reserve rows(2 * ImGui::GetFontSize() + vgap());
    if (offline) {
      ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + width);
      text(env.log, fit_lines("Card stored offline: it is authorized when the connection returns.", width, 2), Tone::Info);
      ImGui::PopTextWrapPos();
    }
  }
  Reserve row(large + vgap());
  if (m.change_due > 0) {
    text(env.log, fit_text("Change due " + money(m.change_due, cur), width), Tone::Warning, env.fonts.large);
  }
}

void print_and_email(const pos::Model& m, ReceiptViewState& state, const ViewEnv& env) {
  const float width = ImGui::GetContentRegionAvail().x;
  if (touch_button(env.log, "Print again")) env.dispatch(pos::ReprintReceipt{});
  ImGui::SameLine();
  ImGui::AlignTextToFramePadding();
  text(env.log, fit_text("Receipt sent to the printer.", ImGui::GetContentRegionAvail().x));
  // Email: the address lives only in this field until it is dispatched (the store seals it).
  if (state.email[0] == '\0' && !state.email_prefilled && m.customer_contact.find('@') != std::string::npos) {
    set_text(state.email, m.customer_contact);
  }
  state.email_prefilled = true;
  Flow flow(width);
  const float email_w = std::min(width, field_width("Customer email", "customer.name@example.com"));
  flow.next(email_w);
  tab_into_first_field();
  const bool entered = field(env.log, "##email", "Customer email", state.email, email_w);
  flow.next(touch_button_size("Email receipt").x);
  if (touch_button(env.log, "Email receipt") || entered) {
    const std::string address = state.email.data();
    if (address.find('@') == std::string::npos) {
      state.input_error = "Type the customer's email address first";
    } else {
      env.dispatch(pos::EmailReceipt{address});
      clear(state.email);
      state.input_error.clear();
    }
  }
  Reserve line(line_pitch());
  if (!state.input_error.empty()) text(env.log, fit_text("! " + state.input_error, width), Tone::Bad);
}

}  // namespace

void draw_receipt(const pos::Model& m, ReceiptViewState& state, const ViewEnv& env) {
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  ImGui::PushFont(env.fonts.mono);
  const float paper = text_width(std::string(kReceiptColumns, '0')) + 2 * ImGui::GetStyle().WindowPadding.x +
                      ImGui::GetStyle().ScrollbarSize;
  ImGui::PopFont();
  const float paper_w = std::clamp(paper, avail.x * 0.35f, avail.x * 0.5f);
  receipt_paper(m, env, paper_w);
  ImGui::SameLine();
  begin_fixed_region("receipt_side", ImVec2(0, avail.y));
  sale_outcome(m, env);
  const float width = ImGui::GetContentRegionAvail().x;
  if (touch_button(env.log, "New sale (F5)", ImVec2(std::min(width, widest_button({"New sale (F5)"}) * 1.6f),
                                                    touch_size() * 1.25f),
                   true, Tone::Good) ||
      key_pressed(kKeyF5)) {
    env.dispatch(pos::NewSale{});
  }
  print_and_email(m, state, env);
  const float banner = offline_banner_height(m, env, width);
  begin_scroll_region(env.log, "tenders",
                      ImVec2(0, std::max(touch_size(), ImGui::GetContentRegionAvail().y - (banner > 0 ? banner + vgap() : 0))));
  tenders_list(m, env);
  end_scroll_region(env.log);
  draw_offline_banner(m, env);
  end_fixed_region();
}

}  // namespace till::ui
