// The payment screen: total / paid / due, the phase with a word badge, only the buttons that make
// sense in that phase (none while in doubt), split tender, the sale's tenders.

#include <string>

#include "till/ui/input_parse.hpp"
#include "views_common.hpp"

namespace till::ui {

using namespace detail;

namespace {

// What the cashier reads for the payment's phase, and the one button that belongs to it (cancel
// while the reader collects).
void phase_message(const pos::Model& m, const pos::PaymentAttempt* last, std::int64_t balance, const ViewEnv& env,
                   ImVec2 big) {
  const pos::Currency cur = env.config.catalog.currency();
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
}

// Split tender: part card, part cash, whenever no card payment is running or in question.
void split_tender(const pos::Model& m, PaymentViewState& state, const ViewEnv& env) {
  const pos::Currency cur = env.config.catalog.currency();
  const std::int64_t balance = pos::balance_due(m);
  const std::int64_t paid = pos::amount_paid(m);
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

void declined_receipt(const pos::Model& m, const ViewEnv& env) {
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

}  // namespace

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
  phase_message(m, last, balance, env, big);
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
  if (m.phase == PaymentPhase::None || retryable) split_tender(m, state, env);
  ImGui::Spacing();
  tenders_list(m, env);
  declined_receipt(m, env);
}

}  // namespace till::ui
