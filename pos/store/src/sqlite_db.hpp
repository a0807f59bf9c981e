#pragma once
// Internal: a thin RAII layer over one sqlite3 connection (statement cache, binding, error
// mapping, BEGIN IMMEDIATE transactions). Never included by a public header.

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"

namespace till::store::detail {

// Maps a SQLite result code to what the caller should do next (README: error mapping).
Error sqlite_error(int rc, sqlite3* db, std::string_view what);

using Blob = std::vector<std::uint8_t>;

// A cached prepared statement in use; reset and unbound when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_), index_(o.index_) { o.stmt_ = nullptr; }
  ~Stmt();

  Stmt& bind(std::int64_t v);
  Stmt& bind(int v) { return bind(static_cast<std::int64_t>(v)); }
  Stmt& bind(bool v) { return bind(static_cast<std::int64_t>(v ? 1 : 0)); }
  Stmt& bind(std::string_view v);
  Stmt& bind(const std::string& v) { return bind(std::string_view(v)); }
  Stmt& bind(const char* v) { return bind(std::string_view(v)); }
  Stmt& bind(const Blob& v);
  Stmt& bind(std::nullopt_t);
  Stmt& bind(Timestamp t) { return bind(to_unix_ms(t)); }
  Stmt& bind(const std::optional<Timestamp>& t);
  template <class... A>
  Stmt& bind_all(const A&... a) {
    (bind(a), ...);
    return *this;
  }

  // true: a row is available; false: done. Errors are mapped with `what`.
  Result<bool> step(std::string_view what);
  // Steps to completion (statements without rows).
  Status run(std::string_view what);

  std::int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  bool is_blob(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_BLOB; }
  Blob blob(int col) const;
  Timestamp time(int col) const { return from_unix_ms(i64(col)); }
  std::optional<Timestamp> opt_time(int col) const {
    return is_null(col) ? std::nullopt : std::optional<Timestamp>(time(col));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int index_ = 0;
};

class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { close(); }

  Status open(const std::string& path, int flags, const std::string& vfs = {});
  void close();
  sqlite3* handle() const { return db_; }

  // Multi-statement SQL without parameters (pragmas, migrations, BEGIN/COMMIT).
  Status exec(std::string_view sql, std::string_view what);
  // A cached statement for `sql` (the text is the cache key).
  Result<Stmt> prepare(std::string_view sql);
  // A single-value query (pragmas that answer one row).
  Result<std::string> query_text(std::string_view sql, std::string_view what);
  std::int64_t changes() const { return sqlite3_changes64(db_); }
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  bool in_transaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// RAII BEGIN IMMEDIATE: rolls back unless commit() succeeded (SQLiteCpp's Transaction idea).
class Transaction {
 public:
  static Result<Transaction> begin(Db& db, std::string_view what);
  Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit(std::string_view what);

 private:
  explicit Transaction(Db& db) : db_(&db) {}
  Db* db_;
};

}  // namespace till::store::detail
