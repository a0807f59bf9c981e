// The receipt screen: the receipt as the reducer rendered it, paid badge, change, print again,
// email, new sale.

#include <optional>
#include <string>

#include "views_common.hpp"

namespace till::ui {

using namespace detail;

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

}  // namespace till::ui
