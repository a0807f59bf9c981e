#include "till/office/pg.hpp"

#include <cassert>
#include <charconv>
#include <cstdio>
#include <cstring>

#include <libpq-fe.h>

namespace till::office::pg {

// ---- time ----

namespace {

// Howard Hinnant's civil-date algorithms, through <chrono>'s calendar types.
std::int64_t parse_int(std::string_view s, bool& ok) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) ok = false;
  return v;
}

}  // namespace

std::string format_timestamp(Timestamp t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> tod{t - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02lld:%02lld:%02lld.%03lld+00", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(tod.hours().count()), static_cast<long long>(tod.minutes().count()),
                static_cast<long long>(tod.seconds().count()), static_cast<long long>(tod.subseconds().count()));
  return buf;
}

// Accepts "YYYY-MM-DD HH:MM:SS[.f...]+00" (PostgreSQL's output in UTC).
std::optional<Timestamp> parse_timestamp(std::string_view s) {
  using namespace std::chrono;
  if (s.size() < 22 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  bool ok = true;
  const auto y = parse_int(s.substr(0, 4), ok);
  const auto mo = parse_int(s.substr(5, 2), ok);
  const auto d = parse_int(s.substr(8, 2), ok);
  const auto h = parse_int(s.substr(11, 2), ok);
  const auto mi = parse_int(s.substr(14, 2), ok);
  const auto se = parse_int(s.substr(17, 2), ok);
  std::size_t i = 19;
  std::int64_t ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 3) ms = ms * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    for (; digits < 3; ++digits) ms *= 10;
  }
  if (!ok || s.substr(i) != "+00") return std::nullopt;
  const year_month_day ymd{year{static_cast<int>(y)}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  const auto tp = sys_days{ymd} + hours{h} + minutes{mi} + seconds{se} + milliseconds{ms};
  return time_point_cast<milliseconds>(tp);
}

Param Param::time(Timestamp t) { return Param(format_timestamp(t)); }

Param Param::bytes(std::span<const std::uint8_t> b) {
  Param p(std::string(reinterpret_cast<const char*>(b.data()), b.size()));
  p.binary_ = true;
  return p;
}

// ---- rows ----

Rows::Rows(pg_result* result) : result_(result) {}
Rows::Rows(Rows&& o) noexcept : result_(std::exchange(o.result_, nullptr)) {}
Rows& Rows::operator=(Rows&& o) noexcept {
  if (this != &o) {
    if (result_) PQclear(result_);
    result_ = std::exchange(o.result_, nullptr);
  }
  return *this;
}
Rows::~Rows() {
  if (result_) PQclear(result_);
}
int Rows::size() const noexcept { return result_ ? PQntuples(result_) : 0; }
std::int64_t Rows::affected() const {
  if (!result_) return 0;
  const char* n = PQcmdTuples(result_);
  bool ok = true;
  const auto v = (n && *n) ? parse_int(n, ok) : 0;
  return ok ? v : 0;
}
int Rows::column(std::string_view name) const {
  if (!result_) return -1;
  return PQfnumber(result_, std::string(name).c_str());
}

bool Row::is_null(int col) const {
  assert(col >= 0 && col < PQnfields(rows_.result_));
  return PQgetisnull(rows_.result_, index_, col) == 1;
}
std::string Row::text(int col) const {
  if (is_null(col)) return {};
  return std::string(PQgetvalue(rows_.result_, index_, col),
                     static_cast<std::size_t>(PQgetlength(rows_.result_, index_, col)));
}
std::optional<std::string> Row::optional_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}
std::int64_t Row::i64(int col) const {
  if (is_null(col)) return 0;
  bool ok = true;
  const auto v = parse_int(PQgetvalue(rows_.result_, index_, col), ok);
  assert(ok && "column is not an integer");
  return ok ? v : 0;
}
std::optional<std::int64_t> Row::optional_i64(int col) const {
  if (is_null(col)) return std::nullopt;
  return i64(col);
}
bool Row::boolean(int col) const {
  if (is_null(col)) return false;
  return PQgetvalue(rows_.result_, index_, col)[0] == 't';
}
std::vector<std::uint8_t> Row::bytes(int col) const {
  if (is_null(col)) return {};
  std::size_t n = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(rows_.result_, index_, col)), &n);
  if (!raw) return {};
  std::vector<std::uint8_t> out(raw, raw + n);
  PQfreemem(raw);
  return out;
}
Timestamp Row::time(int col) const {
  auto t = optional_time(col);
  assert((t || is_null(col)) && "column is not a UTC timestamptz");
  return t.value_or(Timestamp{});
}
std::optional<Timestamp> Row::optional_time(int col) const {
  if (is_null(col)) return std::nullopt;
  return parse_timestamp(PQgetvalue(rows_.result_, index_, col));
}

