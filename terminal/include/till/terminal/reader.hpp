#pragma once
// The card-reader abstraction every driver implements (sim, tcp, stripe; usb later).
//
// Model: Stripe's Terminal SDKs. One operation at a time, each with a deadline and a way out;
// a payment whose answer was lost is OutcomeUnknown, never a decline; no PAN, track data or PIN
// ever crosses this interface (readers hand over a pm_ token, brand, last4, expiry and the EMV
// receipt fields).
//
// Threading and completion: every Reader lives on ONE boost::asio::io_context (the core
// thread). Call its functions only from that thread. Completion callbacks run on that thread,
// always posted (never inline, even for immediate failures), exactly once per accepted or
// rejected call. Destroying a Reader with an operation running drops that operation's callback
// (the payment attempt was persisted as `collecting` before collect began, so recovery treats it
// as in doubt): destroy readers only when idle.
//
// "Operations" are discover, connect, disconnect, collect, set_display, refresh_status and
// install_update. While one runs, starting another fails with FailedPrecondition (never queued,
// lesson 15). cancel() and status() are not operations: they are always allowed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "till/base/result.hpp"
#include "till/pos/money.hpp"
#include "till/pos/records.hpp"

namespace till::terminal {

using std::chrono::milliseconds;

struct ReaderInfo {
  std::string id;          // stable id within the driver (serial for protocol readers, tmr_... for Stripe)
  std::string label;
  std::string model;
  std::string serial;
  std::string firmware_version;
  std::string driver;      // "sim", "tcp", "stripe", "usb"
  bool operator==(const ReaderInfo&) const = default;
};

// Connection states as shown to staff.
enum class ConnectionState {
  Disconnected,  // no link; operations fail Unavailable
  Connecting,    // connect() running
  Connected,     // ready
  Reconnecting,  // lost unexpectedly; opt-in reconnect attempts running
};
std::string_view to_string(ConnectionState s) noexcept;

struct ReaderStatus {
  ConnectionState connection = ConnectionState::Disconnected;
  int battery_percent = -1;  // -1: unknown (mains-powered or not reported)
  bool charging = false;
  std::string firmware_version;
  bool update_required = false;
  bool reader_online = true;  // the reader's own network, for store-and-forward readers
  bool offline_capable = false;
  int offline_stored = 0;
  int offline_capacity = 0;
  bool operator==(const ReaderStatus&) const = default;
};

struct CartLine {
  std::string description;
  std::int64_t quantity = 1;
  std::int64_t amount = 0;  // minor units, line total
};
struct Cart {
  std::string currency;  // lowercase ISO; empty cart clears the display
  std::vector<CartLine> lines;
  std::int64_t tax = 0;
  std::int64_t total = 0;
};

struct CollectOptions {
  // May the reader store the payment offline (store-and-forward) if it cannot go online?
  // The app decides this from its offline risk policy before calling collect.
  bool offline_allowed = false;
  // Host-side deadline for the whole collect. When it passes the driver cancels on the reader;
  // if the reader confirms, the outcome is Cancelled, otherwise OutcomeUnknown.
  milliseconds deadline{60'000};
  // Server-driven readers only: the PaymentIntent (created and keyed by the app) to process.
  std::string payment_intent_id;
  // Server-driven readers only: idempotency key for the process_payment_intent call.
  std::string idempotency_key;
};

// The reader approved the card: the token is to be forwarded to Stripe (or, for a server-driven
// reader, the PaymentIntent was processed and payment_intent_id is set).
struct ApprovedToForward {
  std::string payment_method;  // pm_...
  pos::CardDetails card;
  bool stored_offline = false;  // store-and-forward: authorised only when forwarded
  std::string payment_intent_id;
  bool operator==(const ApprovedToForward&) const = default;
};
struct Declined {
  std::string decline_code;  // Stripe's decline code
  std::string message;
  bool operator==(const Declined&) const = default;
};
struct Cancelled {
  std::string reason;  // "requested", "deadline", ...
  bool operator==(const Cancelled&) const = default;
};
// The answer was lost (disconnect after the reader started authorising, deadline without a
// confirmed cancel, a lost server response). Reconcile before any retry; never show as declined.
struct OutcomeUnknown {
  std::string reason;
  bool operator==(const OutcomeUnknown&) const = default;
};
using CollectOutcome = std::variant<ApprovedToForward, Declined, Cancelled, OutcomeUnknown>;
std::string describe(const CollectOutcome& o);

// Events, in the order they happened, on the core thread.
enum class ReaderEventKind {
  CardInserted,
  CardTapped,
  CardSwiped,
  CardRemoved,
  PromptRemoveCard,
  PromptEnterPin,
  PromptTryAnotherCard,
  PinEntered,
  Authorizing,          // from here on, a lost answer is OutcomeUnknown
  UpdateRequired,
  FirmwareProgress,     // value = percent
  BatteryLow,           // value = percent
  StatusChanged,        // status() changed (battery, offline store, update flag, connection)
  Disconnected,         // unexpected link loss
  ReconnectAttempt,     // value = attempt number (1-based)
  Reconnected,
  ReconnectFailed,      // gave up after value attempts
  ProtocolError,        // a malformed frame from the reader was dropped (the link survives)
};
std::string_view to_string(ReaderEventKind k) noexcept;

struct ReaderEvent {
  ReaderEventKind kind = ReaderEventKind::StatusChanged;
  int value = 0;
  std::string message;
};

// Cancels the collect it was returned for, if that collect is still running; otherwise does
// nothing. Core thread only. Copyable; safe to use after the reader is gone (then a no-op).
class CancelHandle {
 public:
  CancelHandle() = default;
  explicit CancelHandle(std::function<void()> fn) : fn_(std::move(fn)) {}
  void cancel() const {
    if (fn_) fn_();
  }
  bool valid() const noexcept { return static_cast<bool>(fn_); }

