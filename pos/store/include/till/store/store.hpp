#pragma once
// The durable store: one SQLite file per register holding sales, payment attempts, the outbox
// the sync engine drains, processed webhook events, an attention list and an append-only audit
// log. Committed means fsynced: WAL with synchronous=FULL, every write a BEGIN IMMEDIATE
// transaction (see pos/store/README.md for the schema, pragmas and error mapping).
//
// The Store is the connection: open/close, pragmas, the integrity check and transactions. What
// is in the tables is reached through one small repository per table family, handed out by the
// Store (each write its own transaction) and by the WriteTx inside write() (all writes of the
// callback in one transaction):
//   store.sales()           sales, lines, taxes                     (sales.hpp)
//   store.attempts()        payment attempts                        (attempts.hpp)
//   store.outbox()          outbox operations                       (outbox.hpp)
//   store.journal()         webhook events, audit log, attention    (journal.hpp)
//   store.email_receipts()  the email receipt queue                 (email_receipts.hpp)
//   store.reports()         status, refund look-ups (read side)     (reports.hpp)
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
#include <memory>
#include <optional>
#include <string>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/store/attempts.hpp"
#include "till/store/data_key.hpp"
#include "till/store/email_receipts.hpp"
#include "till/store/journal.hpp"
#include "till/store/outbox.hpp"
#include "till/store/reports.hpp"
#include "till/store/sales.hpp"

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

class Store;

// The writes of one transaction. Only exists inside Store::write(); nothing is visible to other
// connections, and nothing is durable, until the callback returns ok and COMMIT succeeds. Its
// repositories join this transaction (repository.hpp).
class WriteTx {
 public:
  SaleRepository sales() const noexcept { return {c_, true}; }
  AttemptRepository attempts() const noexcept { return {c_, true}; }
  OutboxRepository outbox() const noexcept { return {c_, true}; }
  JournalRepository journal() const noexcept { return {c_, true}; }
  EmailReceiptRepository email_receipts() const noexcept { return {c_, true}; }
  ReportQueries reports() const noexcept { return {c_, true}; }

 private:
  friend class Store;
  explicit WriteTx(detail::Connection& c) : c_(c) {}
  detail::Connection& c_;
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
  // ok, rolled back otherwise (or on any SQLite error, or an exception, which becomes Internal).
  // Returns fn's error, or the commit's. Calling write() (or a write of a Store repository) from
  // inside fn is FailedPrecondition: use the WriteTx's repositories.
  Status write(const std::function<Status(WriteTx&)>& fn);

  // The repositories (repository.hpp): each write is its own transaction; reads in both modes.
  SaleRepository sales();
  AttemptRepository attempts();
  OutboxRepository outbox();
  JournalRepository journal();
  EmailReceiptRepository email_receipts();
  ReportQueries reports();

 private:
  friend struct detail::StoreAccess;  // the store's smaller files (identity.cpp) reach the connection
  explicit Store(std::unique_ptr<detail::Connection> connection);
  std::unique_ptr<detail::Connection> c_;
};

}  // namespace till::store
