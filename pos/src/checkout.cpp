#include "till/pos/checkout.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

namespace till::pos {
namespace {

std::string money_text(std::int64_t minor, const Currency& c) { return Money(minor, c).format(); }

bool is_money_state(const PaymentAttempt& a) {
  return a.state == AttemptState::Approved || a.state == AttemptState::StoredOffline;
}

class Reducer {
 public:
  Reducer(Model model, const Context& ctx) : m_(std::move(model)), original_(m_), ctx_(ctx) {}

  Update finish() { return Update{std::move(m_), std::move(effects_)}; }

  // ---- cart -----------------------------------------------------------------------------------

  void operator()(const AddProduct& a) {
    if (!cart_editable()) return;
    const Product* p = ctx_.catalog.find(a.product_id);
    if (p == nullptr) return reject("Unknown product '" + a.product_id + "'");
    add(*p, a.quantity);
  }

  void operator()(const ScanBarcode& a) {
    if (!cart_editable()) return;
    std::string code;
    for (char c : a.code) {
      if (c != ' ' && c != '\r' && c != '\n' && c != '\t') code += c;
    }
    const Product* p = ctx_.catalog.find_by_barcode(code);
    if (p == nullptr) p = ctx_.catalog.find_by_sku(code);
    if (p == nullptr) return reject("No product with barcode " + code);
    add(*p, 1);
  }

  void operator()(const SetQuantity& a) {
    if (!cart_editable() || !line_exists(a.line)) return;
    if (a.quantity < 1) return reject("Quantity must be at least 1 (remove the line instead)");
    Cart cart = m_.cart;
    cart.lines[a.line].quantity = a.quantity;
    set_cart(std::move(cart));
  }

  void operator()(const RemoveLine& a) {
    if (!cart_editable() || !line_exists(a.line)) return;
    Cart cart = m_.cart;
    cart.lines.erase(cart.lines.begin() + static_cast<std::ptrdiff_t>(a.line));
    if (cart.lines.empty()) cart.cart_discount = Discount::none();  // nothing left to discount
    set_cart(std::move(cart));
  }

  void operator()(const SetLineDiscount& a) {
    if (!cart_editable() || !line_exists(a.line)) return;
    Cart cart = m_.cart;
    cart.lines[a.line].discount = a.discount;
    set_cart(std::move(cart));
  }

  void operator()(const SetCartDiscount& a) {
    if (!cart_editable()) return;
    Cart cart = m_.cart;
    cart.cart_discount = a.discount;
    set_cart(std::move(cart));
  }

  void operator()(const SetTip& a) {
    if (!cart_editable()) return;
    if (a.amount < 0) return reject("Tip must not be negative");
    Cart cart = m_.cart;
    cart.tip = a.amount;
    set_cart(std::move(cart));
  }

  void operator()(const SetCustomerContact& a) {
    if (!cashier_screen()) return;
    if (m_.screen == Screen::Receipt) return reject("The sale is complete");
    if (busy_with_card()) return reject("Wait for the card payment to finish");
    m_.customer_contact = a.contact;
    if (m_.sale && m_.sale->state == SaleState::Tendering) {
      m_.sale->customer_contact = a.contact;
      m_.sale->updated_at = ctx_.now;
      effects_.push_back(PersistSale{*m_.sale});
    }
  }

  void operator()(const ClearCart&) {
    if (!cart_editable()) return;
    if (m_.sale) return reject("This sale was already saved: void it instead");
    set_cart(Cart{});
  }

  // ---- tender ---------------------------------------------------------------------------------

  void operator()(const Charge& a) {
    if (!can_tender()) return;
    const std::int64_t balance = balance_due(m_);
    const std::int64_t amount = a.amount.value_or(balance);
    if (amount <= 0) return reject("Amount to charge must be more than zero");
    if (amount > balance) return reject("Amount is more than the balance due (" + money(balance) + ")");
    start_card(amount);
  }

  void operator()(const RetryWithAnotherCard&) {
    if (m_.phase != PaymentPhase::Declined && m_.phase != PaymentPhase::Refused && m_.phase != PaymentPhase::Failed) {
      return reject(m_.phase == PaymentPhase::InDoubt ? std::string(kInDoubtText)
                                                      : "Nothing to retry: no declined or failed payment");
    }
    if (!can_tender()) return;
    // Same amount as the failed attempt (a split stays a split), never more than the balance.
    std::int64_t amount = balance_due(m_);
    if (const PaymentAttempt* last = active(); last != nullptr) amount = std::min(amount, last->amount);
    start_card(amount);
  }

  void operator()(const PayCash& a) {
    if (!can_tender()) return;
    if (a.tendered <= 0) return reject("Cash tendered must be more than zero");
    const std::int64_t balance = balance_due(m_);
    const std::int64_t applied = std::min(a.tendered, balance);
    const std::int64_t change = a.tendered - applied;
    persist_sale_for_tender();
    PaymentAttempt cash = new_attempt(TenderKind::Cash, applied);
    cash.state = AttemptState::Approved;  // cash in the drawer needs no authorization
    m_.attempts.push_back(cash);
    effects_.push_back(CreateAttempt{cash});
    effects_.push_back(OpenCashDrawer{});
    m_.cash_tendered += a.tendered;
    m_.change_due += change;
    end_card_phase();
    if (settle()) {
      if (change > 0) notice(NoticeLevel::Info, "Change due: " + money(change));
    } else {
      m_.screen = Screen::Payment;
      notice(NoticeLevel::Info, "Cash " + money(applied) + " taken; balance due " + money(balance_due(m_)));
    }
  }

  void operator()(const CancelPayment&) {
    switch (m_.phase) {
      case PaymentPhase::Collecting: {
        const PaymentAttempt* a = active();
        effects_.push_back(CancelCollect{a->id});
        m_.phase = PaymentPhase::Canceling;
        notice(NoticeLevel::Info, "Canceling: waiting for the reader");
        return;
      }
      case PaymentPhase::Canceling: return reject("Already canceling: waiting for the reader");
      case PaymentPhase::Authorizing: return reject("Cannot cancel: the card is being authorized");
      case PaymentPhase::InDoubt: return reject(kInDoubtText);
      case PaymentPhase::None: return reject("No card payment in progress");
      case PaymentPhase::Declined:
      case PaymentPhase::Refused:
      case PaymentPhase::Failed: back_to_tendering_choice("Payment canceled"); return;
    }
  }

