#pragma once
// The checkout reducer's Model: what the kiosk's views read (checkout.hpp has the overview).
// Plain data, comparable with ==; only the reducer (pos/src/checkout/) changes it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "till/base/clock.hpp"
#include "till/pos/cart.hpp"
#include "till/pos/receipt.hpp"
#include "till/pos/records.hpp"
#include "till/pos/risk.hpp"
#include "till/pos/states.hpp"

namespace till::pos {

enum class Screen {
  Sell,        // catalog + cart; the sale is open (or between tenders of a split payment)
  Payment,     // a card payment is in progress or needs a decision (declined, refused, in doubt)
  Receipt,     // the sale is complete; receipt on screen; NewSale goes back to Sell
  BackOffice,  // manager screens (PIN-gated); the checkout underneath is preserved
};

enum class PaymentPhase {
  None,         // no card payment in progress
  Collecting,   // the reader is collecting a card; CancelPayment allowed
  Canceling,    // cancel sent to the reader; waiting for CollectCanceled (or a late card)
  Authorizing,  // card read, waiting for Stripe's answer; cannot be cancelled
  InDoubt,      // the answer never came: "outcome unknown: checking, do not retry"
  Declined,     // the last attempt was declined: retry with another card, cash, or cancel
  Refused,      // offline policy refused this card: another card, cash, or cancel
  Failed,       // the reader failed before a card was read (timeout, removed): safe to retry
};

enum class ReaderPromptKind { None, PresentCard, InsertCard, RemoveCard, EnterPin, Processing, TryAnotherCard, Other };

// What the back office shows about the reader (from the terminal driver's status).
struct ReaderDetails {
  std::string connection = "disconnected";  // disconnected | connecting | connected | reconnecting
  int battery_percent = -1;                 // -1: unknown or mains-powered
  bool charging = false;
  std::string firmware_version;
  bool update_required = false;
  int update_progress = -1;                 // 0..100 while an update installs, else -1
  bool reader_online = true;                // the reader's own network (store and forward)
  bool offline_capable = false;
  int offline_stored = 0;
  int offline_capacity = 0;
  bool operator==(const ReaderDetails&) const = default;
};

struct ReaderStatus {
  bool connected = false;
  std::string label;        // "Simulated reader SIM-001"
  std::string detail;       // firmware, battery, "update required", ...
  ReaderPromptKind prompt = ReaderPromptKind::None;
  std::string prompt_text;  // exactly what to show the cashier ("Present card")
  ReaderDetails details;
  bool command_running = false;  // a back-office reader command was sent, its answer not back
  bool operator==(const ReaderStatus&) const = default;
};

// Staff-only offline banner data (never shown to customers, stripe.md §8).
struct OfflineStatus {
  bool online = true;
  StoredTotals stored;
  // Age of the oldest stored payment as of the last offline update (views have no clock; the
  // runner dispatches OfflineStatusUpdated periodically, e.g. every 30 s, to keep it fresh).
  std::chrono::milliseconds oldest_age{0};
  std::vector<Headroom> headroom;      // one per currency with stored payments, plus the sale's
  std::string require_online_reason;   // non-empty when a cap forces require-online, and why
  bool operator==(const OfflineStatus&) const = default;
};

enum class NoticeLevel { Info, Warning, Error };

// A message for the cashier. Rejected actions and errors land here; the view shows the latest.
// `text` is cashier words only (pos/words.hpp, and cashier_words() for a payment attempt);
// engineer text (transport errors, codes, ids, a driver's or the store's message) goes to
// `details`, for the log and an expandable details line, never to `text`.
struct Notice {
  NoticeLevel level = NoticeLevel::Info;
  std::string text;
  std::string details;
  bool operator==(const Notice&) const = default;
};

struct QueueCounts {
  std::int64_t pending = 0;
  std::int64_t in_flight = 0;
  std::int64_t failed_retryable = 0;
  std::int64_t dead = 0;
  std::int64_t done = 0;
  std::int64_t stored_offline = 0;
  std::int64_t in_doubt = 0;
  bool operator==(const QueueCounts&) const = default;
};

// One row of the back office's attention list: an in-doubt attempt, a dead operation, or a
// payment declined after forwarding (money lost: contact the customer).
struct AttentionItem {
  enum class Kind { InDoubt, Dead, DeclinedAfterForward };
  Kind kind = Kind::Dead;
  std::int64_t operation_id = 0;  // 0 when the item is an attempt without an operation
  std::string sale_id;
  std::string attempt_id;
  std::int64_t amount = 0;
  std::string currency;
  std::string last_error;
  std::string last_request_id;   // Stripe Request-Id of the last call
  std::string customer_contact;
  Timestamp since{};
  bool operator==(const AttentionItem&) const = default;
};

// The end-of-day report as the app computed it from the store (sync::build_day_report, the
// ledger the sync uses): display data only, nothing is computed from it here. Amounts in minor
// units of each row's currency.
struct DaySummary {
  std::string day;  // YYYY-MM-DD (UTC)
  struct CurrencyRow {
    std::string currency;
    std::int64_t sales = 0, gross = 0, net = 0, tax = 0, tips = 0, discounts = 0, voided = 0, open = 0;
    bool operator==(const CurrencyRow&) const = default;
  };
  struct TenderRow {
    std::string tender;  // card | card_stored_offline | cash
    std::string currency;
    std::int64_t count = 0, amount = 0;
    bool operator==(const TenderRow&) const = default;
  };
  struct TaxRow {
    std::string currency, tax_code;
    std::int64_t rate_ppm = 0, net = 0, tax = 0;
    bool operator==(const TaxRow&) const = default;
  };
  struct FeeRow {
    std::string currency;
    std::int64_t payments = 0, application_fees = 0;
    bool operator==(const FeeRow&) const = default;
  };
  struct RefundRow {
    std::string currency;
    std::int64_t count = 0, amount = 0, pending = 0;
    bool operator==(const RefundRow&) const = default;
  };
  std::vector<CurrencyRow> currencies;
  std::vector<TenderRow> tenders;
  std::vector<TaxRow> tax_rates;
  std::vector<FeeRow> fees;
  std::vector<RefundRow> refunds;
  std::int64_t declined = 0, declined_after_forward = 0, in_doubt = 0, unsent = 0;
  bool operator==(const DaySummary&) const = default;
};

// A past sale as the refund screen shows it (the app copies it from the store's refund lookup:
// what was captured and already refunded per payment, so a refund cannot exceed what is left).
struct PastSale {
  struct Payment {
    std::string attempt_id;
    int number = 1;
    TenderKind tender = TenderKind::Card;
    AttemptState state = AttemptState::Approved;
    std::string brand;
    std::string last4;
    std::string payment_intent_id;
    std::int64_t captured = 0;
    std::int64_t refunded = 0;
    std::int64_t refund_pending = 0;
    std::int64_t refundable = 0;
    bool operator==(const Payment&) const = default;
  };
  Sale sale;  // lines and totals as rung up
  std::vector<Payment> payments;
  std::int64_t captured = 0, refunded = 0, refund_pending = 0, refundable = 0;
  bool operator==(const PastSale&) const = default;
};

struct BackOffice {
  bool unlocked = false;
  QueueCounts counts;
  std::vector<AttentionItem> attention;
  bool loading = false;  // LoadBackOffice sent, BackOfficeLoaded not yet back
  std::optional<DaySummary> day;  // the last end-of-day report loaded
  bool day_loading = false;       // BuildDayReport sent, its answer not yet back
  std::string day_error;          // why the last report could not be built
  std::optional<PastSale> refund_sale;  // the past sale found for a refund
  bool refund_lookup_running = false;
  std::string refund_lookup_error;
  bool operator==(const BackOffice&) const = default;
};

enum class StoreCheck { Passed, Checking, Failed };

struct Model {
  Screen screen = Screen::Sell;
  PaymentPhase phase = PaymentPhase::None;

