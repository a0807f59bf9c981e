#pragma once
// The durable store: one SQLite file per register holding sales, payment attempts, the outbox
// the sync engine drains, processed webhook events, an attention list and an append-only audit
// log. Committed means fsynced: WAL with synchronous=FULL, every write a BEGIN IMMEDIATE
// transaction (see pos/store/README.md for the schema, pragmas and error mapping).
//
// Threading: a Store is a single SQLite connection and is NOT thread-safe. The writer lives on
// the core thread (architecture.md); every call below must come from the thread that owns the
// Store. Status readers open their own read-only Store in their own process or thread.
//
// Errors (every call returns them as values, never throws):
//   ResourceExhausted  disk full / size quota reached: the write was rolled back, nothing lost
//   Unavailable        I/O error, or the database is busy/locked: retry the same call later
//   FailedPrecondition an illegal state transition, a duplicate key, a second writer, a schema
//                      newer than this build, a token write without a data key
//   NotFound           the record asked for does not exist
//   DataLoss           the file failed its integrity check, or a sealed value does not decrypt
//   InvalidArgument    a record is malformed (empty id, key or account)
//   Internal           anything else SQLite reported (the message carries SQLite's text)

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/pos/records.hpp"
#include "till/pos/states.hpp"
#include "till/store/data_key.hpp"

