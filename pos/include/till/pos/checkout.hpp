#pragma once
// The checkout reducer: update(Model, Action, Context) -> {Model, Effects}. Every state change
// of the kiosk goes through here (lager style); views read the Model and dispatch Actions; the
// app's effect runner performs the Effects on the core thread and reports results back as
// Actions. Pure and synchronous: time, ids and configuration arrive in the Context.
//
// EFFECT RUNNER CONTRACT (app/): effects run in the order given. If a durable effect
// (PersistSale, UpdateSaleState, CreateAttempt, UpdateAttempt, EnqueueOperation) fails, the
// runner skips the REST of that list and dispatches StoreFailed: a card is never collected for
// a sale or attempt that is not on disk. After a list containing PersistSale succeeds it
// dispatches SaleSaved.
//
// FLOWS (details in pos/README.md)
//  Charge      -> [PersistSale (sale tendering), CreateAttempt (key fixed now), StartCollect]
//  CardCollected online  -> [UpdateAttempt(submitting), EnqueueOperation(intent: create PI, same key)]
//  CardCollected offline / PaymentStoredOffline -> risk policy: allowed -> [UpdateAttempt
//              (stored_offline), EnqueueOperation, (sale paid ...)]; refused -> attempt canceled,
//              reason shown, another card or cash.
//  PaymentApproved -> [UpdateAttempt(approved), (UpdateSaleState paid, PrintReceipt)]. A sale
//              is marked paid only when the money covers it and no card attempt is live.
//  PaymentDeclined -> [UpdateAttempt(declined), PrintReceipt(declined)]; a reason the cashier
//              can act on; RetryWithAnotherCard = a NEW attempt with a NEW key.
//  PaymentOutcomeUnknown -> [UpdateAttempt(in_doubt), ResolveInDoubt]; "outcome unknown:
//              checking, do not retry"; no retry, cash, cancel or new sale until InDoubtResolved.
//  Actions that make no sense in the current phase (Charge twice, cart edits while tendering,
//  ...) are rejected: the model is unchanged except `notice`, and there are no effects (the one
//  exception: a wrong manager PIN is audited). Late or repeated events for an attempt that has
//  moved on are ignored without touching the model.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/pos/cart.hpp"
#include "till/pos/catalog.hpp"
#include "till/pos/money.hpp"
#include "till/pos/receipt.hpp"
#include "till/pos/records.hpp"
#include "till/pos/risk.hpp"
#include "till/pos/states.hpp"