  void operator()(const VoidSale&) {
    if (!cashier_screen()) return;
    if (m_.screen == Screen::Receipt) return reject("The sale is complete: refund it from the back office");
    if (busy_with_card()) return reject(m_.phase == PaymentPhase::InDoubt ? std::string(kInDoubtText)
                                                                           : "Finish or cancel the card payment first");
    if (amount_paid(m_) > 0) return reject("Money was already taken: take the balance or refund from the back office");
    if (m_.sale) {
      if (!transition(m_.sale->state, SaleState::Voided)) return reject("This sale cannot be voided");
      effects_.push_back(UpdateSaleState{m_.sale->id, SaleState::Voided, ctx_.now});
      effects_.push_back(Audit{"sale_voided", "sale=" + m_.sale->id});
    }
    reset_checkout();
    notice(NoticeLevel::Info, "Sale voided");
  }

  void operator()(const NewSale&) {
    if (m_.screen == Screen::BackOffice) return reject("Close the back office first");
    const bool complete = m_.sale && is_final(m_.sale->state);
    const bool untouched = !m_.sale && m_.cart.lines.empty();
    if (!complete && !untouched) {
      if (m_.phase == PaymentPhase::InDoubt) return reject(kInDoubtText);
      return reject("Finish or void the current sale first");
    }
    reset_checkout();
  }

  // ---- reader -----------------------------------------------------------------------------------

  void operator()(const ReaderStatusChanged& a) {
    m_.reader.connected = a.connected;
    m_.reader.details.connection = a.connected ? "connected" : "disconnected";
    m_.reader.label = a.label;
    m_.reader.detail = a.detail;
    if (!a.connected) {
      m_.reader.prompt = ReaderPromptKind::None;
      m_.reader.prompt_text.clear();
      // Lesson 1: a reader that drops while it holds the card may still complete the payment.
      if (m_.phase == PaymentPhase::Collecting || m_.phase == PaymentPhase::Canceling) {
        go_in_doubt(*active_mut(), "reader disconnected during the payment");
      }
    }
  }

  void operator()(const ReaderPrompt& a) {
    if (!a.attempt_id.empty() && (active() == nullptr || active()->id != a.attempt_id)) return;  // stale
    m_.reader.prompt = a.kind;
    m_.reader.prompt_text = a.text;
  }

  void operator()(const CardCollected& a) {
    PaymentAttempt* at = collecting_attempt(a.attempt_id);
    if (at == nullptr || drop_if_already_paid(*at)) return;
    if (!m_.offline.online) return store_offline(*at, a.payment_method, a.card, a.online_pin_required);
    at->state = AttemptState::Submitting;
    at->payment_method = a.payment_method;
    at->card = a.card;
    at->updated_at = ctx_.now;
    effects_.push_back(UpdateAttempt{*at});
    effects_.push_back(EnqueueOperation{payment_intent_operation(*at)});
    m_.phase = PaymentPhase::Authorizing;
    notice(NoticeLevel::Info, "Processing: authorizing the card");
  }

  void operator()(const PaymentStoredOffline& a) {
    PaymentAttempt* at = collecting_attempt(a.attempt_id);
    if (at == nullptr || drop_if_already_paid(*at)) return;
    store_offline(*at, a.payment_method, a.card, a.online_pin_required);
  }

  void operator()(const CollectCanceled& a) {
    PaymentAttempt* at = collecting_attempt(a.attempt_id);
    if (at == nullptr) return;
    at->state = AttemptState::Canceled;
    at->updated_at = ctx_.now;
    effects_.push_back(UpdateAttempt{*at});
    back_to_tendering_choice("Payment canceled");
  }

  void operator()(const CollectFailed& a) {
    PaymentAttempt* at = collecting_attempt(a.attempt_id);
    if (at == nullptr) return;
    const bool was_canceling = m_.phase == PaymentPhase::Canceling;
    at->state = AttemptState::Canceled;  // no card was read: nothing can have been authorized
    at->failure_message = a.reason;
    at->updated_at = ctx_.now;
    effects_.push_back(UpdateAttempt{*at});
    if (was_canceling) return back_to_tendering_choice("Payment canceled");
    m_.phase = PaymentPhase::Failed;
    m_.screen = Screen::Payment;
    m_.reader.prompt = ReaderPromptKind::None;
    m_.reader.prompt_text.clear();
    notice(NoticeLevel::Warning, "Reader: " + a.reason + ". Nothing was charged: try again or pay another way");
  }

  // ---- outcomes ---------------------------------------------------------------------------------

  void operator()(const PaymentApproved& a) {
    PaymentAttempt* at = find(a.attempt_id);
    if (at == nullptr) return unknown_attempt_outcome(a.attempt_id, "approved");
    if (at->state == AttemptState::Approved) return;  // a repeated report changes nothing
    approve(*at, a.payment_intent_id, a.card);
  }

  void operator()(const PaymentDeclined& a) {
    PaymentAttempt* at = find(a.attempt_id);
    if (at == nullptr) return unknown_attempt_outcome(a.attempt_id, "declined");
    // Webhooks arrive unordered: a decline cannot undo an approval or a stored payment (a
    // forwarded decline is the sync engine's declined_after_forward, not the counter's).
    if (!can_transition(at->state, AttemptState::Declined)) return ignore_event();
    decline(*at, a.code, a.message, a.payment_intent_id);
  }

  void operator()(const PaymentOutcomeUnknown& a) {
    PaymentAttempt* at = find(a.attempt_id);
    if (at == nullptr) return unknown_attempt_outcome(a.attempt_id, "of unknown outcome");
    if (at->state == AttemptState::InDoubt) return;
    if (!can_transition(at->state, AttemptState::InDoubt)) {
      return ignore_event();
    }
    go_in_doubt(*at, a.detail);
  }

  void operator()(const InDoubtResolved& a) {
    PaymentAttempt* at = find(a.attempt_id);
    if (at == nullptr) return unknown_attempt_outcome(a.attempt_id, a.approved ? "approved" : "declined");
    if (at->state != AttemptState::InDoubt) {
      if ((a.approved && at->state == AttemptState::Approved) || (!a.approved && at->state == AttemptState::Declined)) {
        return;  // already known
      }
      return ignore_event();
    }
    if (a.approved) return approve(*at, a.payment_intent_id, a.card);
    decline(*at, a.decline_code, a.message, a.payment_intent_id);
  }