  Cart cart;
  Totals totals;                       // compute_totals(cart), kept current for the views
  std::optional<Sale> sale;            // set at the first tender (Charge/PayCash); persisted
  bool sale_saved = false;             // SaleSaved seen for the current sale
  std::vector<PaymentAttempt> attempts;  // of the current sale, in creation order
  std::optional<std::string> active_attempt_id;  // the card attempt in progress / in question
  std::int64_t cash_tendered = 0;      // cash handed over for this sale (receipt)
  std::int64_t change_due = 0;         // cash to give back
  std::string customer_contact;        // optional email/phone (asked for offline payments)

  ReaderStatus reader;
  OfflineStatus offline;
  std::string last_receipt;            // text of the most recent receipt (approved/declined/offline)
  Notice notice;                       // latest message for the cashier
  std::string storage_error;           // non-empty after StoreFailed: blocking banner
  // The register's database check (PRAGMA quick_check). The runtime opens the store without it,
  // so the first frame is not held up by reading every page, and runs it on another thread
  // (StoreCheckStarted .. StoreChecked); no tender is taken until it passed. A store checked
  // while it was opened starts Passed.
  StoreCheck store_check = StoreCheck::Passed;
  std::string store_check_error;       // why it failed (DataLoss: the file is damaged)
  // The receipt behind last_receipt, for printers that style it (ESC/POS bold, double width).
  std::optional<ReceiptInput> last_receipt_input;
  BackOffice back_office;

  bool operator==(const Model&) const = default;
};

// Money taken so far for the current sale: approved, stored-offline and cash attempts. These
// three helpers are pure; any thread.
std::int64_t amount_paid(const Model& model);
// What is still owed: total - amount_paid (0 when no sale).
std::int64_t balance_due(const Model& model);
// The attempt with this id, or nullptr.
const PaymentAttempt* find_attempt(const Model& model, const std::string& attempt_id);

std::string_view to_string(Screen s) noexcept;
std::string_view to_string(PaymentPhase p) noexcept;

}  // namespace till::pos
