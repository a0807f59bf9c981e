#pragma once
// Batch ingestion of what registers queue offline: sales, payments (tenders), refunds and
// voids (POST /register/v1/sync; the JSON is documented in office/README.md, "Sync batch").
//
// Each record is an immutable fact the register sends once it is final, keyed by the
// register's own id. Its content hash is the SHA-256 of its canonical JSON (keys sorted, no
// spaces): a resend with the same content is a no-op ("duplicate"); the same id with other
// content is refused ("conflict"), kept in `conflicts` for a person, and never overwrites the
// stored record. A batch that is malformed anywhere is refused whole (InvalidArgument, nothing
// written); otherwise each record gets its own verdict, so one bad record never blocks the
// others (each runs under its own SAVEPOINT in the batch's one transaction).
//
// A stored-offline card payment (the simulator tier) becomes an outbox operation creating and
// confirming its PaymentIntent on the merchant's connected account; a refund of a card payment
// with a known PaymentIntent becomes a refund operation.
//
// Threading: thread-safe (a connection per call).

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/office/pg.hpp"
#include "till/office/registry.hpp"

namespace till::office {

struct SaleRecord {
  std::string id;
  std::int64_t created_at_ms = 0;
  std::string currency;
  std::int64_t subtotal = 0, discount_total = 0, tax_total = 0, tip = 0, total = 0;
  std::string lines_json;  // a JSON array of objects, stored as given
};
struct PaymentRecord {
  std::string id;  // the register's attempt id
  std::string sale_id;
  std::string tender;  // cash | card
  std::int64_t amount = 0;
  std::string currency;
  std::string outcome;  // approved | declined | canceled | stored_offline
  std::string card_brand, card_last4;
  std::int64_t taken_at_ms = 0;
  std::string payment_method;  // stored_offline card: the reader's token (simulator tier only)
  std::string payment_intent;  // approved card: the PaymentIntent it already has, if any
};
struct RefundRecord {
  std::string id;
  std::string sale_id;
  std::string payment_id;
  std::int64_t amount = 0;
  std::string currency;
  std::string reason;
  std::int64_t created_at_ms = 0;
};
struct VoidRecord {
  std::string id;
  std::string sale_id;
  std::string reason;
  std::int64_t created_at_ms = 0;
};

struct BatchRecord {
  std::variant<SaleRecord, PaymentRecord, RefundRecord, VoidRecord> record;
  std::string kind;       // sale | payment | refund | void
  std::string id;
  std::string canonical;  // the record's canonical JSON, what content_sha256 covers
};

struct Batch {
  std::string register_id;
  std::string store_id;
  std::vector<BatchRecord> records;
};

inline constexpr std::size_t kMaxBatchRecords = 500;

// Parses and validates a batch (JSON text). InvalidArgument naming the first problem
// ("records[3].amount must be an integer"). Pure; any thread.
Result<Batch> parse_batch(std::string_view json_text);

struct RecordVerdict {
  std::string kind;
  std::string id;
  std::string status;   // stored | duplicate | conflict | refused
  std::string message;  // why, for conflict and refused
};

struct IngestReport {
  std::vector<RecordVerdict> results;
  int stored = 0, duplicates = 0, conflicts = 0, refused = 0;
};

// A refused version kept for review.
struct ConflictInfo {
  std::int64_t id = 0;
  std::string register_id;
  std::string kind;
  std::string record_id;
  std::string received_json;
  Timestamp received_at;
};

struct IngestConfig {
  // Reader-minted card tokens (pm_...) work only against till-stripe-sim; with a real Stripe
  // endpoint the office refuses such payments with a clear message.
  bool accept_reader_tokens = true;
};

class Ingest {
 public:
  Ingest(pg::Pool& pool, const Clock& clock, IngestConfig config = {})
      : pool_(pool), clock_(clock), config_(config) {}

  // PermissionDenied when the batch names another register or store than `who`; otherwise
  // a verdict per record (see the top of the file). Unavailable when the database is.
  Result<IngestReport> ingest(const RegisterIdentity& who, const Batch& batch);

  // Conflicts nobody has resolved yet, oldest first (for `till-office conflicts list`).
  Result<std::vector<ConflictInfo>> open_conflicts(int limit = 100);

 private:
  pg::Pool& pool_;
  const Clock& clock_;
  IngestConfig config_;
};

}  // namespace till::office
