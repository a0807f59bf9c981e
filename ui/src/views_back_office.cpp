// The back office: the manager PIN pad, the tab shell, and the tabs that act on payments (sync
// queue, needs attention, refunds).

#include <algorithm>
#include <string>

#include "till/ui/input_parse.hpp"
#include "views_common.hpp"

namespace till::ui {
namespace detail {
namespace {

std::string attention_kind(pos::AttentionItem::Kind k) {
  switch (k) {
    case pos::AttentionItem::Kind::InDoubt: return "?? IN DOUBT";
    case pos::AttentionItem::Kind::Dead: return "X DEAD";
    case pos::AttentionItem::Kind::DeclinedAfterForward: return "X DECLINED AFTER FORWARD";
  }
  return "?";
}

}  // namespace

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
    wrapped_text(env.log, "The register is waiting for a payment outcome.", Tone::Warning);
    if (touch_button(env.log, "Set current sale aside")) env.dispatch(pos::SetAsideSale{});
  }
  if (m.back_office.attention.empty()) {
    text(env.log, "Nothing needs attention.");
    return;
  }
  const char* note_hint = "Note for 'Mark handled' (required)";
  tab_into_first_field();
  field(env.log, "##note", note_hint, state.note, std::min(ImGui::GetContentRegionAvail().x, field_width(note_hint)));
  for (std::size_t i = 0; i < m.back_office.attention.size(); ++i) {
    const pos::AttentionItem& item = m.back_office.attention[i];
    ImGui::PushID(static_cast<int>(i));
    ImGui::Separator();
    badge(env.log, attention_kind(item.kind),
          item.kind == pos::AttentionItem::Kind::InDoubt ? Tone::Warning : Tone::Bad);
    wrapped_text(env.log, "sale " + item.sale_id + "  " + money(item.amount, item.currency, fallback) + "  since " +
                              age_text(env.now - item.since) + " ago");
    if (!item.last_error.empty()) wrapped_text(env.log, "Last error: " + item.last_error);
    if (!item.last_request_id.empty()) wrapped_text(env.log, "Stripe request id: " + item.last_request_id);
    if (!item.customer_contact.empty()) wrapped_text(env.log, "Customer contact: " + item.customer_contact);
    if (item.kind == pos::AttentionItem::Kind::InDoubt) {
      wrapped_text(env.log, "Checking with Stripe (same idempotency key). Do not charge the customer again.");
    }
    if (item.operation_id != 0) {
      Flow flow(ImGui::GetContentRegionAvail().x);
      if (item.kind == pos::AttentionItem::Kind::Dead) {
        flow.next(touch_button_size("Retry (same key)").x);
        if (touch_button(env.log, "Retry (same key)")) env.dispatch(pos::RetryOperation{item.operation_id});
      }
      flow.next(touch_button_size("Mark handled").x);
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
  const char* hint = "Receipt number (sale id, 8+ characters)";
  Flow flow(ImGui::GetContentRegionAvail().x);
  const float number_w = std::min(ImGui::GetContentRegionAvail().x, field_width(hint));
  flow.next(number_w);
  tab_into_first_field();
  const bool entered = field(env.log, "##receiptno", hint, state.refund_receipt_number, number_w);
  flow.next(touch_button_size("Find sale").x);
  if (touch_button(env.log, "Find sale") || entered) {
    env.dispatch(pos::FindSaleForRefund{state.refund_receipt_number.data()});
  }
  if (bo.refund_lookup_running) text(env.log, ".. looking the sale up", Tone::Info);
  if (!bo.refund_lookup_error.empty()) wrapped_text(env.log, "! " + bo.refund_lookup_error, Tone::Bad);
  if (!bo.refund_sale) return;
  const pos::PastSale& past = *bo.refund_sale;
  const pos::Currency cur = currency_of(past.sale.currency, env.config.catalog.currency());
  wrapped_text(env.log, "Sale " + past.sale.id + "  " + std::string(pos::to_string(past.sale.state)) + "  total " +
                            money(past.sale.total, cur) + "  refundable " + money(past.refundable, cur));
  for (const auto& line : past.sale.lines) {
    wrapped_text(env.log, "  " + std::to_string(line.quantity) + " x " + line.name + "  " + money(line.gross, cur));
  }
  for (const auto& p : past.payments) {
    if (p.tender != pos::TenderKind::Card || p.state != AttemptState::Approved) continue;
    ImGui::PushID(p.attempt_id.c_str());
    wrapped_text(env.log, "#" + std::to_string(p.number) + " " + (p.brand.empty() ? "card" : p.brand) +
                      (p.last4.empty() ? "" : " **** " + p.last4) + "  captured " + money(p.captured, cur) +
                      "  refunded " + money(p.refunded, cur) +
                      (p.refund_pending > 0 ? "  queued " + money(p.refund_pending, cur) : std::string()) +
                      "  refundable " + money(p.refundable, cur));
    if (p.refundable > 0) {
      Flow row(ImGui::GetContentRegionAvail().x);
      row.next(touch_button_size("Refund the rest").x);
      if (touch_button(env.log, "Refund the rest")) {
        env.dispatch(pos::RequestRefund{past.sale.id, p.attempt_id, p.payment_intent_id, p.refundable,
                                        past.sale.currency});
      }
      const float amount_w = field_width("Amount", "0000.00");
      row.next(amount_w);
      const bool amount_entered = field(env.log, "##partial", "Amount", state.past_refund_amount, amount_w);
      row.next(touch_button_size("Refund amount").x);
      if (touch_button(env.log, "Refund amount") || amount_entered) {
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
    wrapped_text(env.log, attempt_line(a, cur) + "  " + a.payment_intent_id);
    if (touch_button(env.log, "Refund in full")) {
      env.dispatch(pos::RequestRefund{a.sale_id, a.id, a.payment_intent_id, a.amount, a.currency});
    }
    ImGui::PopID();
  }
  if (!any) text(env.log, "No confirmed card payment on this register's current sale.");
  ImGui::Separator();
  past_sale_refund(m, state, env);
  ImGui::Separator();
  wrapped_text(env.log, "Refund another payment (full or partial; queued and keyed):");
  Flow flow(ImGui::GetContentRegionAvail().x);
  const float id_w = std::min(ImGui::GetContentRegionAvail().x, field_width("pi_... (PaymentIntent)", "pi_3N0000000000000000000000"));
  flow.next(id_w);
  field(env.log, "##refpi", "pi_... (PaymentIntent)", state.refund_payment_intent, id_w);
  flow.next(id_w);
  field(env.log, "##refsale", "Sale id", state.refund_sale, id_w);
  const float amount_w = field_width("Amount", "0000.00");
  flow.next(amount_w);
  const bool entered = field(env.log, "##refamount", "Amount", state.refund_amount, amount_w);
  flow.next(touch_button_size("Queue refund").x);
  if (touch_button(env.log, "Queue refund") || entered) {
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

}  // namespace detail

using namespace detail;

// Header, a reserved error line, the tabs as choice buttons (wrapping onto a second row on a
// narrow screen), the tab's body in a scrolling region, the staff offline banner.
void draw_back_office(const pos::Model& m, BackOfficeViewState& state, const ViewEnv& env) {
  // Keyboard: 1..6 choose the tab, Esc closes the back office (never while a field is being
  // edited or the PIN pad is open: then the keys are the field's).
  if (!ImGui::IsAnyItemActive() && !ImGui::IsPopupOpen("", ImGuiPopupFlags_AnyPopupId)) {
    for (ImWchar c : ImGui::GetIO().InputQueueCharacters) {
      if (c >= '1' && c <= '6') state.tab = static_cast<int>(c - '1');
    }
    if (escape_pressed()) env.dispatch(pos::CloseBackOffice{});
  }
  {
    Reserve header(env.fonts.large->FontSize * ImGui::GetIO().FontGlobalScale + vgap());
    text(env.log, "Back office", std::nullopt, env.fonts.large);
    if (m.back_office.loading) {
      ImGui::SameLine();
      text(env.log, ".. loading", Tone::Info);
    }
  }
  {
    Reserve line(line_pitch());
    if (!state.input_error.empty()) text(env.log, fit_text("! " + state.input_error, ImGui::GetContentRegionAvail().x), Tone::Bad);
  }
  const std::string attention = "Needs attention (" + std::to_string(m.back_office.attention.size()) + ")###attention";
  const std::string labels[] = {"Sync queue", attention, "Refunds", "End of day", "Readers", "Settings"};
  Flow flow(ImGui::GetContentRegionAvail().x);
  for (int i = 0; i < 6; ++i) {
    flow.next(touch_button_size(labels[i]).x);
    if (choice_button(env.log, labels[i].c_str(), state.tab == i)) state.tab = i;
  }
  const float banner = offline_banner_height(m, env, ImGui::GetContentRegionAvail().x);
  begin_scroll_region(env.log, "back_office_body",
                      ImVec2(0, std::max(touch_size(), ImGui::GetContentRegionAvail().y - (banner > 0 ? banner + vgap() : 0))));
  switch (state.tab) {
    case 1: attention_tab(m, state, env); break;
    case 2: refunds_tab(m, state, env); break;
    case 3: day_tab(m, env); break;
    case 4: readers_tab(m, env); break;
    case 5: settings_tab(state, env); break;
    default: queue_tab(m, env); break;
  }
  end_scroll_region(env.log);
  draw_offline_banner(m, env);
}

// The keys are sized from their widest label and the touch size, so the pad (and its OK) fits
// any screen the kiosk supports; digits typed on a keyboard or a numeric pad go into the field,
// Enter submits, Esc cancels.
void draw_pin_prompt(BackOfficeViewState& state, const ViewEnv& env) {
  if (!modal(env.log, "Manager PIN", state.pin_prompt_open)) return;
  text(env.log, "Enter the manager PIN");
  const ImVec2 key(std::max(touch_size() * 1.5f, widest_button({"Clear", "OK"})), touch_size() * 1.25f);
  const float pad_w = key.x * 3 + gap() * 2;
  if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
  const bool entered = field(env.log, "##pin", "PIN", state.pin, pad_w,
                             ImGuiInputTextFlags_Password | ImGuiInputTextFlags_CharsDecimal);
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
  if (touch_button(env.log, "Cancel##pin", ImVec2(pad_w, 0)) || escape_pressed()) {
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
  end_modal(env.log);
}

}  // namespace till::ui
