#include "sqlite_db.hpp"

namespace till::store::detail {

Error sqlite_error(int rc, sqlite3* db, std::string_view what) {
  const int primary = rc & 0xff;
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const std::string where = std::string(what) + ": ";
  switch (primary) {
    case SQLITE_FULL:
      return Error{ErrorKind::ResourceExhausted,
                   where + "the disk is full or the database reached its size limit (" + detail +
                       "); the write was rolled back and everything committed before is intact. "
                       "Free disk space, then retry",
                   std::nullopt};
    case SQLITE_IOERR:
      return Error{ErrorKind::Unavailable,
                   where + "I/O error (" + detail + ", code " + std::to_string(rc) +
                       "); the write was rolled back. Check the disk, then retry",
                   std::nullopt};
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error{ErrorKind::Unavailable, where + "the database is busy or locked (" + detail + "); retry",
                   std::nullopt};
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error{ErrorKind::DataLoss,
                   where + "the database file is damaged (" + detail +
                       "); refusing to use it. Restore from a backup and keep the damaged file",
                   std::nullopt};
    case SQLITE_CONSTRAINT:
      return Error{ErrorKind::FailedPrecondition, where + detail, std::nullopt};
    case SQLITE_READONLY:
      return Error{ErrorKind::FailedPrecondition, where + "the database is open read-only (" + detail + ")",
                   std::nullopt};
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Error{ErrorKind::PermissionDenied, where + detail, std::nullopt};
    case SQLITE_CANTOPEN:
      return Error{ErrorKind::Unavailable, where + "cannot open the database file (" + detail + ")",
                   std::nullopt};
    case SQLITE_NOMEM:
      return Error{ErrorKind::ResourceExhausted, where + "out of memory", std::nullopt};
    default:
      return Error{ErrorKind::Internal, where + detail + " (code " + std::to_string(rc) + ")", std::nullopt};
  }
}

Stmt::~Stmt() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

// Bound values must outlive step(): every caller binds locals and steps within one expression
// scope, so SQLITE_STATIC avoids a copy per value on the commit path.
Stmt& Stmt::bind(std::int64_t v) {
  sqlite3_bind_int64(stmt_, ++index_, v);
  return *this;
}
Stmt& Stmt::bind(std::string_view v) {
  sqlite3_bind_text64(stmt_, ++index_, v.data() != nullptr ? v.data() : "", v.size(), SQLITE_STATIC,
                      SQLITE_UTF8);
  return *this;
}
Stmt& Stmt::bind(const Blob& v) {
  static const std::uint8_t kEmpty = 0;
  sqlite3_bind_blob64(stmt_, ++index_, v.empty() ? &kEmpty : v.data(), v.size(), SQLITE_STATIC);
  return *this;
}
Stmt& Stmt::bind(std::nullopt_t) {
  sqlite3_bind_null(stmt_, ++index_);
  return *this;
}
Stmt& Stmt::bind(const std::optional<Timestamp>& t) {
  if (t) return bind(*t);
  return bind(std::nullopt);
}

Result<bool> Stmt::step(std::string_view what) {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return fail(sqlite_error(rc, db_, what));
}

Status Stmt::run(std::string_view what) {
  for (;;) {
    auto r = step(what);
    if (!r) return fail(r.error());
    if (!*r) return ok();
  }
}

std::string Stmt::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

Blob Stmt::blob(int col) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return {};
  return Blob(p, p + n);
}

Status Db::open(const std::string& path, int flags, const std::string& vfs) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_EXRESCODE, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(rc, db, "opening " + path);
    sqlite3_close_v2(db);
    return fail(std::move(e));
  }
  db_ = db;
  return ok();
}

void Db::close() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  cache_.clear();
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

Status Db::exec(std::string_view sql, std::string_view what) {
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return fail(sqlite_error(rc, db_, what));
  return ok();
}

Result<Stmt> Db::prepare(std::string_view sql) {
  std::string key(sql);
  if (auto it = cache_.find(key); it != cache_.end()) return Stmt(db_, it->second);
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, key.c_str(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT,
                                    &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return fail(sqlite_error(rc, db_, "preparing a statement"));
  }
  cache_.emplace(std::move(key), stmt);
  return Stmt(db_, stmt);
}

Result<std::string> Db::query_text(std::string_view sql, std::string_view what) {
  auto st = prepare(sql);
  if (!st) return fail(st.error());
  auto row = st->step(what);
  if (!row) return fail(row.error());
  if (!*row) return std::string();
  return st->text(0);
}

Result<Transaction> Transaction::begin(Db& db, std::string_view what) {
  if (auto s = db.exec("BEGIN IMMEDIATE", what); !s) return fail(s.error());
  return Transaction(db);
}

Transaction::~Transaction() {
  // After SQLITE_FULL/IOERR SQLite may already have rolled back on its own; only roll back
  // what is still open.
  if (db_ != nullptr && db_->in_transaction()) {
    sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Status Transaction::commit(std::string_view what) {
  auto s = db_->exec("COMMIT", what);
  if (s) db_ = nullptr;
  return s;
}

}  // namespace till::store::detail
