#pragma once
// A small wrapper over libpq (PostgreSQL 15): one connection, parameterised queries
// (PQexecParams, never string-built SQL), typed row access, RAII transactions, and a pool.
// libpq-fe.h stays in pg.cpp; this header only forward-declares its two handle types.
//
// Errors are values (till::Result). How PostgreSQL failures map to ErrorKind:
//   connection lost / refused, admin shutdown, lock not available  -> Unavailable
//   the connection dropped while COMMIT was on the wire               -> OutcomeUnknown
//   unique violation (23505), a RAISE from a trigger (P0001)         -> FailedPrecondition
//   other integrity or data errors (23xxx, 22xxx)                    -> InvalidArgument
//   serialization failure (40001) or deadlock (40P01)                -> Unavailable, and
//       is_retryable_conflict() is true: run the whole transaction again (with_transaction)
//   out of resources (53xxx)                                          -> ResourceExhausted
//   anything else (syntax, undefined table: a bug)                    -> Internal
// Every message starts with "postgres <SQLSTATE>: " when PostgreSQL gave a SQLSTATE, so
// sqlstate() can read it back. Messages never contain parameter values.
//
// Threading: a Connection is used by one thread at a time (libpq's rule). The Pool is
// thread-safe; each lease belongs to the thread that took it.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"

struct pg_conn;
struct pg_result;

namespace till::office::pg {

// One query parameter, sent in text format (or binary for bytea). NULL when empty.
class Param {
 public:
  Param() = default;  // NULL
  Param(std::nullopt_t) {}
  Param(std::string_view text) : value_(std::string(text)) {}
  Param(const char* text) : value_(std::string(text)) {}
  Param(std::string text) : value_(std::move(text)) {}
  Param(std::int64_t v) : value_(std::to_string(v)) {}
  Param(int v) : value_(std::to_string(v)) {}
  Param(bool v) : value_(v ? "true" : "false") {}
  // A timestamptz, as an ISO-8601 UTC literal with milliseconds.
  static Param time(Timestamp t);
  static Param optional_time(std::optional<Timestamp> t) { return t ? time(*t) : Param(); }
  static Param bytes(std::span<const std::uint8_t> b);
  template <class T>
  static Param optional(const std::optional<T>& v) {
    return v ? Param(*v) : Param();
  }

  bool is_null() const noexcept { return !value_.has_value(); }
  bool binary() const noexcept { return binary_; }
  const std::string& value() const noexcept { return *value_; }

 private:
  std::optional<std::string> value_;
  bool binary_ = false;
};
using Params = std::vector<Param>;

class Rows;

// One row of a result, valid while its Rows lives. Column access by index; a wrong index or a
// type that does not parse is a bug (asserted in debug builds, returns a zero value otherwise).
class Row {
 public:
  bool is_null(int col) const;
  std::string text(int col) const;  // NULL -> ""
  std::optional<std::string> optional_text(int col) const;
  std::int64_t i64(int col) const;  // NULL -> 0
  std::optional<std::int64_t> optional_i64(int col) const;
  bool boolean(int col) const;
  std::vector<std::uint8_t> bytes(int col) const;  // a bytea column
  // A timestamptz column (the connection runs in UTC).
  Timestamp time(int col) const;
  std::optional<Timestamp> optional_time(int col) const;

 private:
  friend class Rows;
  Row(const Rows& rows, int index) : rows_(rows), index_(index) {}
  const Rows& rows_;
  int index_;
};

// A query's result. Move-only; frees the libpq result.
class Rows {
 public:
  Rows() = default;
  explicit Rows(pg_result* result);
  Rows(Rows&&) noexcept;
  Rows& operator=(Rows&&) noexcept;
  ~Rows();

  int size() const noexcept;
  bool empty() const noexcept { return size() == 0; }
  Row operator[](int index) const { return Row(*this, index); }
  // Rows affected by INSERT/UPDATE/DELETE (PQcmdTuples).
  std::int64_t affected() const;
  int column(std::string_view name) const;  // -1 when absent

