// The payment screen. Left: what is due, the phase with a word badge, what the cashier reads for
// it (a scrolling region), and the phase's buttons at the bottom in two fixed places (retry or
// charge the balance; cancel); none at all while the outcome is unknown. Right: split tender
// (card for an amount, cash), kept in place even when it is hidden, the sale's tenders and the
// declined receipt (a scrolling region), and the staff offline banner.

#include <string>

#include "till/ui/input_parse.hpp"
#include "views_common.hpp"

namespace till::ui {

using namespace detail;

namespace {

bool retryable(PaymentPhase p) {
  return p == PaymentPhase::Declined || p == PaymentPhase::Refused || p == PaymentPhase::Failed;
}

// What the cashier reads for the payment's phase: a prompt in large type, then the detail.
void phase_message(const pos::Model& m, const pos::PaymentAttempt* last, std::int64_t balance, const ViewEnv& env) {
  const pos::Currency cur = env.config.catalog.currency();
  auto prompt = [&](const std::string& s, Tone tone) { wrapped_text(env.log, s, tone, env.fonts.large); };
  auto line = [&](const std::string& s) { wrapped_text(env.log, s); };
  switch (m.phase) {
    case PaymentPhase::Collecting:
      prompt(m.reader.prompt_text.empty() ? "Present card on the reader" : m.reader.prompt_text, Tone::Info);
      line("Waiting for the reader. The customer can tap, insert or swipe.");
      break;
    case PaymentPhase::Canceling:
      prompt("Canceling: waiting for the reader to confirm", Tone::Info);
      line("If the card was already read, the payment may still complete.");
      break;
    case PaymentPhase::Authorizing:
      prompt(m.reader.prompt_text.empty() ? "Processing: do not remove the card" : m.reader.prompt_text, Tone::Info);
      line("Authorizing with the bank. This cannot be cancelled now.");
      break;
    case PaymentPhase::InDoubt:
      // Lesson 1 and 2: no retry, no other tender, no cancel until Stripe's answer is known.
      prompt(std::string(pos::kInDoubtText), Tone::Warning);
      line("Checking with Stripe. Do not retry and do not take another payment for this sale.");
      line("The card may have been charged. This screen updates by itself when Stripe answers.");
      if (last != nullptr && !last->failure_message.empty()) line("Reason: " + last->failure_message);
      line("A manager can set the sale aside from the back office to serve the next customer.");
      break;
    case PaymentPhase::Declined: {
      const std::string code = last != nullptr ? last->decline_code : std::string();
      prompt("Declined: " + pos::decline_reason(code), Tone::Bad);
      if (!code.empty()) line("Decline code: " + code);
      break;
    }
    case PaymentPhase::Refused:
      prompt("Card refused offline", Tone::Bad);
      if (last != nullptr && !last->failure_message.empty()) line(last->failure_message);
      line("Nothing was charged. Try another card, take cash, or wait for the connection.");
      break;
    case PaymentPhase::Failed:
      prompt("The reader did not read a card", Tone::Bad);
      if (last != nullptr && !last->failure_message.empty()) line("Reader: " + last->failure_message);
      line("Nothing was charged: it is safe to try again.");
      break;
    case PaymentPhase::None:
      if (balance > 0) prompt("Balance due " + money(balance, cur) + ": take another card or cash", Tone::Info);
      break;
  }
}

// The phase's buttons, always in the same two places: the left one retries (or charges the
// balance), the right one cancels. Esc cancels while the reader collects.
void phase_buttons(const pos::Model& m, const ViewEnv& env, float width) {
  const float h = touch_size() * 1.25f;
  const bool retry = retryable(m.phase);
  const bool balance = m.phase == PaymentPhase::None && pos::balance_due(m) > 0;
  const bool cancel = retry || m.phase == PaymentPhase::Collecting;
  const char* left = balance ? "Charge card for the balance"
                     : m.phase == PaymentPhase::Failed ? "Try the card again"
                                                       : "Try another card";
  const int tapped = button_row(
      env.log,
      {{left, retry || balance, m.reader.connected, Tone::Good, 1.0f, {"Try another card", "Try the card again"}},
       {"Cancel payment", cancel, true, Tone::Bad}},
      width, h);
  if (tapped == 0) env.dispatch(balance ? pos::Action(pos::Charge{}) : pos::Action(pos::RetryWithAnotherCard{}));
  if (tapped == 1 || (m.phase == PaymentPhase::Collecting && escape_pressed())) env.dispatch(pos::CancelPayment{});
}

float phase_buttons_height(float width) {
  return button_row_height({{"Try another card", true, true, Tone::Good, 1.0f, {"Try the card again"}}, {"Cancel payment"}},
                           width, touch_size() * 1.25f);
}

void status_column(const pos::Model& m, const ViewEnv& env) {
  const pos::Currency cur = env.config.catalog.currency();
  const std::int64_t total = m.sale ? m.sale->total : m.totals.total;
  const std::int64_t paid = pos::amount_paid(m);
  const std::int64_t balance = pos::balance_due(m);
  const pos::PaymentAttempt* active = active_attempt(m);
  const pos::PaymentAttempt* last = active != nullptr ? active : last_card_attempt(m);
  const float width = ImGui::GetContentRegionAvail().x;
  text(env.log, fit_text("Due " + money(balance, cur), width), std::nullopt, env.fonts.large);
  text(env.log, fit_text("Total " + money(total, cur) + "   Paid " + money(paid, cur), width));
  {
    Reserve row(badge_height() + vgap());
    badge(env.log, phase_label(m.phase), phase_tone(m.phase));
    if (active != nullptr) {
      ImGui::SameLine();
      ImGui::SetCursorPosY(ImGui::GetCursorPosY() + (badge_height() - ImGui::GetFontSize()) * 0.5f);
      text(env.log, fit_text("Card payment " + money(active->amount, cur) + " (attempt " + std::to_string(active->number) + ")",
                             ImGui::GetContentRegionAvail().x));
    }
  }
  const float buttons_h = phase_buttons_height(width);
  begin_scroll_region(env.log, "payment_message", ImVec2(width, ImGui::GetContentRegionAvail().y - buttons_h - vgap()));
  phase_message(m, last, balance, env);
  end_scroll_region(env.log);
  phase_buttons(m, env, width);
}

// Split tender: part card, part cash, whenever no card payment is running or in question. The
// rows keep their place when hidden, so the tenders below never move.
void split_tender(const pos::Model& m, PaymentViewState& state, const ViewEnv& env) {
  const pos::Currency cur = env.config.catalog.currency();
  const std::int64_t balance = pos::balance_due(m);
  const bool shown = m.phase == PaymentPhase::None || retryable(m.phase);
  const float width = ImGui::GetContentRegionAvail().x;
  const float card_w = field_width("Card amount", "00000.00");
  const float cash_w = field_width("Cash given", "00000.00");
  const int rows = Flow::rows({card_w, touch_button_size("Charge card for amount").x, cash_w,
                               touch_button_size("Take cash").x, touch_button_size("Exact cash (F4)").x,
                               touch_button_size("Void sale").x},
                              width);
  Reserve block(line_pitch() + static_cast<float>(rows) * row_pitch());
  if (!shown) return;
  text(env.log, "Split the payment:");
  Flow flow(width);
  flow.next(card_w);
  tab_into_first_field();
  const bool entered = field(env.log, "##split", "Card amount", state.split_amount, card_w);
  const bool can_charge = m.reader.connected && m.phase == PaymentPhase::None;
  flow.next(touch_button_size("Charge card for amount").x);
  if (touch_button(env.log, "Charge card for amount", ImVec2(0, 0), can_charge) || (entered && can_charge)) {
    auto amount = parse_amount(state.split_amount.data(), cur);
    if (amount) {
      env.dispatch(pos::Charge{*amount});
      clear(state.split_amount);
      state.input_error.clear();
    } else {
      state.input_error = amount.error().message;
    }
  }
  cash_entry(state.cash, state.input_error, balance, env, balance > 0, flow, true);
  flow.next(touch_button_size("Void sale").x);
  if (slot_button(env.log, "Void sale", ImVec2(0, 0), pos::amount_paid(m) == 0, true, Tone::Bad)) {
    env.dispatch(pos::VoidSale{});
  }
}

void declined_receipt(const pos::Model& m, const ViewEnv& env) {
  // Card schemes want a receipt for a decline too (lesson 17): the reducer printed it; show it.
  if (m.phase != PaymentPhase::Declined || m.last_receipt.empty()) return;
  const bool open = ImGui::CollapsingHeader("Declined receipt (printed)");
  if (env.log != nullptr) env.log->add_last_item(LoggedItem::Kind::Button, "Declined receipt (printed)");
  if (open) {
    ImGui::PushFont(env.fonts.mono);
    text(env.log, m.last_receipt);
    ImGui::PopFont();
  }
}

}  // namespace

void draw_payment(const pos::Model& m, PaymentViewState& state, const ViewEnv& env) {
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float left_w = std::max(avail.x * 0.55f, std::min(avail.x * 0.7f, 2 * widest_button({"Try the card again",
                                                                                             "Cancel payment"}) + gap()));
  begin_fixed_region("payment_status", ImVec2(left_w, avail.y));
  status_column(m, env);
  end_fixed_region();
  ImGui::SameLine();
  begin_fixed_region("payment_tender", ImVec2(0, avail.y));
  split_tender(m, state, env);
  {
    Reserve line(line_pitch());
    if (!state.input_error.empty()) text(env.log, "! " + state.input_error, Tone::Bad);
  }
  const float banner = offline_banner_height(m, env, ImGui::GetContentRegionAvail().x);
  begin_scroll_region(env.log, "tenders",
                      ImVec2(0, std::max(touch_size(), ImGui::GetContentRegionAvail().y - (banner > 0 ? banner + vgap() : 0))));
  tenders_list(m, env);
  declined_receipt(m, env);
  end_scroll_region(env.log);
  draw_offline_banner(m, env);
  end_fixed_region();
}

}  // namespace till::ui
