#include "till/store/store.hpp"

#include <sys/stat.h>

#include <exception>
#include <utility>

#include "connection.hpp"
#include "store_access.hpp"
#include "till/base/log.hpp"
#include "till/store/schema.hpp"

// The Store is the connection: the writer lock, the open sequence (pragmas, integrity check,
// migrations, recovery of in-flight operations) and transactions. What is in the tables lives in
// the repositories (sales.cpp, attempts.cpp, outbox.cpp, journal.cpp, email_receipts.cpp,
// reports.cpp), which share connection.hpp.

namespace till::store {

using detail::Connection;
using detail::Transaction;

namespace {

Status migrate(Connection& c) {
  auto v = c.db.query_text("PRAGMA user_version", "reading the schema version");
  if (!v) return fail(v.error());
  const int found = std::stoi(v->empty() ? "0" : *v);
  const int known = current_schema_version();
  if (found > known) {
    return fail(ErrorKind::FailedPrecondition,
                "database " + c.path + " has schema version " + std::to_string(found) +
                    ", newer than this build knows (" + std::to_string(known) + "); refusing to open it. Run a newer Till");
  }
  c.version = found;
  if (c.read_only()) {
    if (found < known) {
      return fail(ErrorKind::FailedPrecondition,
                  "database " + c.path + " has schema version " + std::to_string(found) + ", this build needs " +
                      std::to_string(known) + "; open it once with the writer to migrate");
    }
    return ok();
  }
  for (const Migration& m : migrations()) {
    if (m.version <= found) continue;
    auto tx = Transaction::begin(c.db, "starting migration " + std::to_string(m.version));
    if (!tx) return fail(tx.error());
    if (auto r = c.db.exec(m.sql, "applying migration " + std::to_string(m.version)); !r) return r;
    if (auto r = c.db.exec("PRAGMA user_version = " + std::to_string(m.version), "recording the schema version"); !r) {
      return r;
    }
    if (auto r = c.run("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", "recording a migration",
                       static_cast<std::int64_t>(m.version), c.now());
        !r) {
      return r;
    }
    if (auto r = tx->commit("committing migration " + std::to_string(m.version)); !r) return r;
    c.version = m.version;
    log::info("store.migrated", {{"path", c.path}, {"version", m.version}, {"description", m.description}});
  }
  return ok();
}

Status integrity(Connection& c, IntegrityCheck kind) {
  const bool full = kind == IntegrityCheck::Full;
  auto st = c.db.prepare(full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)");
  if (!st) return fail(st.error());
  std::string problems;
  for (;;) {
    auto row = st->step("checking the database's integrity");
    if (!row) return fail(row.error());
    if (!*row) break;
    const std::string line = st->text(0);
    if (line == "ok") continue;
    if (!problems.empty()) problems += "; ";
    problems += line;
  }
  if (!problems.empty()) {
    return fail(ErrorKind::DataLoss, "database " + c.path + " failed its integrity check (" + problems +
                                         "); refusing to use it. Restore from a backup and keep the damaged file");
  }
  return ok();
}

Status pragma(Connection& c, const std::string& statement, std::string_view expect = {}) {
  auto v = c.db.query_text(statement, "setting " + statement);
  if (!v) return fail(v.error());
  if (!expect.empty() && *v != expect) {
    return fail(ErrorKind::Internal, statement + " answered '" + *v + "', expected '" + std::string(expect) + "'");
  }
  return ok();
}

// The open sequence of pos/store/README.md ("Pragmas and open sequence"), step by step.
Status open_connection(Connection& c) {
  const bool writer = !c.read_only();
  if (writer) {
    auto l = detail::WriterLock::acquire(c.path);
    if (!l) return fail(l.error());
    c.lock = std::move(*l);
  } else {
    struct stat st {};
    if (::stat(c.path.c_str(), &st) != 0) return fail(ErrorKind::NotFound, "database " + c.path + " does not exist");
  }
  const int flags = writer ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX)
                           : (SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
  if (auto r = c.db.open(c.path, flags, c.options.vfs); !r) return r;
  sqlite3_extended_result_codes(c.db.handle(), 1);
  sqlite3_busy_timeout(c.db.handle(), static_cast<int>(c.options.busy_timeout.count()));
  if (writer) {
    if (auto r = pragma(c, "PRAGMA journal_mode = WAL", "wal"); !r) return r;
    if (auto r = pragma(c, "PRAGMA synchronous = FULL"); !r) return r;
  } else {
    if (auto r = pragma(c, "PRAGMA query_only = ON"); !r) return r;
  }
  if (auto r = pragma(c, "PRAGMA foreign_keys = ON"); !r) return r;
  if (c.options.max_page_count) {
    if (auto r = pragma(c, "PRAGMA max_page_count = " + std::to_string(*c.options.max_page_count)); !r) return r;
  }
  if (c.options.integrity_check != IntegrityCheck::Deferred) {
    if (auto r = integrity(c, c.options.integrity_check); !r) return r;
  }
  if (auto r = migrate(c); !r) return r;
  if (writer && c.options.recover_in_flight) {
    auto n = OutboxRepository(c, false).recover_in_flight();
    if (!n) return fail(n.error());
    if (*n > 0) log::warn("store.recovered_in_flight", {{"path", c.path}, {"operations", *n}});
  }
  return ok();
}

}  // namespace

// ---- the store's smaller files (store_access.hpp) ----------------------------------------------

detail::Db& detail::StoreAccess::db(Store& store) { return store.c_->db; }
const Clock& detail::StoreAccess::clock(Store& store) { return *store.c_->clock; }

Store::Store(std::unique_ptr<Connection> connection) : c_(std::move(connection)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

Result<Store> Store::open(const std::string& path, const Clock& clock, OpenOptions options) {
  try {
    auto c = std::make_unique<Connection>();
    c->path = path;
    c->clock = &clock;
    c->options = std::move(options);
    if (auto r = open_connection(*c); !r) {
      log::error("store.open_failed", {{"path", path}, {"error", r.error().describe()}});
      return fail(r.error());
    }
    return Store(std::move(c));
  } catch (const std::exception& e) {
    return fail(ErrorKind::Internal, std::string("opening the store: ") + e.what());
  }
}

const std::string& Store::path() const { return c_->path; }
bool Store::read_only() const { return c_->read_only(); }
int Store::schema_version() const { return c_->version; }

Status Store::check_integrity(IntegrityCheck kind) {
  try {
    return integrity(*c_, kind);
  } catch (const std::exception& e) {
    return fail(ErrorKind::Internal, std::string("checking integrity: ") + e.what());
  }
}

Status Store::write(const std::function<Status(WriteTx&)>& fn) {
  return c_->write(false, [&] {
    WriteTx tx(*c_);
    return fn(tx);
  });
}

SaleRepository Store::sales() { return {*c_, false}; }
AttemptRepository Store::attempts() { return {*c_, false}; }
OutboxRepository Store::outbox() { return {*c_, false}; }
JournalRepository Store::journal() { return {*c_, false}; }
EmailReceiptRepository Store::email_receipts() { return {*c_, false}; }
ReportQueries Store::reports() { return {*c_, false}; }

}  // namespace till::store