// ---- errors ----

namespace {

ErrorKind kind_for_sqlstate(std::string_view state) {
  if (state == "40001" || state == "40P01") return ErrorKind::Unavailable;
  if (state == "23505" || state == "P0001") return ErrorKind::FailedPrecondition;
  if (state == "55P03" || state == "57P01" || state == "57P02" || state == "57P03") return ErrorKind::Unavailable;
  if (state == "57014") return ErrorKind::Cancelled;
  if (state.starts_with("08")) return ErrorKind::Unavailable;
  if (state.starts_with("23") || state.starts_with("22")) return ErrorKind::InvalidArgument;
  if (state.starts_with("53")) return ErrorKind::ResourceExhausted;
  if (state.starts_with("28")) return ErrorKind::Unauthenticated;
  return ErrorKind::Internal;
}

std::string first_line(const char* text) {
  if (!text) return {};
  std::string s(text);
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

}  // namespace

std::string_view sqlstate(const Error& error) {
  constexpr std::string_view prefix = "postgres ";
  std::string_view m = error.message;
  if (!m.starts_with(prefix) || m.size() < prefix.size() + 6 || m[prefix.size() + 5] != ':') return {};
  return m.substr(prefix.size(), 5);
}

bool is_retryable_conflict(const Error& error) {
  const auto s = sqlstate(error);
  return s == "40001" || s == "40P01";
}

Error Connection::error_from(pg_result* result, std::string_view what) const {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  if (state && *state) {
    // The primary message only: DETAIL can quote the values of a violated row.
    std::string msg = first_line(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
    if (const char* c = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME)) msg += std::string(" (") + c + ")";
    return Error{kind_for_sqlstate(state), "postgres " + std::string(state) + ": " + std::string(what) + ": " + msg,
                 std::nullopt};
  }
  // No SQLSTATE: libpq itself failed, almost always because the connection is gone.
  const bool lost = PQstatus(conn_) == CONNECTION_BAD;
  return Error{lost ? ErrorKind::Unavailable : ErrorKind::Internal,
               std::string(what) + ": " + (lost ? "connection to PostgreSQL lost: " : "") +
                   first_line(PQerrorMessage(conn_)),
               std::nullopt};
}

// ---- connection ----

Result<std::unique_ptr<Connection>> Connection::open(const std::string& conninfo, std::string_view application_name) {
  // Keywords given after the conninfo override it; expand_dbname lets conninfo be a URI.
  const std::string app(application_name);
  const char* keys[] = {"dbname", "application_name", "options", "connect_timeout", nullptr};
  const char* values[] = {conninfo.c_str(), app.c_str(), "-c TimeZone=UTC", "10", nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, 1);
  if (!conn) return fail(ErrorKind::ResourceExhausted, "libpq could not allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = first_line(PQerrorMessage(conn));
    PQfinish(conn);
    const bool auth = msg.find("authentication") != std::string::npos || msg.find("password") != std::string::npos;
    return fail(auth ? ErrorKind::Unauthenticated : ErrorKind::Unavailable, "cannot connect to PostgreSQL: " + msg);
  }
  return std::unique_ptr<Connection>(new Connection(conn));
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

bool Connection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }
int Connection::backend_pid() const { return PQbackendPID(conn_); }

Result<Rows> Connection::exec(std::string_view sql, const Params& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  values.reserve(params.size());
  for (const auto& p : params) {
    values.push_back(p.is_null() ? nullptr : p.value().c_str());
    lengths.push_back(p.is_null() ? 0 : static_cast<int>(p.value().size()));
    formats.push_back(p.binary() ? 1 : 0);
  }
  const std::string query(sql);
  Rows rows(PQexecParams(conn_, query.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                         lengths.data(), formats.data(), 0));
  pg_result* r = rows.result_;
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return rows;
  return fail(error_from(r, "query failed"));
}

Status Connection::exec_script(std::string_view sql) {
  const std::string query(sql);
  Rows rows(PQexec(conn_, query.c_str()));
  pg_result* r = rows.result_;
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return ok();
  return fail(error_from(r, "script failed"));
}

// ---- transactions ----

Result<Transaction> Transaction::begin(Connection& conn, Isolation isolation) {
  if (conn.in_transaction_) return fail(ErrorKind::FailedPrecondition, "a transaction is already open on this connection");
  const char* sql = "BEGIN ISOLATION LEVEL READ COMMITTED";
  if (isolation == Isolation::RepeatableRead) sql = "BEGIN ISOLATION LEVEL REPEATABLE READ";
  if (isolation == Isolation::Serializable) sql = "BEGIN ISOLATION LEVEL SERIALIZABLE";
  if (auto r = conn.exec(sql); !r) return fail(r.error());
  conn.in_transaction_ = true;
  return Transaction(conn);
}

Transaction::Transaction(Transaction&& o) noexcept : conn_(o.conn_), open_(std::exchange(o.open_, false)) {}

Transaction::~Transaction() {
  if (open_) (void)rollback();
}

Status Transaction::commit() {
  if (!open_) return fail(ErrorKind::FailedPrecondition, "transaction already finished");
  open_ = false;
  conn_->in_transaction_ = false;
  auto r = conn_->exec("COMMIT");
  if (r) {
    // COMMIT of a transaction that had already failed answers ROLLBACK, not an error.
    if (std::strcmp(PQcmdStatus(r->result_), "ROLLBACK") == 0) {
      return fail(ErrorKind::Internal, "COMMIT rolled back: the transaction had failed");
    }
    return ok();
  }
  if (sqlstate(r.error()).empty() && !conn_->healthy()) {
    return fail(ErrorKind::OutcomeUnknown, "connection lost during COMMIT: the transaction may have committed");
  }
  return fail(r.error());
}

Status Transaction::rollback() {
  if (!open_) return ok();
  open_ = false;
  conn_->in_transaction_ = false;
  if (!conn_->healthy()) return ok();  // the server rolls back a transaction whose session died
  auto r = conn_->exec("ROLLBACK");
  if (!r) return fail(r.error());
  return ok();
}

// ---- pool ----

Pool::Pool(PoolConfig config) : config_(std::move(config)) {}
Pool::~Pool() {
  std::unique_lock lock(mutex_);
  assert(leased_ == 0 && "a lease outlived its pool");
  idle_.clear();
}

Result<Pool::Lease> Pool::acquire() {
  std::unique_lock lock(mutex_);
  if (!available_.wait_for(lock, config_.acquire_timeout,
                           [&] { return !idle_.empty() || leased_ < config_.size; })) {
    return fail(ErrorKind::ResourceExhausted, "no free PostgreSQL connection in the pool");
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    ++leased_;
    return Lease(*this, std::move(conn));
  }
  ++leased_;
  lock.unlock();
  auto conn = Connection::open(config_.conninfo, config_.application_name);
  if (!conn) {
    std::lock_guard relock(mutex_);
    --leased_;
    available_.notify_one();
    return fail(conn.error());
  }
  return Lease(*this, std::move(*conn));
}

void Pool::give_back(std::unique_ptr<Connection> conn) {
  std::lock_guard lock(mutex_);
  --leased_;
  if (conn && conn->healthy() && !conn->in_transaction()) idle_.push_back(std::move(conn));
  available_.notify_one();
}

std::size_t Pool::open_connections() const {
  std::lock_guard lock(mutex_);
  return idle_.size() + leased_;
}

Pool::Lease::~Lease() {
  if (pool_) pool_->give_back(std::move(conn_));
}

}  // namespace till::office::pg