  // ---- runner feedback, connectivity ------------------------------------------------------------

  void operator()(const SaleSaved& a) {
    if (m_.sale && m_.sale->id == a.sale_id) {
      m_.sale_saved = true;
      if (m_.store_check != StoreCheck::Failed) m_.storage_error.clear();
    }
  }

  void operator()(const StoreFailed& a) {
    m_.storage_error = a.message;
    PaymentAttempt* at = active_mut();
    // The runner stops at the failing effect, so a card collection or a submission that was
    // in the same list never started: nothing was charged for this attempt.
    if (at != nullptr && (m_.phase == PaymentPhase::Collecting || m_.phase == PaymentPhase::Canceling)) {
      const std::string id = at->id;  // copied: remove_if moves the element `at` points to
      m_.attempts.erase(std::remove_if(m_.attempts.begin(), m_.attempts.end(),
                                       [&](const PaymentAttempt& x) { return x.id == id; }),
                        m_.attempts.end());
      m_.active_attempt_id.reset();
      m_.phase = PaymentPhase::Failed;
      // The sale itself may not be on disk either: with nothing paid, reopen it in the model so
      // the next tender emits PersistSale (an upsert) again before anything else.
      if (!m_.sale_saved && m_.sale && m_.sale->state == SaleState::Tendering && amount_paid(m_) == 0) {
        m_.sale->state = SaleState::Open;
      }
    } else if (at != nullptr && m_.phase == PaymentPhase::Authorizing) {
      at->state = AttemptState::Canceled;
      at->failure_message = "could not be saved: " + a.message;
      m_.phase = PaymentPhase::Failed;
    }
    notice(NoticeLevel::Error, "Could not save: " + a.message + ". Nothing more was charged; call a manager");
  }

  void operator()(const ConnectivityChanged& a) {
    m_.offline.online = a.online;
    refresh_offline();
    // A card read online whose submission could not reach Stripe waits, still authorizing: the
    // engine sends it (same key) as soon as the connection returns. Say so, so nobody retries it.
    if (!a.online && m_.phase == PaymentPhase::Authorizing) {
      notice(NoticeLevel::Warning,
             "Stripe cannot be reached: this card payment is sent as soon as the connection returns. Do not "
             "retry it or take another payment for it");
    }
  }

  void operator()(const OfflineStatusUpdated& a) {
    m_.offline.stored = a.stored;
    refresh_offline();
  }

  // ---- back office ------------------------------------------------------------------------------

  void operator()(const OpenBackOffice& a) {
    if (ctx_.manager_pin.empty()) return reject("No manager PIN is configured");
    if (a.pin != ctx_.manager_pin) {
      reject("Wrong manager PIN");
      effects_.push_back(Audit{"back_office_pin_rejected", ""});
      return;
    }
    m_.back_office.unlocked = true;
    m_.back_office.loading = true;
    m_.screen = Screen::BackOffice;
    m_.back_office.day_loading = true;
    effects_.push_back(Audit{"back_office_opened", ""});
    effects_.push_back(LoadBackOffice{});
    effects_.push_back(BuildDayReport{utc_day(ctx_.now)});
  }

  void operator()(const CloseBackOffice&) {
    if (!m_.back_office.unlocked) return reject("The back office is not open");
    m_.back_office = BackOffice{};
    m_.screen = home_screen();
  }

  void operator()(const BackOfficeLoaded& a) {
    if (!m_.back_office.unlocked) return;  // closed meanwhile: do not keep the data
    m_.back_office.counts = a.counts;
    m_.back_office.attention = a.attention;
    m_.back_office.loading = false;
  }

  void operator()(const RetryOperation& a) {
    if (!manager()) return;
    effects_.push_back(RequeueOperation{a.operation_id});
    effects_.push_back(Audit{"operation_retried", "operation=" + std::to_string(a.operation_id)});
    reload_back_office();
  }

  void operator()(const MarkHandled& a) {
    if (!manager()) return;
    if (a.note.empty()) return reject("Say what was done (a note is required)");
    effects_.push_back(MarkOperationHandled{a.operation_id, a.note});
    effects_.push_back(Audit{"operation_marked_handled", "operation=" + std::to_string(a.operation_id) + " note=" + a.note});
    reload_back_office();
  }

  void operator()(const RequestRefund& a) {
    if (!manager()) return;
    if (a.payment_intent_id.empty()) return reject("Only payments Stripe has confirmed can be refunded");
    if (a.amount <= 0) return reject("Refund amount must be more than zero");
    auto cur = Currency::parse(a.currency);
    if (!cur) return reject("Unknown currency '" + a.currency + "'");
    // A payment of the past sale on screen: never more than what is left to refund (the store
    // enforces the same limit when the operation is queued).
    const PastSale::Payment* past = nullptr;
    if (m_.back_office.refund_sale) {
      for (const auto& p : m_.back_office.refund_sale->payments) {
        if (p.attempt_id == a.attempt_id && !a.attempt_id.empty()) past = &p;
      }
    }
    if (past != nullptr && a.amount > past->refundable) {
      return reject("At most " + Money(past->refundable, *cur).format() + " of this payment can still be refunded");
    }
    OperationIntent op;
    op.kind = OperationKind::Refund;
    op.sale_id = a.sale_id;
    op.attempt_id = a.attempt_id;
    op.account_id = ctx_.account_id;
    op.currency = a.currency;
    op.payment_intent_id = a.payment_intent_id;
    op.refund_amount = a.amount;
    op.idempotency_key = new_uuid_v4(ctx_.random);  // a new refund, a new key
    op.at = ctx_.now;
    effects_.push_back(EnqueueOperation{op});
    effects_.push_back(Audit{"refund_requested", "sale=" + a.sale_id + " payment_intent=" + a.payment_intent_id +
                                                     " amount=" + Money(a.amount, *cur).format()});
    notice(NoticeLevel::Info, "Refund of " + Money(a.amount, *cur).format() + " queued");
    reload_back_office();
    if (past != nullptr) {
      // Show what is left to refund once the store has the new operation.
      m_.back_office.refund_lookup_running = true;
      effects_.push_back(LookUpSaleForRefund{m_.back_office.refund_sale->sale.id});
    }
  }

