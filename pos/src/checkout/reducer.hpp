#pragma once
// The checkout reducer's insides (private to pos/src/checkout). One Reducer object handles one
// action: it starts from the model, changes its copy, collects effects, and finish() hands both
// back. Every Action has an operator() here, in the file of its concern:
//
//   cart.cpp         ringing up: products, quantities, discounts, tip, contact, clear
//   tender.cpp       starting to pay: charge, retry, cash, cancel, void, new sale
//   reader.cpp       what the reader reports while it collects: prompts, card read, stored
//                    offline, canceled, failed, disconnected
//   outcomes.cpp     what Stripe (or the resolver) says: approved, declined, unknown, resolved
//   settle.cpp       what follows for the sale: paid, receipts, back to the tender choice, reset
//   runner.cpp       the effect runner's feedback, connectivity, offline totals, database check
//   back_office.cpp  the manager's screens: PIN, queue, set aside, reader commands, day report
//   refunds.cpp      refunds of a past sale found by receipt number
//   receipts.cpp     reprint and email of the receipt on screen, printer failures
//   reducer.cpp      the guards every handler uses, and the one place an attempt's state changes
//
// A PAYMENT ATTEMPT'S STATE changes only in Reducer::apply(), which asks next_state()
// (attempt.hpp). Handlers decide first whether the counter accepts a report at all (a stored
// offline payment is the engine's; an in-doubt attempt takes only a verdict); whatever next_state
// refuses is ignored. tests/pos/words_test.cpp checks that no other line assigns an attempt state
// except the two that create an attempt.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/pos/attempt.hpp"
#include "till/pos/checkout.hpp"
#include "till/pos/words.hpp"

namespace till::pos::detail {

class Reducer {
 public:
  Reducer(Model model, const Context& ctx) : m_(std::move(model)), original_(m_), ctx_(ctx) {}
  Update finish() { return Update{std::move(m_), std::move(effects_)}; }

  // cart.cpp
  void operator()(const AddProduct& a);
  void operator()(const ScanBarcode& a);
  void operator()(const SetQuantity& a);
  void operator()(const RemoveLine& a);
  void operator()(const SetLineDiscount& a);
  void operator()(const SetCartDiscount& a);
  void operator()(const SetTip& a);
  void operator()(const SetCustomerContact& a);
  void operator()(const ClearCart& a);
  // tender.cpp
  void operator()(const Charge& a);
  void operator()(const RetryWithAnotherCard& a);
  void operator()(const PayCash& a);
  void operator()(const CancelPayment& a);
  void operator()(const VoidSale& a);
  void operator()(const NewSale& a);
  // reader.cpp
  void operator()(const ReaderStatusChanged& a);
  void operator()(const ReaderPrompt& a);
  void operator()(const CardCollected& a);
  void operator()(const PaymentStoredOffline& a);
  void operator()(const CollectCanceled& a);
  void operator()(const CollectFailed& a);
  // outcomes.cpp
  void operator()(const PaymentApproved& a);
  void operator()(const PaymentDeclined& a);
  void operator()(const PaymentOutcomeUnknown& a);
  void operator()(const InDoubtResolved& a);
  // runner.cpp
  void operator()(const SaleSaved& a);
  void operator()(const StoreFailed& a);
  void operator()(const ConnectivityChanged& a);
  void operator()(const OfflineStatusUpdated& a);
  void operator()(const StoreCheckStarted& a);
  void operator()(const StoreChecked& a);
  // back_office.cpp
  void operator()(const OpenBackOffice& a);
  void operator()(const CloseBackOffice& a);
  void operator()(const BackOfficeLoaded& a);
  void operator()(const RetryOperation& a);
  void operator()(const MarkHandled& a);
  void operator()(const SetAsideSale& a);
  void operator()(const ManageReader& a);
  void operator()(const ReaderDetailsUpdated& a);
  void operator()(const ReaderCommandDone& a);
  void operator()(const LoadDayReport& a);
  void operator()(const DayReportLoaded& a);
  void operator()(const DayReportFailed& a);
  // refunds.cpp
  void operator()(const RequestRefund& a);
  void operator()(const FindSaleForRefund& a);
  void operator()(const SaleForRefundFound& a);
  void operator()(const SaleForRefundFailed& a);
  void operator()(const RefundRefused& a);
  // receipts.cpp
  void operator()(const ReprintReceipt& a);
  void operator()(const EmailReceipt& a);
  void operator()(const PrintFailed& a);
  void operator()(const EmailQueued& a);