 private:
  std::function<void()> fn_;
};

class Reader {
 public:
  using StatusCallback = std::function<void(Status)>;
  using DiscoverCallback = std::function<void(Result<std::vector<ReaderInfo>>)>;
  using ConnectCallback = std::function<void(Result<ReaderInfo>)>;
  // Errors mean nothing was authorised (FailedPrecondition: busy / another operation / update
  // required / card unusable offline; Unavailable: not connected, card removed or read failed,
  // no card in time, reader offline without offline_allowed; ResourceExhausted: offline store
  // full; InvalidArgument: bad amount). Every other ending is one of the CollectOutcome values.
  using CollectCallback = std::function<void(Result<CollectOutcome>)>;
  using ReaderStatusCallback = std::function<void(Result<ReaderStatus>)>;
  using EventHandler = std::function<void(const ReaderEvent&)>;

  virtual ~Reader() = default;

  // Lists readers this driver can reach. Fails Unavailable when none answers before deadline.
  virtual void async_discover(milliseconds deadline, DiscoverCallback done) = 0;
  // Connects to `reader` (from discover). Fails Unavailable (unreachable, deadline) or
  // FailedPrecondition (already connected, busy, protocol version mismatch).
  virtual void async_connect(const ReaderInfo& reader, milliseconds deadline, ConnectCallback done) = 0;
  // Closes the link on purpose: no reconnect follows. FailedPrecondition while another operation runs.
  virtual void async_disconnect(StatusCallback done) = 0;
  // Takes a card payment for `amount` (Money carries the currency). Returns the cancel handle.
  virtual CancelHandle async_collect(const pos::Money& amount, const CollectOptions& options,
                                     CollectCallback done) = 0;
  // Shows the cart on the reader's screen. Unavailable / FailedPrecondition / deadline -> Unavailable.
  virtual void async_set_display(const Cart& cart, milliseconds deadline, StatusCallback done) = 0;
  // Asks the reader for fresh status (battery, firmware, offline store).
  virtual void async_refresh_status(milliseconds deadline, ReaderStatusCallback done) = 0;
  // Installs the pending firmware update. Progress arrives as FirmwareProgress events.
  virtual void async_install_update(milliseconds deadline, StatusCallback done) = 0;

  // Cancels the running collect. Not an operation (allowed while one runs). Fails
  // FailedPrecondition when no collect is running. The collect still completes through its own
  // callback: Cancelled if the reader stopped in time, or its real outcome if it had already
  // decided (a cancel never turns an approval into a cancellation).
  virtual Status cancel() = 0;
  // Last known status; never blocks, never fails.
  virtual ReaderStatus status() const = 0;
  // Replaces the event handler (one subscriber: the app fans out).
  virtual void set_event_handler(EventHandler handler) = 0;
};

}  // namespace till::terminal