  void operator()(const SetAsideSale&) {
    if (!manager()) return;
    if (m_.phase != PaymentPhase::InDoubt && m_.phase != PaymentPhase::Authorizing) {
      return reject("Only a sale waiting for a payment outcome can be set aside");
    }
    const std::string sale_id = m_.sale ? m_.sale->id : std::string();
    effects_.push_back(Audit{"sale_set_aside", "sale=" + sale_id});
    reset_checkout();
    m_.screen = Screen::BackOffice;  // the manager is still in the back office
    notice(NoticeLevel::Info, "Sale " + sale_id + " set aside: its outcome will appear in the back office");
  }

  // ---- reader management, end of day (manager) --------------------------------------------------

  void operator()(const ManageReader& a) {
    if (!manager()) return;
    using K = ReaderCommandKind;
    // Every reader command is an operation of the driver, which takes one at a time: none may
    // run while the reader takes a payment (the status shown is the last one reported).
    if (busy_with_card()) {
      return reject(m_.phase == PaymentPhase::InDoubt ? std::string(kInDoubtText)
                                                      : "The reader is taking a payment: finish or cancel it first");
    }
    if (m_.reader.command_running) return reject("A reader command is already running");
    if (a.command == K::Connect && m_.reader.connected) return reject("The reader is already connected");
    if ((a.command == K::Disconnect || a.command == K::InstallUpdate) && !m_.reader.connected) {
      return reject("No reader is connected");
    }
    m_.reader.command_running = true;
    effects_.push_back(ReaderCommand{a.command});
    if (a.command != K::RefreshStatus) {
      effects_.push_back(Audit{"reader_" + std::string(to_string(a.command)), "reader=" + m_.reader.label});
    }
    notice(NoticeLevel::Info, "Reader: " + std::string(to_string(a.command)) + " sent");
  }

  void operator()(const ReaderDetailsUpdated& a) { m_.reader.details = a.details; }

  void operator()(const ReaderCommandDone& a) {
    m_.reader.command_running = false;
    if (a.ok) {
      notice(NoticeLevel::Info, "Reader: " + std::string(to_string(a.command)) + " done" +
                                    (a.message.empty() ? std::string() : " (" + a.message + ")"));
    } else {
      notice(NoticeLevel::Warning, "Reader: " + std::string(to_string(a.command)) + " failed: " + a.message);
    }
  }

  void operator()(const LoadDayReport&) {
    if (!manager()) return;
    m_.back_office.day_loading = true;
    m_.back_office.day_error.clear();
    effects_.push_back(BuildDayReport{utc_day(ctx_.now)});
  }

  void operator()(const DayReportLoaded& a) {
    if (!m_.back_office.unlocked) return;  // closed meanwhile: do not keep the data
    m_.back_office.day = a.report;
    m_.back_office.day_loading = false;
  }

  void operator()(const DayReportFailed& a) {
    if (!m_.back_office.unlocked) return;
    m_.back_office.day_loading = false;
    m_.back_office.day_error = a.message;
  }

  // ---- receipts ------------------------------------------------------------------------------------

  void operator()(const ReprintReceipt&) {
    if (m_.last_receipt.empty()) return reject("No receipt to print");
    effects_.push_back(PrintReceipt{m_.last_receipt, m_.last_receipt_input});
    notice(NoticeLevel::Info, "Receipt sent to the printer again");
  }

  void operator()(const EmailReceipt& a) {
    if (!cashier_screen()) return;
    if (m_.screen != Screen::Receipt || !m_.sale || m_.last_receipt.empty()) {
      return reject("Email a receipt from the receipt screen");
    }
    std::string address;
    for (char c : a.address) {
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') address += c;
    }
    const auto at = address.find('@');
    if (at == std::string::npos || at == 0 || address.find('.', at) == std::string::npos) {
      return reject("That is not an email address");
    }
    // The address goes to the store (sealed there), never to the model, a notice or the audit log.
    effects_.push_back(QueueEmailReceipt{m_.sale->id, address, m_.last_receipt});
    notice(NoticeLevel::Info, "Queuing the receipt for email");
  }

  void operator()(const PrintFailed& a) {
    notice(NoticeLevel::Warning, "Printer: " + a.message + ". The sale is saved; reprint from the receipt screen");
  }

  void operator()(const EmailQueued& a) {
    if (a.ok) {
      notice(NoticeLevel::Info, "Receipt queued for email");
    } else {
      notice(NoticeLevel::Warning, "Email receipt not queued: " + a.message);
    }
  }

  // ---- refund of a past sale ----------------------------------------------------------------------

  void operator()(const FindSaleForRefund& a) {
    if (!manager()) return;
    std::string number;
    for (char c : a.receipt_number) {
      if (c != ' ' && c != '\t') number += c;
    }
    if (number.size() < 8) return reject("Type the receipt number (at least its first 8 characters)");
    m_.back_office.refund_lookup_running = true;
    m_.back_office.refund_lookup_error.clear();
    effects_.push_back(LookUpSaleForRefund{number});
  }

  void operator()(const SaleForRefundFound& a) {
    if (!m_.back_office.unlocked) return;
    m_.back_office.refund_lookup_running = false;
    m_.back_office.refund_sale = a.sale;
  }

  void operator()(const SaleForRefundFailed& a) {
    if (!m_.back_office.unlocked) return;
    m_.back_office.refund_lookup_running = false;
    m_.back_office.refund_sale.reset();
    m_.back_office.refund_lookup_error = a.message;
  }

  // The runner skipped the rest of the refund's effects (its audit entry and the lookup of what
  // is left), so nothing is loading any more.
  void operator()(const RefundRefused& a) {
    m_.back_office.refund_lookup_running = false;
    notice(NoticeLevel::Error, "Refund not queued: " + a.message);
  }

  // ---- the database check ----------------------------------------------------------------------

  void operator()(const StoreCheckStarted&) {
    if (m_.store_check == StoreCheck::Failed) return;  // a failed check stays failed
    m_.store_check = StoreCheck::Checking;
  }

  void operator()(const StoreChecked& a) {
    if (a.ok) {
      if (m_.store_check == StoreCheck::Failed) return;
      m_.store_check = StoreCheck::Passed;
      m_.store_check_error.clear();
      return;
    }
    m_.store_check = StoreCheck::Failed;
    m_.store_check_error = a.message;
    m_.storage_error = "The register's database failed its check (" + a.message + "); no sale can be taken";
  }