 private:
  // ---- guards and notices (reducer.cpp) ----
  // A cashier's action that does not apply now: back to the model as it was, only the notice.
  void reject(std::string_view text, std::string details = {});
  // An event (not a cashier's action) that no longer applies: a late or repeated report for an
  // attempt that has moved on. The model stays as it is, notice included, so an in-doubt
  // warning is never overwritten by a stale reader message.
  void ignore_event() {}
  void notice(NoticeLevel level, std::string text, std::string details = {});
  // "headline: advice" from cashier_words(), the reason in the details.
  void notice(NoticeLevel level, const CashierWords& words);
  bool cashier_screen();
  bool busy_with_card() const;
  bool cart_editable();
  bool line_exists(std::size_t line);
  bool can_tender();
  bool manager();
  // The refusal while a card payment runs: the in-doubt words when in doubt, else `otherwise`.
  std::string_view busy_refusal(std::string_view otherwise) const;

  // ---- attempts (reducer.cpp) ----
  // THE ONE WRITE of an attempt's state: next_state(at.state, at.offline, event). Moved: the
  // attempt takes the new state (StoredOffline also sets `offline`) and updated_at. Unchanged or
  // Refused: nothing changes; the caller decides what a repeat or a refusal means.
  AttemptStep apply(PaymentAttempt& at, AttemptEvent event);
  // Would `event` move the attempt? (No change to it.)
  static bool moves(const PaymentAttempt& at, AttemptEvent event);
  // UpdateAttempt{at, event}: what happened, for the store to apply itself.
  void record(const PaymentAttempt& at, std::optional<AttemptEvent> event);
  const PaymentAttempt* active() const;
  PaymentAttempt* active_mut();
  PaymentAttempt* find(const std::string& id);
  bool is_active(const PaymentAttempt& at) const;
  // The active attempt, if it is `id` and the reader is still collecting for it; otherwise the
  // event is stale (an earlier attempt, or one already settled) and changes nothing.
  PaymentAttempt* collecting_attempt(const std::string& id);
  PaymentAttempt new_attempt(TenderKind tender, std::int64_t amount);
  static bool is_live(const PaymentAttempt& a);
  bool has_live_attempt() const;
  std::string money(std::int64_t minor) const;

  // ---- cart.cpp ----
  void add(const Product& p, std::int64_t quantity);
  void set_cart(Cart cart);

  // ---- tender.cpp ----
  void persist_sale_for_tender();
  void start_card(std::int64_t amount);
  OperationIntent payment_intent_operation(const PaymentAttempt& a) const;

  // ---- reader.cpp ----
  void store_offline(PaymentAttempt& at, const std::string& payment_method, const CardDetails& card, bool online_pin);
  bool drop_if_already_paid(PaymentAttempt& at);

  // ---- outcomes.cpp ----
  void approve(PaymentAttempt& at, const std::string& payment_intent_id, const CardDetails& card);
  void decline(PaymentAttempt& at, AttemptEvent event, const std::string& code, const std::string& message,
               const std::string& payment_intent_id);
  void go_in_doubt(PaymentAttempt& at, const std::string& detail);
  void not_charged(PaymentAttempt& at, AttemptEvent event, const std::string& message,
                   const std::string& payment_intent_id);
  void unknown_attempt_outcome(const std::string& id, std::string_view what);

  // ---- settle.cpp ----
  void end_card_phase();
  void back_to_tendering_choice(std::string_view headline);
  ReceiptInput receipt_input() const;
  void print(ReceiptInput in);
  bool settle();
  void complete_sale();
  void reset_checkout();
  Screen home_screen() const;

  // ---- runner.cpp / back_office.cpp ----
  void refresh_offline();
  void reload_back_office();

  Model m_;
  const Model original_;
  const Context& ctx_;
  std::vector<Effect> effects_;
};

}  // namespace till::pos::detail