namespace till::store {

enum class OpenMode {
  Writer,    // the one writer: takes the exclusive lock on <db>.lock, creates and migrates
  ReadOnly,  // status readers: no lock, PRAGMA query_only, never migrates, never writes
};

// What open() checks before anything reads or writes the file.
enum class IntegrityCheck {
  Quick,     // PRAGMA quick_check (the default)
  Full,      // PRAGMA integrity_check (also checks index contents; slower)
  Deferred,  // nothing at open: the caller runs check_integrity() itself, e.g. on a read-only Store
             // on another thread after the first frame, and holds back card payments until it
             // passed (quick_check reads every page: about a second for 100,000 sales, see
             // bench/kiosk_startup_bench.cpp)
};

struct OpenOptions {
  OpenMode mode = OpenMode::Writer;
  std::chrono::milliseconds busy_timeout{5000};
  IntegrityCheck integrity_check = IntegrityCheck::Quick;
  // Seals offline payment tokens and outbox bodies (AES-256-GCM). Without it, writing an
  // offline token (or an operation for an offline attempt) is refused.
  std::optional<DataKey> data_key{};
  // PRAGMA max_page_count: a hard size quota. Reaching it behaves exactly like a full disk
  // (ResourceExhausted, the write rolled back), which is how the tests exercise that path.
  std::optional<std::int64_t> max_page_count{};
  // Writer only: put operations left in_flight by a crash back to pending (same key) at open.
  bool recover_in_flight = true;
  // The SQLite VFS to open with; empty = the platform default. Tests register a fault-injecting
  // VFS here to fail the n-th write or sync.
  std::string vfs{};
};

// Changes to an attempt. `state` may equal the current state (details only); otherwise the
// change goes through pos::transition(). The account and the idempotency key never change.
struct AttemptUpdate {
  std::string attempt_id{};
  pos::AttemptState state = pos::AttemptState::Collecting;
  std::optional<bool> offline{};
  std::optional<std::string> payment_method{};  // sealed at rest when a data key is configured
  std::optional<pos::CardDetails> card{};
  std::optional<std::string> payment_intent_id{};
  std::optional<std::string> decline_code{};
  std::optional<std::string> failure_message{};
};

struct OperationOutcome {
  std::string request_id;        // Stripe's Request-Id of the call that decided it
  std::string stripe_object_id;  // pi_..., re_..., empty when none
};

struct OperationFailure {
  std::string error;            // Error::describe(); never a secret
  std::string request_id;       // may be empty (no response)
  Timestamp next_attempt_at{};  // fail_operation only: when it is due again
};

// A webhook event as received (after signature verification). The payload itself is not kept;
// its hash is, so a redelivery with a different body is noticed.
struct WebhookEvent {
  std::string id;  // evt_...: the dedupe key
  std::string type;
  std::string account;         // acct_... (Connect)
  std::string payload_sha256;  // hex
  Timestamp received_at{};
  bool processed = false;
  std::string result;  // what handling did ("updated attempt ...", "unknown sale", ...)
  bool operator==(const WebhookEvent&) const = default;
};
enum class WebhookSeen { New, AlreadySeen };

struct AuditEntry {
  std::int64_t id = 0;  // assigned by the store
  Timestamp at{};       // assigned by the store (clock) when left at epoch
  std::string actor;    // "till-sync", "kiosk", a person's name
  std::string action;   // "operation.retry", "attempt.state", ...
  std::string subject;  // the record it is about (id)
  std::string detail;
  bool operator==(const AuditEntry&) const = default;
};

// A payment that needs a person: today, an offline payment declined when forwarded (money lost),
// with the customer contact taken at sale time.
struct AttentionItem {
  std::int64_t id = 0;
  std::string sale_id;
  std::string attempt_id;
  std::string reason;  // "declined_after_forward"
  std::string customer_contact;
  std::int64_t amount = 0;
  std::string currency;
  std::string decline_code;
  Timestamp created_at{};
  std::optional<Timestamp> resolved_at;
  std::string resolution;
  bool operator==(const AttentionItem&) const = default;
};

struct CurrencyTotal {
  std::string currency;
  std::int64_t count = 0;
  std::int64_t amount = 0;  // minor units
  Timestamp oldest{};
  bool operator==(const CurrencyTotal&) const = default;
};

// What `till-sync status` shows. Lists carry no secrets: attempts without payment_method,
// operations without body.
struct StatusSnapshot {
  std::map<pos::OutboxState, std::int64_t> operations;         // every state, zero included
  std::map<pos::AttemptState, std::int64_t> attempts;          // every state, zero included
  std::optional<Timestamp> oldest_unsent_created_at;           // pending / failed_retryable / in_flight
  std::optional<std::chrono::milliseconds> oldest_unsent_age;  // clock.now() - the above
  // Per currency: payments taken offline that Stripe has not answered yet (stored_offline, or
  // submitting / in_doubt while being forwarded): what counts against the offline risk caps.
  std::vector<CurrencyTotal> offline_stored;
  std::vector<pos::PaymentAttempt> in_doubt;
  std::vector<pos::OutboxOperation> dead;
  std::vector<AttentionItem> attention;  // unresolved only
};

// An email receipt waiting for (or done with) a sender. Sending is not the store's job, and no
// sender exists yet: whatever sends lists `queued` ones and marks each outcome.
enum class EmailReceiptState {
  Queued,  // waiting for the sender (also after a failed attempt that may be retried)
  Sent,    // handed to the mail server; address masked, body erased
  Failed,  // given up (bad address, refused); a person may requeue it
};
std::string_view to_string(EmailReceiptState s) noexcept;

struct EmailReceipt {
  std::int64_t id = 0;
  std::string sale_id;
  std::string address;  // full while queued or failed; "a***@example.com" once sent
  std::string body;     // the rendered receipt text; empty once sent
  EmailReceiptState state = EmailReceiptState::Queued;
  int attempts = 0;     // delivery attempts so far
  std::string last_error;
  Timestamp created_at{};
  Timestamp updated_at{};
  std::optional<Timestamp> sent_at;
  bool operator==(const EmailReceipt&) const = default;
};

// Refunds of one payment attempt, as far as this register knows (its outbox).
struct PaymentRefunds {
  pos::PaymentAttempt attempt;      // payment_method left out
  std::int64_t captured = 0;        // an approved card attempt's amount; 0 for anything else
  std::int64_t refunded = 0;        // refund operations Stripe confirmed (done)
  std::int64_t refund_pending = 0;  // refund operations not done: pending, in flight, retrying or
                                    // dead (a dead one may have happened: it still counts)
  std::int64_t refundable() const noexcept {
    const std::int64_t left = captured - refunded - refund_pending;
    return left > 0 ? left : 0;
  }
  bool operator==(const PaymentRefunds&) const = default;
};

// A past sale as the refund screen needs it: found by sale id or by the receipt number printed on
// the receipt (the sale id, or its first 8 or more characters).
struct SaleRefunds {
  pos::Sale sale;
  std::vector<PaymentRefunds> payments;       // every attempt, in order (cash and declined capture 0)
  std::vector<pos::OutboxOperation> refunds;  // the sale's refund operations, bodies left out
  std::int64_t captured = 0;                  // sums over `payments`
  std::int64_t refunded = 0;
  std::int64_t refund_pending = 0;
  std::int64_t refundable = 0;
  bool operator==(const SaleRefunds&) const = default;
};

class Store;
namespace detail {
struct StoreAccess;  // the store's own smaller files (identity.cpp) reach its connection through it
}

// The writes of one transaction. Only exists inside Store::write(); nothing is visible to other
// connections, and nothing is durable, until the callback returns ok and COMMIT succeeds.
class WriteTx {
 public:
  // Insert the sale with its lines and taxes, or rewrite a non-final sale (cart edited after
  // tendering -> open -> tendering): lines and taxes are replaced, the state change is checked.
  Status persist_sale(const pos::Sale& sale);
  Status update_sale_state(std::string_view sale_id, pos::SaleState to);
  // FailedPrecondition if the idempotency key or (sale, number) already exists.
  Status create_attempt(const pos::PaymentAttempt& attempt);
  // A move to declined_after_forward also puts the payment on the attention list.
  Status update_attempt(const AttemptUpdate& update);
  // Returns the new operation id. The operation's account must equal its attempt's. A refund must
  // name an approved card attempt and may not exceed what is left of it after every earlier
  // refund operation (done or not): FailedPrecondition otherwise (see sale_for_refund).
  Result<std::int64_t> enqueue_operation(const pos::OutboxOperation& op);
  // -> done (from in_flight, or from dead when a person resolved it).
  Status complete_operation(std::int64_t id, const OperationOutcome& outcome);
  // in_flight -> failed_retryable, due again at failure.next_attempt_at.
  Status fail_operation(std::int64_t id, const OperationFailure& failure);
  // -> dead: needs a person. Never blocks other operations.
  Status dead_operation(std::int64_t id, const OperationFailure& failure);
  // dead -> pending with the same key, due now; audited with the actor and reason.
  Status retry_operation(std::int64_t id, std::string_view actor, std::string_view reason);
  Result<WebhookSeen> record_webhook_event(const WebhookEvent& event);
  Status mark_webhook_processed(std::string_view event_id, std::string_view result);
  Result<std::int64_t> append_audit(const AuditEntry& entry);
  Status resolve_attention(std::int64_t id, std::string_view actor, std::string_view resolution);
  // Queues the rendered receipt for `address` (checked: one '@', a dot in the domain, no spaces or
  // control characters, at most 254 characters; InvalidArgument otherwise). NotFound without the
  // sale. Audited without the address (the audit log is append-only: no personal data in it).
  Result<std::int64_t> enqueue_email_receipt(std::string_view sale_id, std::string_view address,
                                             std::string_view body);
  // queued -> sent: attempts + 1, address masked, body erased.
  Status mark_email_sent(std::int64_t id);
  // A failed delivery attempt: attempts + 1 and the error kept; `permanent` (bad address, refused)
  // -> failed, else it stays queued for the sender to try again.
  Status mark_email_failed(std::int64_t id, std::string_view error, bool permanent);
  // failed -> queued (a person, audited).
  Status requeue_email_receipt(std::int64_t id, std::string_view actor, std::string_view reason);