 private:
  // ---- guards -----------------------------------------------------------------------------------

  void reject(std::string text) {
    m_ = original_;
    effects_.clear();
    notice(NoticeLevel::Warning, std::move(text));
  }

  // An event (not a cashier's action) that no longer applies: a late or repeated report for an
  // attempt that has moved on. The model stays as it is, notice included, so an in-doubt
  // warning is never overwritten by a stale reader message.
  void ignore_event() {}

  void notice(NoticeLevel level, std::string text) { m_.notice = Notice{level, std::move(text)}; }

  bool cashier_screen() {
    if (m_.screen == Screen::BackOffice) {
      reject("Close the back office first");
      return false;
    }
    return true;
  }

  bool busy_with_card() const {
    return m_.phase == PaymentPhase::Collecting || m_.phase == PaymentPhase::Canceling ||
           m_.phase == PaymentPhase::Authorizing || m_.phase == PaymentPhase::InDoubt;
  }

  bool cart_editable() {
    if (!cashier_screen()) return false;
    if (m_.screen == Screen::Receipt) return reject("The sale is complete: start a new sale"), false;
    if (busy_with_card() || (m_.sale && m_.sale->state != SaleState::Open) || amount_paid(m_) > 0) {
      return reject(m_.phase == PaymentPhase::InDoubt ? std::string(kInDoubtText)
                                                      : "The cart cannot change while the sale is being paid"),
             false;
    }
    if (m_.phase != PaymentPhase::None) return reject("Cancel the payment before changing the cart"), false;
    return true;
  }

  bool line_exists(std::size_t line) {
    if (line < m_.cart.lines.size()) return true;
    reject("No such line in the cart");
    return false;
  }

  bool can_tender() {
    if (!cashier_screen()) return false;
    // Nothing is written for a sale until the file it goes into is known to be sound.
    if (m_.store_check == StoreCheck::Checking) {
      return reject("Checking the register's database: try again in a moment"), false;
    }
    if (m_.store_check == StoreCheck::Failed) {
      return reject("The register's database is damaged: no sale can be taken, call support"), false;
    }
    if (m_.screen == Screen::Receipt) return reject("The sale is complete: start a new sale"), false;
    switch (m_.phase) {
      case PaymentPhase::None:
      case PaymentPhase::Declined:
      case PaymentPhase::Refused:
      case PaymentPhase::Failed: break;
      case PaymentPhase::InDoubt: return reject(kInDoubtText), false;
      case PaymentPhase::Collecting:
      case PaymentPhase::Canceling:
      case PaymentPhase::Authorizing: return reject("A card payment is already in progress"), false;
    }
    if (m_.cart.lines.empty()) return reject("The cart is empty"), false;
    if (balance_due(m_) <= 0) return reject("Nothing to pay"), false;
    return true;
  }

  bool manager() {
    if (m_.back_office.unlocked) return true;
    reject("Manager PIN required");
    return false;
  }

  // ---- helpers ------------------------------------------------------------------------------------

  std::string money(std::int64_t minor) const { return money_text(minor, ctx_.currency); }

  const PaymentAttempt* active() const {
    if (!m_.active_attempt_id) return nullptr;
    return find_attempt(m_, *m_.active_attempt_id);
  }
  PaymentAttempt* active_mut() { return m_.active_attempt_id ? find(*m_.active_attempt_id) : nullptr; }

  PaymentAttempt* find(const std::string& id) {
    for (auto& a : m_.attempts) {
      if (a.id == id) return &a;
    }
    return nullptr;
  }

  // The active attempt, if it is `id` and the reader is still collecting for it; otherwise the
  // event is stale (an earlier attempt, or one already settled) and changes nothing.
  PaymentAttempt* collecting_attempt(const std::string& id) {
    PaymentAttempt* at = active_mut();
    if (at == nullptr || at->id != id || at->state != AttemptState::Collecting ||
        (m_.phase != PaymentPhase::Collecting && m_.phase != PaymentPhase::Canceling)) {
      ignore_event();
      return nullptr;
    }
    return at;
  }

  void add(const Product& p, std::int64_t quantity) {
    if (quantity < 1) return reject("Quantity must be at least 1");
    Cart cart = m_.cart;
    auto same = std::find_if(cart.lines.begin(), cart.lines.end(), [&](const CartLine& l) {
      return l.product_id == p.id && l.unit_price == p.price && l.discount == Discount::none();
    });
    if (same != cart.lines.end()) {
      auto q = checked_add(same->quantity, quantity);
      if (!q) return reject("Quantity too large");
      same->quantity = *q;
    } else {
      auto line = make_line(ctx_.catalog, p, quantity);
      if (!line) return reject(line.error().message);
      cart.lines.push_back(std::move(*line));
    }
    set_cart(std::move(cart));
  }

  void set_cart(Cart cart) {
    auto totals = compute_totals(cart);
    if (!totals) return reject(totals.error().message);
    m_.cart = std::move(cart);
    m_.totals = std::move(*totals);
    m_.screen = Screen::Sell;
  }

  // The sale record as the cart says, persisted (upserted) before the first tender, and again
  // if the cart changed after a cancel. Emits PersistSale when the sale is (back) open.
  void persist_sale_for_tender() {
    if (m_.sale && m_.sale->state == SaleState::Tendering) return;
    if (!m_.sale) {
      Sale s;
      s.id = new_uuid_v4(ctx_.random);
      s.register_id = ctx_.register_id;
      s.account_id = ctx_.account_id;
      s.currency = std::string(ctx_.currency.code());
      s.created_at = ctx_.now;
      m_.sale = std::move(s);
      m_.sale_saved = false;
    }
    Sale& s = *m_.sale;
    apply_totals(s, m_.totals);
    s.customer_contact = m_.customer_contact;
    s.state = SaleState::Tendering;
    s.updated_at = ctx_.now;
    effects_.push_back(PersistSale{s});
  }

