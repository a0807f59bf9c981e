#pragma once
// The checkout reducer's Actions: what views dispatch and what the app's effect runner reports
// back (checkout.hpp has the overview). Plain data, comparable with ==.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "till/pos/attempt.hpp"
#include "till/pos/cart.hpp"
#include "till/pos/checkout_model.hpp"
#include "till/pos/records.hpp"

namespace till::pos {

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
// The resolver found what became of an in-doubt attempt: Stripe's answer (StripeApproved,
// StripeDeclined, StripeCanceled) or proof that nothing reached Stripe (NotCharged). Any other
// event is ignored. Only NotCharged or Stripe's answer ends "outcome unknown"; neither of the
// last two is ever shown as a decline.
struct InDoubtResolved {
  std::string attempt_id;
  AttemptEvent outcome = AttemptEvent::NotCharged;
  std::string payment_intent_id;
  std::string decline_code;  // StripeDeclined
  std::string message;       // for the log and the notice's details
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

std::string_view to_string(ReaderCommandKind k) noexcept;

}  // namespace till::pos