 private:
  friend class Store;
  explicit WriteTx(Store& store) : store_(store) {}
  Store& store_;
};

class Store {
 public:
  // Opens (Writer: creates and migrates) the database at `path`. Fails with
  // FailedPrecondition "database ... is in use by pid N" when another writer holds it,
  // FailedPrecondition when the schema is newer than this build, DataLoss when the integrity
  // check fails, NotFound (ReadOnly) when the file does not exist. Any thread; the Store then
  // belongs to it.
  static Result<Store> open(const std::string& path, const Clock& clock, OpenOptions options = {});

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  const std::string& path() const;
  bool read_only() const;
  int schema_version() const;  // after migrations

  // Runs PRAGMA quick_check (Quick or Deferred) or integrity_check (Full) now: DataLoss naming the
  // problems when the file is damaged. Reads every page; in WAL mode it sees a snapshot and does
  // not block the writer, so a ReadOnly Store on a worker thread can check while the writer
  // works. The owning thread only, like every call.
  Status check_integrity(IntegrityCheck kind = IntegrityCheck::Quick);

  // Runs `fn` inside one BEGIN IMMEDIATE transaction: committed (and fsynced) when it returns
  // ok, rolled back otherwise (or on any SQLite error). Returns fn's error, or the commit's.
  // Calling write() (or a one-write convenience below) from inside fn is FailedPrecondition.
  Status write(const std::function<Status(WriteTx&)>& fn);