  PaymentAttempt new_attempt(TenderKind tender, std::int64_t amount) {
    PaymentAttempt a;
    a.id = new_uuid_v4(ctx_.random);
    a.sale_id = m_.sale->id;
    a.number = static_cast<int>(m_.attempts.size()) + 1;
    a.tender = tender;
    a.state = AttemptState::Collecting;
    a.amount = amount;
    a.currency = m_.sale->currency;
    a.account_id = ctx_.account_id;
    // Fixed here, before anything leaves the machine; every resend of this attempt uses it.
    a.idempotency_key = new_uuid_v4(ctx_.random);
    a.created_at = ctx_.now;
    a.updated_at = ctx_.now;
    return a;
  }

  void start_card(std::int64_t amount) {
    if (!m_.reader.connected) return reject("No card reader connected");
    const OfflinePayment pre{amount, std::string(ctx_.currency.code()), "", "", false, ctx_.now};
    const RiskDecision decision = evaluate(ctx_.risk, m_.offline.stored, pre);
    const auto* refused = std::get_if<Refused>(&decision);
    if (!m_.offline.online && refused != nullptr) {
      reject("Card payments need a connection now: " + refused->message + ". Take cash or wait");
      m_.offline.require_online_reason = refused->message;
      return;
    }
    persist_sale_for_tender();
    PaymentAttempt a = new_attempt(TenderKind::Card, amount);
    m_.attempts.push_back(a);
    m_.active_attempt_id = a.id;
    effects_.push_back(CreateAttempt{a});
    effects_.push_back(StartCollect{a.id, amount, a.currency, refused == nullptr});
    m_.phase = PaymentPhase::Collecting;
    m_.screen = Screen::Payment;
    notice(NoticeLevel::Info, "Collecting " + money(amount) + ": present card on the reader");
  }

  OperationIntent payment_intent_operation(const PaymentAttempt& a) const {
    OperationIntent op;
    op.kind = OperationKind::CreatePaymentIntent;
    op.sale_id = a.sale_id;
    op.attempt_id = a.id;
    op.attempt_number = a.number;
    op.account_id = a.account_id;
    op.amount = a.amount;
    op.currency = a.currency;
    op.payment_method = a.payment_method;
    op.capture_method = ctx_.capture_method;
    op.idempotency_key = a.idempotency_key;
    op.at = ctx_.now;
    return op;
  }

  void store_offline(PaymentAttempt& at, const std::string& payment_method, const CardDetails& card, bool online_pin) {
    const OfflinePayment p{at.amount, at.currency, card.brand, card.read_method, online_pin, ctx_.now};
    const RiskDecision decision = evaluate(ctx_.risk, m_.offline.stored, p);
    at.card = card;
    at.updated_at = ctx_.now;
    if (const auto* refused = std::get_if<Refused>(&decision)) {
      // Nothing was authorized, so dropping the token moves no money.
      at.state = AttemptState::Canceled;
      at.failure_message = "refused offline: " + refused->message;
      effects_.push_back(UpdateAttempt{at});
      effects_.push_back(Audit{"offline_refused", "attempt=" + at.id + " reason=" + std::string(to_string(refused->reason))});
      m_.phase = PaymentPhase::Refused;
      m_.screen = Screen::Payment;
      notice(NoticeLevel::Warning, "Card refused offline: " + refused->message + ". Try another card or cash");
      return;
    }
    at.state = AttemptState::StoredOffline;
    at.offline = true;
    at.payment_method = payment_method;
    effects_.push_back(UpdateAttempt{at});
    effects_.push_back(EnqueueOperation{payment_intent_operation(at)});
    // Count it now, so the next payment meets the caps before the store reports back.
    auto& cur = m_.offline.stored.by_currency[at.currency];
    cur.count += 1;
    cur.amount += at.amount;
    m_.offline.stored.count += 1;
    if (!m_.offline.stored.oldest || ctx_.now < *m_.offline.stored.oldest) m_.offline.stored.oldest = ctx_.now;
    refresh_offline();
    const std::int64_t stored_amount = at.amount;
    end_card_phase();
    if (settle()) {
      notice(NoticeLevel::Info, "Stored offline: " + money(stored_amount) + " will be authorized when back online");
    } else {
      m_.screen = Screen::Payment;
      notice(NoticeLevel::Info, "Stored offline " + money(stored_amount) + "; balance due " + money(balance_due(m_)));
    }
  }

  void approve(PaymentAttempt& at, const std::string& payment_intent_id, const CardDetails& card) {
    // A smart reader reports the outcome without a separate CardCollected: collecting ->
    // submitting -> approved, both legal steps.
    const bool was_given_up = at.state == AttemptState::Canceled || at.state == AttemptState::Declined;
    at.state = AttemptState::Approved;
    if (!payment_intent_id.empty()) at.payment_intent_id = payment_intent_id;
    merge_card(at.card, card);
    at.failure_message.clear();
    at.updated_at = ctx_.now;
    effects_.push_back(UpdateAttempt{at});
    const bool current = m_.active_attempt_id && *m_.active_attempt_id == at.id;
    const std::int64_t approved_amount = at.amount;
    if (current) end_card_phase();
    if (m_.sale && m_.sale->state == SaleState::Open) {
      // A late approval for an attempt whose cancel had reopened the sale: money was taken, so
      // the sale is being paid again (and its cart is locked by amount_paid).
      m_.sale->state = SaleState::Tendering;
      m_.sale->updated_at = ctx_.now;
      effects_.push_back(UpdateSaleState{m_.sale->id, SaleState::Tendering, ctx_.now});
    }
    notice(NoticeLevel::Info, "Approved " + money(approved_amount) + "; balance due " + money(balance_due(m_)));
    if (current) m_.screen = Screen::Payment;
    if (was_given_up) {
      // Stripe's answer wins (lesson 8): the money was taken although the attempt had been
      // given up. Staff must look at this sale.
      notice(NoticeLevel::Error, "Attempt " + at.id + " was approved after it had been given up: " +
                                     money(approved_amount) + " was taken; check the sale");
      effects_.push_back(Audit{"approved_after_given_up", "attempt=" + at.id + " sale=" + at.sale_id});
    }
    PaymentAttempt* other = active_mut();
    if (balance_due(m_) == 0 && other != nullptr && other->id != at.id && is_live(*other)) {
      // Paid in full while another card is still live: stop it if the reader still holds it;
      // otherwise its outcome decides (and an approval then is over-collected, see settle()).
      if (m_.phase == PaymentPhase::Collecting) {
        effects_.push_back(CancelCollect{other->id});
        m_.phase = PaymentPhase::Canceling;
      }
      return;
    }
    if (settle() && !was_given_up && amount_paid(m_) == m_.sale->total) {
      notice(NoticeLevel::Info, "Approved " + money(approved_amount));
    }
  }