namespace till::pos {

// ---------------------------------------------------------------------------------------------
// Model

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
struct Notice {
  NoticeLevel level = NoticeLevel::Info;
  std::string text;
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

// ---------------------------------------------------------------------------------------------
// Actions (dispatched by views, or by the effect runner reporting results)

// Cart (only while the sale is open: no tender taken, no payment in progress)
struct AddProduct { std::string product_id; std::int64_t quantity = 1; bool operator==(const AddProduct&) const = default; };
struct ScanBarcode { std::string code; bool operator==(const ScanBarcode&) const = default; };
struct SetQuantity { std::size_t line = 0; std::int64_t quantity = 1; bool operator==(const SetQuantity&) const = default; };
struct RemoveLine { std::size_t line = 0; bool operator==(const RemoveLine&) const = default; };
struct SetLineDiscount { std::size_t line = 0; Discount discount; bool operator==(const SetLineDiscount&) const = default; };
struct SetCartDiscount { Discount discount; bool operator==(const SetCartDiscount&) const = default; };
struct SetTip { std::int64_t amount = 0; bool operator==(const SetTip&) const = default; };
struct SetCustomerContact { std::string contact; bool operator==(const SetCustomerContact&) const = default; };
struct ClearCart { bool operator==(const ClearCart&) const = default; };

// Tender
// Card for `amount` (default: the whole balance; less for a split between cards).
struct Charge { std::optional<std::int64_t> amount; bool operator==(const Charge&) const = default; };
// Cash handed over; applies min(tendered, balance), the rest is change.
struct PayCash { std::int64_t tendered = 0; bool operator==(const PayCash&) const = default; };
struct CancelPayment { bool operator==(const CancelPayment&) const = default; };
struct RetryWithAnotherCard { bool operator==(const RetryWithAnotherCard&) const = default; };
// Abandon the sale before any money was taken: the sale (if persisted) becomes voided.
struct VoidSale { bool operator==(const VoidSale&) const = default; };
struct NewSale { bool operator==(const NewSale&) const = default; };

// Reader (from the terminal driver)
struct ReaderStatusChanged { bool connected = false; std::string label; std::string detail; bool operator==(const ReaderStatusChanged&) const = default; };
struct ReaderPrompt { std::string attempt_id; ReaderPromptKind kind = ReaderPromptKind::Other; std::string text; bool operator==(const ReaderPrompt&) const = default; };
// The reader read the card and handed over a token; online, the payment is submitted now.
struct CardCollected {
  std::string attempt_id;
  std::string payment_method;  // pm_... token; never a PAN
  CardDetails card;
  bool online_pin_required = false;
  bool operator==(const CardCollected&) const = default;
};
// The reader collected the card without a connection (store and forward). The reducer applies
// the offline risk policy: it keeps the payment or refuses it (the token is then dropped; no
// money moved because nothing was authorized).
struct PaymentStoredOffline {
  std::string attempt_id;
  std::string payment_method;
  CardDetails card;
  bool online_pin_required = false;
  bool operator==(const PaymentStoredOffline&) const = default;
};
// The reader confirmed a cancel: no card was read.
struct CollectCanceled { std::string attempt_id; bool operator==(const CollectCanceled&) const = default; };
// The reader failed before a card was read (timeout, card removed too early, reader busy).
struct CollectFailed { std::string attempt_id; std::string reason; bool operator==(const CollectFailed&) const = default; };

// Stripe's answer (from the sync engine / terminal)
struct PaymentApproved {
  std::string attempt_id;
  std::string payment_intent_id;
  CardDetails card;  // receipt fields as returned (auth code, AID, ...); empty fields keep ours
  bool operator==(const PaymentApproved&) const = default;
};
struct PaymentDeclined {
  std::string attempt_id;
  std::string code;     // decline_code if any, else error code (card_declined, expired_card, ...)
  std::string message;  // Stripe's message, for the log/back office
  std::string payment_intent_id;
  bool operator==(const PaymentDeclined&) const = default;
};
// Timeout, lost connection, reader dropped after the card was read: the money may have moved.
struct PaymentOutcomeUnknown { std::string attempt_id; std::string detail; bool operator==(const PaymentOutcomeUnknown&) const = default; };
// The resolver found Stripe's final answer for an in-doubt attempt.
struct InDoubtResolved {
  std::string attempt_id;
  bool approved = false;
  std::string payment_intent_id;
  std::string decline_code;  // when not approved
  std::string message;
  CardDetails card;
  bool operator==(const InDoubtResolved&) const = default;
};

// Effect runner feedback
struct SaleSaved { std::string sale_id; bool operator==(const SaleSaved&) const = default; };
struct StoreFailed { std::string message; bool operator==(const StoreFailed&) const = default; };
// The database check runs (no tender until StoreChecked ok) / ended: ok, or why not.
struct StoreCheckStarted { bool operator==(const StoreCheckStarted&) const = default; };
struct StoreChecked { bool ok = true; std::string message; bool operator==(const StoreChecked&) const = default; };
// A queued refund the store refused (more than is left to refund, no such payment): the
// manager's input, not a storage failure; nothing was queued.
struct RefundRefused { std::string message; bool operator==(const RefundRefused&) const = default; };

// Connectivity and offline status (from the sync engine / store)
struct ConnectivityChanged { bool online = true; bool operator==(const ConnectivityChanged&) const = default; };
struct OfflineStatusUpdated { StoredTotals stored; bool operator==(const OfflineStatusUpdated&) const = default; };

// Back office (manager)
struct OpenBackOffice { std::string pin; bool operator==(const OpenBackOffice&) const = default; };
struct CloseBackOffice { bool operator==(const CloseBackOffice&) const = default; };
struct BackOfficeLoaded { QueueCounts counts; std::vector<AttentionItem> attention; bool operator==(const BackOfficeLoaded&) const = default; };
struct RetryOperation { std::int64_t operation_id = 0; bool operator==(const RetryOperation&) const = default; };
struct MarkHandled { std::int64_t operation_id = 0; std::string note; bool operator==(const MarkHandled&) const = default; };
// Queue a refund of an approved card payment (full when amount is empty).
struct RequestRefund {
  std::string sale_id;
  std::string attempt_id;
  std::string payment_intent_id;
  std::int64_t amount = 0;
  std::string currency;
  bool operator==(const RequestRefund&) const = default;
};
// Leave an in-doubt sale to the resolver and the back office, and free the register for the
// next customer. The sale stays tendering and the attempt in_doubt in the store.
struct SetAsideSale { bool operator==(const SetAsideSale&) const = default; };
// Reader management (manager). Disconnect and update are refused while a card payment is live.
enum class ReaderCommandKind { Connect, Disconnect, InstallUpdate, RefreshStatus };
struct ManageReader { ReaderCommandKind command = ReaderCommandKind::RefreshStatus; bool operator==(const ManageReader&) const = default; };
// From the runtime: fresh reader details (after a command, a status change or update progress).
struct ReaderDetailsUpdated { ReaderDetails details; bool operator==(const ReaderDetailsUpdated&) const = default; };
// From the runtime: a reader command finished (ok, or why not).
struct ReaderCommandDone { ReaderCommandKind command = ReaderCommandKind::RefreshStatus; bool ok = true; std::string message; bool operator==(const ReaderCommandDone&) const = default; };
// End of day (manager): today's report (UTC day of Context::now), built by the app.
struct LoadDayReport { bool operator==(const LoadDayReport&) const = default; };
struct DayReportLoaded { DaySummary report; bool operator==(const DayReportLoaded&) const = default; };
struct DayReportFailed { std::string message; bool operator==(const DayReportFailed&) const = default; };
// Receipts (cashier, on the receipt screen): print the last receipt again; queue it by email.
struct ReprintReceipt { bool operator==(const ReprintReceipt&) const = default; };
struct EmailReceipt { std::string address; bool operator==(const EmailReceipt&) const = default; };
// From the runtime: a printer sink failed (nothing is durable about printing: the sale stands).
struct PrintFailed { std::string message; bool operator==(const PrintFailed&) const = default; };
// From the runtime: the email receipt was queued (ok) or refused (message says why).
struct EmailQueued { bool ok = true; std::string message; bool operator==(const EmailQueued&) const = default; };
// Refund of a past sale (manager): find it by receipt number (sale id or its first 8+ characters).
struct FindSaleForRefund { std::string receipt_number; bool operator==(const FindSaleForRefund&) const = default; };
struct SaleForRefundFound { PastSale sale; bool operator==(const SaleForRefundFound&) const = default; };
struct SaleForRefundFailed { std::string message; bool operator==(const SaleForRefundFailed&) const = default; };

using Action = std::variant<
    AddProduct, ScanBarcode, SetQuantity, RemoveLine, SetLineDiscount, SetCartDiscount, SetTip,
    SetCustomerContact, ClearCart, Charge, PayCash, CancelPayment, RetryWithAnotherCard, VoidSale,
    NewSale, ReaderStatusChanged, ReaderPrompt, CardCollected, PaymentStoredOffline,
    CollectCanceled, CollectFailed, PaymentApproved, PaymentDeclined, PaymentOutcomeUnknown,
    InDoubtResolved, SaleSaved, StoreFailed, ConnectivityChanged, OfflineStatusUpdated,
    OpenBackOffice, CloseBackOffice, BackOfficeLoaded, RetryOperation, MarkHandled, RequestRefund,
    SetAsideSale, ManageReader, ReaderDetailsUpdated, ReaderCommandDone, LoadDayReport, DayReportLoaded,
    DayReportFailed, ReprintReceipt, EmailReceipt, PrintFailed, EmailQueued, FindSaleForRefund,
    SaleForRefundFound, SaleForRefundFailed, StoreCheckStarted, StoreChecked, RefundRefused>;

// ---------------------------------------------------------------------------------------------
// Effects (performed by the app's effect runner; see the contract at the top)

// Upsert the sale header, lines and taxes in one transaction (the store refuses it for a sale
// already paid, partially_paid or voided). Emitted before any tender.
struct PersistSale { Sale sale; bool operator==(const PersistSale&) const = default; };
struct UpdateSaleState { std::string sale_id; SaleState state = SaleState::Open; Timestamp at{}; bool operator==(const UpdateSaleState&) const = default; };
// Insert the attempt row with its idempotency key, before anything leaves the machine.
struct CreateAttempt { PaymentAttempt attempt; bool operator==(const CreateAttempt&) const = default; };
// Write the attempt's new state and details (the whole record as the model has it).
struct UpdateAttempt { PaymentAttempt attempt; bool operator==(const UpdateAttempt&) const = default; };
// Ask the active reader to collect a card for this attempt.
struct StartCollect {
  std::string attempt_id;
  std::int64_t amount = 0;
  std::string currency;
  bool offline_allowed = false;  // risk pre-check passed: the reader may store and forward
  bool operator==(const StartCollect&) const = default;
};
struct CancelCollect { std::string attempt_id; bool operator==(const CancelCollect&) const = default; };
// What to ask Stripe for, as an intent: the reducer decides WHAT (kind, amounts, token, target,
// key, account); the app builds the exact request from it with sync/operations (method, path,
// form body: one builder for the kiosk and till-sync, so they can never send different params),
// checks it against the attempt on disk, and stores those bytes in the outbox row, which the
// engine re-sends byte-identically under the same key. pos has no form encoder (layering).
struct OperationIntent {
  OperationKind kind = OperationKind::CreatePaymentIntent;
  std::string sale_id;
  std::string attempt_id;            // the payment attempt (for a refund: the one refunded)
  int attempt_number = 0;            // metadata[attempt] (CreatePaymentIntent)
  std::string account_id;            // the attempt's connected account (Connect safety)
  std::int64_t amount = 0;           // the payment's amount (CreatePaymentIntent)
  std::string currency;              // lowercase ISO
  std::string payment_method;        // pm_... reader token (CreatePaymentIntent)
  std::string capture_method;        // automatic | manual (CreatePaymentIntent; Context)
  std::string payment_intent_id;     // Refund: the PaymentIntent refunded
  std::optional<std::int64_t> refund_amount;  // Refund: empty = the whole remaining amount
  std::string idempotency_key;       // fixed here; every resend uses it
  Timestamp at{};
  bool operator==(const OperationIntent&) const = default;
};
// Insert into the outbox; the sync engine sends it at once when online.
struct EnqueueOperation { OperationIntent intent; bool operator==(const EnqueueOperation&) const = default; };
// Ask the resolver to settle an in-doubt attempt now (same key / lookup by metadata[sale_id]).
struct ResolveInDoubt { std::string attempt_id; bool operator==(const ResolveInDoubt&) const = default; };
// `text` is the receipt as shown; `receipt` what it was rendered from, so an ESC/POS printer can
// style it (absent: printed from the text, unstyled).
struct PrintReceipt {
  std::string text;
  std::optional<ReceiptInput> receipt;
  bool operator==(const PrintReceipt&) const = default;
};
struct OpenCashDrawer { bool operator==(const OpenCashDrawer&) const = default; };
// Load queue counts and the attention list; the runner answers with BackOfficeLoaded.
struct LoadBackOffice { bool operator==(const LoadBackOffice&) const = default; };
struct RequeueOperation { std::int64_t operation_id = 0; bool operator==(const RequeueOperation&) const = default; };
struct MarkOperationHandled { std::int64_t operation_id = 0; std::string note; bool operator==(const MarkOperationHandled&) const = default; };
// Append to the audit log (manager actions, refusals). Never carries a PIN or card data.
struct Audit { std::string event; std::string detail; bool operator==(const Audit&) const = default; };
// Run a reader command; the runner answers ReaderCommandDone (and ReaderDetailsUpdated /
// ReaderStatusChanged as the reader changes).
struct ReaderCommand { ReaderCommandKind command = ReaderCommandKind::RefreshStatus; bool operator==(const ReaderCommand&) const = default; };
// Build the end-of-day report for `day` (YYYY-MM-DD, UTC) from the store; the runner answers
// DayReportLoaded or DayReportFailed.
struct BuildDayReport { std::string day; bool operator==(const BuildDayReport&) const = default; };
// Queue the receipt text for `address` (the store seals the address and never audits it); the
// runner answers EmailQueued. Not a durable effect of the sale: a refusal does not stop a list.
struct QueueEmailReceipt { std::string sale_id; std::string address; std::string body; bool operator==(const QueueEmailReceipt&) const = default; };
// Look a past sale up for a refund; the runner answers SaleForRefundFound / SaleForRefundFailed.
struct LookUpSaleForRefund { std::string receipt_number; bool operator==(const LookUpSaleForRefund&) const = default; };

using Effect = std::variant<PersistSale, UpdateSaleState, CreateAttempt, UpdateAttempt, StartCollect,
                            CancelCollect, EnqueueOperation, ResolveInDoubt, PrintReceipt,
                            OpenCashDrawer, LoadBackOffice, RequeueOperation, MarkOperationHandled,
                            Audit, ReaderCommand, BuildDayReport, QueueEmailReceipt, LookUpSaleForRefund>;

// ---------------------------------------------------------------------------------------------
// Context and update

struct Context {
  Timestamp now{};
  Random& random;               // ids and idempotency keys (UUIDv4); SeededRandom in tests
  std::string register_id;
  std::string account_id;       // connected account (acct_...) bound to every attempt
  Currency currency;            // the register's currency; must equal catalog.currency()
  const Catalog& catalog;
  RiskConfig risk;
  Merchant merchant;
  std::string manager_pin;      // compared, never stored in the model, logged or audited
  // How card payments are captured (OperationIntent::capture_method): automatic | manual. The
  // platform's application fee is not the reducer's: the app applies its fee rule when it builds
  // the request.
  std::string capture_method = "automatic";
};

struct Update {
  Model model;
  std::vector<Effect> effects;
};

// The reducer. Pure and deterministic given the Context; call on the UI thread. Never fails:
// a rejected action returns the model with `notice` set and no effects.
Update update(Model model, const Action& action, const Context& context);

// The model a register starts with: the sell screen, online, headroom under the caps computed.
// Any thread; never fails.
Model initial_model(const Context& context);

// A short cashier-facing reason for a decline code ("Insufficient funds: ask for another card or
// another way to pay"). Never says "lost" or "stolen" (shown to the customer).
std::string decline_reason(const std::string& code);

// The text shown while an attempt is in doubt.
inline constexpr const char* kInDoubtText = "Outcome unknown: checking, do not retry";

std::string_view to_string(Screen s) noexcept;
std::string_view to_string(PaymentPhase p) noexcept;
std::string_view to_string(ReaderCommandKind k) noexcept;
// The UTC calendar day of `t` as YYYY-MM-DD. Any thread.
std::string utc_day(Timestamp t);

}  // namespace till::pos