  // One-write conveniences: each is write() around the WriteTx call of the same name.
  Status persist_sale(const pos::Sale& sale);
  Status update_sale_state(std::string_view sale_id, pos::SaleState to);
  Status create_attempt(const pos::PaymentAttempt& attempt);
  Status update_attempt(const AttemptUpdate& update);
  Result<std::int64_t> enqueue_operation(const pos::OutboxOperation& op);
  Status complete_operation(std::int64_t id, const OperationOutcome& outcome);
  Status fail_operation(std::int64_t id, const OperationFailure& failure);
  Status dead_operation(std::int64_t id, const OperationFailure& failure);
  Status retry_operation(std::int64_t id, std::string_view actor, std::string_view reason);
  Result<WebhookSeen> record_webhook_event(const WebhookEvent& event);
  Status mark_webhook_processed(std::string_view event_id, std::string_view result);
  Result<std::int64_t> append_audit(const AuditEntry& entry);
  Status resolve_attention(std::int64_t id, std::string_view actor, std::string_view resolution);
  Result<std::int64_t> enqueue_email_receipt(std::string_view sale_id, std::string_view address,
                                             std::string_view body);
  Status mark_email_sent(std::int64_t id);
  Status mark_email_failed(std::int64_t id, std::string_view error, bool permanent);
  Status requeue_email_receipt(std::int64_t id, std::string_view actor, std::string_view reason);

  // pending / failed_retryable operations due at `now` (oldest due first) -> in_flight, attempts
  // incremented, first_sent_at set on the first claim. Bodies are returned decrypted.
  Result<std::vector<pos::OutboxOperation>> claim_due_operations(Timestamp now, int limit);
  // in_flight -> pending (same key, due now). Returns how many. Done at open by default.
  Result<int> recover_in_flight();

  // Reads (both modes). Tokens and bodies are decrypted; FailedPrecondition when sealed and no
  // data key is configured.
  Result<pos::Sale> get_sale(std::string_view sale_id);
  Result<pos::PaymentAttempt> get_attempt(std::string_view attempt_id);
  Result<pos::PaymentAttempt> attempt_by_idempotency_key(std::string_view key);
  Result<std::optional<pos::PaymentAttempt>> attempt_by_payment_intent(std::string_view pi_id);
  Result<pos::OutboxOperation> get_operation(std::int64_t id);
  Result<std::vector<pos::PaymentAttempt>> attempts_for_sale(std::string_view sale_id);
  Result<std::vector<pos::OutboxOperation>> operations_for_sale(std::string_view sale_id);
  // Sales created in [from, to), oldest first, with lines and taxes (for day reports).
  Result<std::vector<pos::Sale>> sales_between(Timestamp from, Timestamp to);
  Result<std::optional<WebhookEvent>> get_webhook_event(std::string_view event_id);
  Result<std::vector<AuditEntry>> audit_entries(std::int64_t after_id = 0, int limit = 1000);
  Result<std::vector<AttentionItem>> attention_items(bool include_resolved = false);
  Result<StatusSnapshot> status();

  // Email receipts, oldest first: all, or those in `state`; addresses and bodies decrypted
  // (FailedPrecondition when sealed and no data key is configured).
  Result<std::vector<EmailReceipt>> email_receipts(std::optional<EmailReceiptState> state = {},
                                                   int limit = 1000);
  Result<std::vector<EmailReceipt>> email_receipts_for_sale(std::string_view sale_id);

  // The sale a receipt number names: the full sale id, or a unique prefix of at least 8 characters
  // (the first group of the printed id), case and surrounding spaces ignored. NotFound when none
  // matches, FailedPrecondition when the prefix matches several sales (type more of it),
  // InvalidArgument when shorter than 8 characters.
  Result<std::string> sale_id_for_receipt_number(std::string_view receipt_number);
  // The sale with its attempts and what is already refunded, so a refund cannot exceed what was
  // captured. Refund amounts are read from the operations' bodies (decrypted: FailedPrecondition
  // when sealed and no data key is configured); a refund without an amount (a full refund) counts
  // as everything that was left. The store enforces the same limit in enqueue_operation.
  Result<SaleRefunds> sale_for_refund(std::string_view sale_id_or_receipt_number);

 private:
  friend class WriteTx;
  friend struct detail::StoreAccess;
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace till::store