  void decline(PaymentAttempt& at, const std::string& code, const std::string& message, const std::string& pi) {
    at.state = AttemptState::Declined;
    at.decline_code = code.empty() ? "card_declined" : code;
    at.failure_message = message;
    if (!pi.empty()) at.payment_intent_id = pi;
    at.updated_at = ctx_.now;
    effects_.push_back(UpdateAttempt{at});
    ReceiptInput in = receipt_input();
    in.tenders = {at};
    in.cash_tendered = 0;
    in.change = 0;
    print(std::move(in));
    const bool current = m_.active_attempt_id && *m_.active_attempt_id == at.id;
    if (current) {
      m_.phase = PaymentPhase::Declined;
      m_.screen = Screen::Payment;
      m_.reader.prompt = ReaderPromptKind::None;
      m_.reader.prompt_text.clear();
    }
    notice(NoticeLevel::Warning, "Declined: " + decline_reason(at.decline_code));
    // A decline of the card that was still live after an earlier late approval covered the
    // balance: the sale is now complete.
    settle();
  }

  void go_in_doubt(PaymentAttempt& at, const std::string& detail) {
    at.state = AttemptState::InDoubt;
    at.failure_message = detail;
    at.updated_at = ctx_.now;
    effects_.push_back(UpdateAttempt{at});
    effects_.push_back(ResolveInDoubt{at.id});
    if (m_.active_attempt_id && *m_.active_attempt_id == at.id) {
      m_.phase = PaymentPhase::InDoubt;
      m_.screen = Screen::Payment;
    }
    notice(NoticeLevel::Warning, kInDoubtText);
  }

  void unknown_attempt_outcome(const std::string& id, const std::string& what) {
    // Not this sale's attempt (set aside, or an earlier sale): the sync engine records the
    // outcome in the store; staff find it in the back office.
    notice(NoticeLevel::Warning, "An earlier payment (attempt " + id + ") was " + what + ": see the back office");
  }

  static void merge_card(CardDetails& into, const CardDetails& from) {
    auto take = [](std::string& a, const std::string& b) {
      if (!b.empty()) a = b;
    };
    take(into.brand, from.brand);
    take(into.last4, from.last4);
    take(into.exp_month_year, from.exp_month_year);
    take(into.read_method, from.read_method);
    take(into.application_id, from.application_id);
    take(into.application_label, from.application_label);
    take(into.authorization_code, from.authorization_code);
    take(into.terminal_verification_results, from.terminal_verification_results);
    take(into.cardholder_verification, from.cardholder_verification);
  }

  void end_card_phase() {
    m_.phase = PaymentPhase::None;
    m_.active_attempt_id.reset();
    m_.reader.prompt = ReaderPromptKind::None;
    m_.reader.prompt_text.clear();
  }

  // After a cancel (or giving up on a declined card): with nothing paid the sale is open again
  // and the cart editable; with part paid the balance is still owed.
  void back_to_tendering_choice(const std::string& what) {
    end_card_phase();
    if (settle()) return;  // a late approval had already covered the balance
    if (amount_paid(m_) == 0 && m_.sale && m_.sale->state == SaleState::Tendering) {
      m_.sale->state = SaleState::Open;
      m_.sale->updated_at = ctx_.now;
      effects_.push_back(UpdateSaleState{m_.sale->id, SaleState::Open, ctx_.now});
      m_.screen = Screen::Sell;
      notice(NoticeLevel::Info, what + ": nothing was charged");
    } else {
      m_.screen = Screen::Payment;
      notice(NoticeLevel::Info, what + ": balance due " + money(balance_due(m_)));
    }
  }

  ReceiptInput receipt_input() const {
    ReceiptInput in;
    in.merchant = ctx_.merchant;
    in.sale = *m_.sale;
    in.cash_tendered = m_.cash_tendered;
    in.change = m_.change_due;
    return in;
  }

  void print(ReceiptInput in) {
    m_.last_receipt = render_receipt(in);
    m_.last_receipt_input = in;
    effects_.push_back(PrintReceipt{m_.last_receipt, std::move(in)});
  }

  // A card read after the balance was covered (a late approval of an earlier card arrived
  // while this one was on the reader): nothing is owed, so the token is dropped unsubmitted.
  bool drop_if_already_paid(PaymentAttempt& at) {
    if (balance_due(m_) != 0) return false;
    at.state = AttemptState::Canceled;
    at.failure_message = "not submitted: the balance was already paid";
    at.updated_at = ctx_.now;
    effects_.push_back(UpdateAttempt{at});
    end_card_phase();
    settle();
    return true;
  }

  static bool is_live(const PaymentAttempt& a) {
    return a.state == AttemptState::Collecting || a.state == AttemptState::Submitting ||
           a.state == AttemptState::InDoubt;
  }

  bool has_live_attempt() const {
    return std::any_of(m_.attempts.begin(), m_.attempts.end(), [](const PaymentAttempt& a) { return is_live(a); });
  }

  // Completes the sale when the money covers it and no card is still live (a sale is never
  // marked paid while an outcome is pending). More money than the total can only come from a
  // card approved after it had been given up: it is flagged for a refund. True if completed.
  bool settle() {
    if (!m_.sale || m_.sale->state != SaleState::Tendering) return false;
    if (amount_paid(m_) == 0 || balance_due(m_) != 0 || has_live_attempt()) return false;
    end_card_phase();
    complete_sale();
    const std::int64_t over = amount_paid(m_) - m_.sale->total;
    if (over > 0) {
      effects_.push_back(Audit{"over_collected", "sale=" + m_.sale->id + " amount=" + money(over)});
      notice(NoticeLevel::Error, "Over-collected " + money(over) + ": refund it from the back office");
    }
    return true;
  }

  void complete_sale() {
    Sale& s = *m_.sale;
    s.state = SaleState::Paid;
    s.updated_at = ctx_.now;
    effects_.push_back(UpdateSaleState{s.id, SaleState::Paid, ctx_.now});
    ReceiptInput in = receipt_input();
    for (const auto& a : m_.attempts) {
      if (is_money_state(a)) in.tenders.push_back(a);
    }
    print(std::move(in));
    m_.screen = Screen::Receipt;
  }