 private:
  friend class Row;
  friend class Connection;
  friend class Transaction;
  pg_result* result_ = nullptr;
};

enum class Isolation { ReadCommitted, RepeatableRead, Serializable };

class Connection {
 public:
  // conninfo: "host=/dir port=5432 dbname=till" or "postgresql://user@host/db". Sets
  // TimeZone=UTC and an application_name. Unavailable when the server cannot be reached,
  // Unauthenticated when it refuses the credentials.
  static Result<std::unique_ptr<Connection>> open(const std::string& conninfo,
                                                  std::string_view application_name = "till-office");
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One parameterised statement ($1, $2, ...).
  Result<Rows> exec(std::string_view sql, const Params& params = {});
  // Several statements without parameters in one round trip (migrations' SQL).
  Status exec_script(std::string_view sql);
  // False once libpq has seen the connection break; the pool drops such connections.
  bool healthy() const;
  // The backend's process id (for tests and logs).
  int backend_pid() const;
  // Set while a Transaction is open on this connection.
  bool in_transaction() const noexcept { return in_transaction_; }

 private:
  friend class Transaction;
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  Error error_from(pg_result* result, std::string_view what) const;
  pg_conn* conn_ = nullptr;
  bool in_transaction_ = false;
};

// BEGIN ... COMMIT on a connection; rolled back by the destructor unless committed.
class Transaction {
 public:
  static Result<Transaction> begin(Connection& conn, Isolation isolation = Isolation::ReadCommitted);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  Result<Rows> exec(std::string_view sql, const Params& params = {}) { return conn_->exec(sql, params); }
  // COMMIT. If the connection drops while COMMIT is in flight the outcome is OutcomeUnknown:
  // the transaction may or may not have committed.
  Status commit();
  Status rollback();
  Connection& connection() noexcept { return *conn_; }

 private:
  explicit Transaction(Connection& conn) : conn_(&conn) {}
  Connection* conn_;
  bool open_ = true;
};

// Reads the SQLSTATE back from an error message built by this wrapper ("" when none).
std::string_view sqlstate(const Error& error);
// True for 40001 (serialization failure) and 40P01 (deadlock): retry the whole transaction.
bool is_retryable_conflict(const Error& error);

// Runs `body(tx)` in a transaction at `isolation` and commits; a serialization failure or
// deadlock (from the body or from COMMIT) runs it again, up to `attempts` times in all. The
// body must be safe to run again (it only talks to the database). Returns the body's value.
template <class F>
auto with_transaction(Connection& conn, Isolation isolation, F&& body, int attempts = 8)
    -> decltype(body(std::declval<Transaction&>())) {
  using R = decltype(body(std::declval<Transaction&>()));
  R last = fail(ErrorKind::Internal, "with_transaction ran no attempt");
  for (int i = 0; i < attempts; ++i) {
    auto tx = Transaction::begin(conn, isolation);
    if (!tx) return fail(tx.error());
    last = body(*tx);
    if (last) {
      auto committed = tx->commit();
      if (committed) return last;
      last = fail(committed.error());
    }
    if (!is_retryable_conflict(last.error())) return last;
  }
  return last;
}

struct PoolConfig {
  std::string conninfo;
  std::size_t size = 4;
  std::chrono::milliseconds acquire_timeout{5000};
  std::string application_name = "till-office";
};

// A fixed-size pool of connections, opened lazily and reopened after a break.
class Pool {
 public:
  explicit Pool(PoolConfig config);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A leased connection, returned to the pool when the lease is destroyed (dropped instead if
  // it broke or was left inside a transaction).
  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> conn) : pool_(&pool), conn_(std::move(conn)) {}
    Lease(Lease&& o) noexcept : pool_(std::exchange(o.pool_, nullptr)), conn_(std::move(o.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() const noexcept { return *conn_; }
    Connection* operator->() const noexcept { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  // Waits up to acquire_timeout for a free connection (ResourceExhausted after that), and
  // opens one when needed (Unavailable when the server is unreachable). Any thread.
  Result<Lease> acquire();
  std::size_t open_connections() const;
  const PoolConfig& config() const noexcept { return config_; }

 private:
  void give_back(std::unique_ptr<Connection> conn);
  PoolConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t leased_ = 0;
};

// Timestamp <-> PostgreSQL's text form of timestamptz in UTC ("2026-09-21 10:11:12.345+00").
std::string format_timestamp(Timestamp t);
std::optional<Timestamp> parse_timestamp(std::string_view text);

}  // namespace till::office::pg
