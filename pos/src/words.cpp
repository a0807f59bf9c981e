// The cashier's words (words.hpp): fill() and the glossary of every string the reducer emits.
#include "till/pos/words.hpp"

#include <utility>

#include "till/pos/attempt.hpp"
#include "till/pos/states.hpp"

namespace till::pos::words {

std::string fill(std::string_view text, std::initializer_list<std::string_view> args) {
  std::string out;
  out.reserve(text.size() + 16);
  auto next = args.begin();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && i + 1 < text.size() && text[i + 1] == '}' && next != args.end()) {
      out += *next++;
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<Entry> glossary() {
  // Every constant of words.hpp, in its order there: a new constant is added here too.
  static constexpr std::pair<std::string_view, std::string_view> kFixed[] = {
      {"unknown_product", kUnknownProduct},
      {"no_such_barcode", kNoSuchBarcode},
      {"quantity_at_least_one", kQuantityAtLeastOne},
      {"quantity_remove_instead", kQuantityRemoveInstead},
      {"quantity_too_large", kQuantityTooLarge},
      {"tip_negative", kTipNegative},
      {"no_such_line", kNoSuchLine},
      {"cart_locked", kCartLocked},
      {"cancel_before_editing", kCancelBeforeEditing},
      {"sale_already_saved", kSaleAlreadySaved},
      {"wait_for_card", kWaitForCard},
      {"sale_complete", kSaleComplete},
      {"sale_complete_start_new", kSaleCompleteStartNew},
      {"sale_complete_refund", kSaleCompleteRefund},
      {"close_back_office_first", kCloseBackOfficeFirst},
      {"finish_or_void_first", kFinishOrVoidFirst},
      {"charge_more_than_zero", kChargeMoreThanZero},
      {"charge_over_balance", kChargeOverBalance},
      {"nothing_to_retry", kNothingToRetry},
      {"cash_more_than_zero", kCashMoreThanZero},
      {"cash_taken", kCashTaken},
      {"change_due", kChangeDue},
      {"card_in_progress", kCardInProgress},
      {"cart_empty", kCartEmpty},
      {"nothing_to_pay", kNothingToPay},
      {"no_reader", kNoReader},
      {"offline_needs_connection", kOfflineNeedsConnection},
      {"database_checking", kDatabaseChecking},
      {"database_damaged", kDatabaseDamaged},
      {"canceling", kCanceling},
      {"already_canceling", kAlreadyCanceling},
      {"cannot_cancel_authorizing", kCannotCancelAuthorizing},
      {"no_card_payment", kNoCardPayment},
      {"finish_card_first", kFinishCardFirst},
      {"money_taken", kMoneyTaken},
      {"cannot_void", kCannotVoid},
      {"sale_voided", kSaleVoided},
      {"then_nothing_charged", kThenNothingCharged},
      {"then_balance_due", kThenBalanceDue},
      {"then_advice", kThenAdvice},
      {"earlier_payment", kEarlierPayment},
      {"earlier_approved", kEarlierApproved},
      {"earlier_declined", kEarlierDeclined},
      {"earlier_unknown", kEarlierUnknown},
      {"earlier_not_charged", kEarlierNotCharged},
      {"approved_after_given_up", kApprovedAfterGivenUp},
      {"over_collected", kOverCollected},
      {"waits_for_stripe", kWaitsForStripe},
      {"could_not_save", kCouldNotSave},
      {"no_manager_pin", kNoManagerPin},
      {"wrong_pin", kWrongPin},
      {"manager_pin_required", kManagerPinRequired},
      {"back_office_not_open", kBackOfficeNotOpen},
      {"note_required", kNoteRequired},
      {"only_confirmed_refundable", kOnlyConfirmedRefundable},
      {"refund_more_than_zero", kRefundMoreThanZero},
      {"unknown_currency", kUnknownCurrency},
      {"refund_at_most", kRefundAtMost},
      {"refund_queued", kRefundQueued},
      {"refund_not_queued", kRefundNotQueued},
      {"only_waiting_set_aside", kOnlyWaitingSetAside},
      {"set_aside", kSetAside},
      {"receipt_number_too_short", kReceiptNumberTooShort},
      {"reader_taking_payment", kReaderTakingPayment},
      {"reader_command_running", kReaderCommandRunning},
      {"reader_already_connected", kReaderAlreadyConnected},
      {"no_reader_connected", kNoReaderConnected},
      {"reader_command_sent", kReaderCommandSent},
      {"reader_command_done", kReaderCommandDone},
      {"reader_command_failed", kReaderCommandFailed},
      {"reader_connect", kReaderConnect},
      {"reader_disconnect", kReaderDisconnect},
      {"reader_install_update", kReaderInstallUpdate},
      {"reader_refresh", kReaderRefresh},
      {"no_receipt", kNoReceipt},
      {"reprinted", kReprinted},
      {"email_from_receipt_screen", kEmailFromReceiptScreen},
      {"not_an_email", kNotAnEmail},
      {"queuing_email", kQueuingEmail},
      {"email_queued", kEmailQueued},
      {"email_not_queued", kEmailNotQueued},
      {"print_failed", kPrintFailed},
  };
  std::vector<Entry> out;
  out.push_back({"in_doubt", kInDoubtText});
  for (const auto& [k, v] : kFixed) out.push_back({std::string(k), std::string(v)});

  constexpr AttemptState kStates[] = {AttemptState::Collecting, AttemptState::StoredOffline, AttemptState::Submitting,
                                      AttemptState::InDoubt,     AttemptState::Approved,      AttemptState::Declined,
                                      AttemptState::DeclinedAfterForward, AttemptState::Canceled};
  auto add_words = [&](const std::string& key, const CashierWords& w) {
    out.push_back({key + ".headline", w.headline});
    out.push_back({key + ".advice", w.advice});
  };
  for (AttemptState s : kStates) {
    const std::string key = "attempt." + std::string(to_string(s));
    add_words(key, cashier_words(s));
    // The words that depend on how the attempt got there (one row per event that leads to s and
    // changes them).
    for (const auto& row : all_attempt_pairs()) {
      if (row.from != AttemptState::Collecting) continue;
      const AttemptStep step = next_state(row.from, false, row.event);
      if (step.kind != AttemptStep::Kind::Moved || step.to != s) continue;
      const CashierWords w = cashier_words(s, row.event, {});
      if (w == cashier_words(s)) continue;
      add_words(key + "." + std::string(to_string(row.event)), w);
    }
  }
  for (std::string_view code : decline_codes_with_advice()) {
    out.push_back({"decline." + std::string(code), decline_advice(code)});
  }
  out.push_back({"decline.other", decline_advice("")});
  return out;
}

}  // namespace till::pos::words