  void reset_checkout() {
    Model fresh;
    fresh.reader = m_.reader;
    fresh.reader.prompt = ReaderPromptKind::None;
    fresh.reader.prompt_text.clear();
    fresh.offline = m_.offline;
    fresh.back_office = m_.back_office;
    fresh.storage_error = m_.storage_error;
    fresh.last_receipt = m_.last_receipt;
    fresh.last_receipt_input = m_.last_receipt_input;
    fresh.store_check = m_.store_check;
    fresh.store_check_error = m_.store_check_error;
    fresh.screen = Screen::Sell;
    m_ = std::move(fresh);
  }

  Screen home_screen() const {
    if (m_.sale && m_.sale->state == SaleState::Paid) return Screen::Receipt;
    if (m_.phase != PaymentPhase::None || amount_paid(m_) > 0) return Screen::Payment;
    return Screen::Sell;
  }

  void reload_back_office() {
    m_.back_office.loading = true;
    effects_.push_back(LoadBackOffice{});
  }

  void refresh_offline() {
    OfflineStatus& o = m_.offline;
    o.headroom.clear();
    std::vector<std::string> currencies{std::string(ctx_.currency.code())};
    for (const auto& [code, _] : o.stored.by_currency) {
      if (std::find(currencies.begin(), currencies.end(), code) == currencies.end()) currencies.push_back(code);
    }
    for (const auto& c : currencies) o.headroom.push_back(headroom(ctx_.risk, o.stored, c));
    o.oldest_age = o.stored.oldest && *o.stored.oldest < ctx_.now
                       ? std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.now - *o.stored.oldest)
                       : std::chrono::milliseconds{0};
    // The caps that do not depend on the next payment's amount or card: if one is reached, no
    // card payment can be stored and the kiosk must require online.
    const OfflinePayment probe{0, std::string(ctx_.currency.code()), "", "", false, ctx_.now};
    const RiskDecision d = evaluate(ctx_.risk, o.stored, probe);
    const auto* refused = std::get_if<Refused>(&d);
    o.require_online_reason = refused != nullptr ? refused->message : std::string();
  }

  Model m_;
  const Model original_;
  const Context& ctx_;
  std::vector<Effect> effects_;
};

}  // namespace

Model initial_model(const Context& context) {
  return update(Model{}, OfflineStatusUpdated{}, context).model;
}

std::int64_t amount_paid(const Model& model) {
  std::int64_t paid = 0;
  for (const auto& a : model.attempts) {
    if (is_money_state(a)) paid += a.amount;  // each <= the sale total, so no overflow
  }
  return paid;
}

std::int64_t balance_due(const Model& model) {
  const std::int64_t total = model.sale && model.sale->state != SaleState::Open ? model.sale->total : model.totals.total;
  return std::max<std::int64_t>(0, total - amount_paid(model));
}

const PaymentAttempt* find_attempt(const Model& model, const std::string& attempt_id) {
  for (const auto& a : model.attempts) {
    if (a.id == attempt_id) return &a;
  }
  return nullptr;
}

Update update(Model model, const Action& action, const Context& context) {
  Reducer r(std::move(model), context);
  std::visit(r, action);
  return r.finish();
}

std::string decline_reason(const std::string& code) {
  struct Row {
    const char* code;
    const char* text;
  };
  static constexpr Row kRows[] = {
      {"insufficient_funds", "Insufficient funds: ask for another card or another way to pay"},
      {"expired_card", "The card has expired: ask for another card"},
      {"incorrect_pin", "Incorrect PIN: try again with the same card"},
      {"pin_try_exceeded", "Too many PIN attempts: ask for another card"},
      {"incorrect_cvc", "Card check failed: ask for another card"},
      {"withdrawal_count_limit_exceeded", "The card's limit is reached: ask for another card"},
      {"card_velocity_exceeded", "The card's limit is reached: ask for another card"},
      {"call_issuer", "The bank asks the customer to call them: ask for another card"},
      {"processing_error", "A processing error: try the card again"},
      {"reenter_transaction", "A processing error: try the card again"},
      {"try_again_later", "The bank did not answer: try again or use another card"},
      {"card_not_supported", "This card does not support this purchase: ask for another card"},
      {"currency_not_supported", "This card does not support this currency: ask for another card"},
      {"offline_pin_required", "The card needs its PIN: insert the card and enter the PIN"},
      {"online_or_offline_pin_required", "The card needs its PIN: insert the card and enter the PIN"},
      // Lost/stolen/fraud codes are never said out loud at the counter.
      {"lost_card", "Declined by the bank: ask for another card or another way to pay"},
      {"stolen_card", "Declined by the bank: ask for another card or another way to pay"},
      {"fraudulent", "Declined by the bank: ask for another card or another way to pay"},
      {"pickup_card", "Declined by the bank: ask for another card or another way to pay"},
  };
  for (const auto& r : kRows) {
    if (code == r.code) return r.text;
  }
  return "Declined by the bank: ask for another card or another way to pay";
}

std::string_view to_string(Screen s) noexcept {
  switch (s) {
    case Screen::Sell: return "sell";
    case Screen::Payment: return "payment";
    case Screen::Receipt: return "receipt";
    case Screen::BackOffice: return "back_office";
  }
  return "unknown";
}

std::string_view to_string(ReaderCommandKind k) noexcept {
  switch (k) {
    case ReaderCommandKind::Connect: return "connect";
    case ReaderCommandKind::Disconnect: return "disconnect";
    case ReaderCommandKind::InstallUpdate: return "install_update";
    case ReaderCommandKind::RefreshStatus: return "refresh_status";
  }
  return "unknown";
}

std::string utc_day(Timestamp t) {
  using namespace std::chrono;
  const year_month_day ymd{floor<days>(t)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string_view to_string(PaymentPhase p) noexcept {
  switch (p) {
    case PaymentPhase::None: return "none";
    case PaymentPhase::Collecting: return "collecting";
    case PaymentPhase::Canceling: return "canceling";
    case PaymentPhase::Authorizing: return "authorizing";
    case PaymentPhase::InDoubt: return "in_doubt";
    case PaymentPhase::Declined: return "declined";
    case PaymentPhase::Refused: return "refused";
    case PaymentPhase::Failed: return "failed";
  }
  return "unknown";
}

}  // namespace till::pos
