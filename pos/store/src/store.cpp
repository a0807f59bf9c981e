#include "till/store/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <utility>

#include "sqlite_db.hpp"
#include "store_access.hpp"
#include "till/base/log.hpp"
#include "till/store/schema.hpp"

namespace till::store {

using detail::Blob;
using detail::Db;
using detail::Stmt;
using detail::Transaction;

namespace {

constexpr std::string_view kNoKeyMessage =
    "offline payment tokens are encrypted at rest and no data key is configured "
    "(set TILL_DATA_KEY to 64 hex characters, or TILL_DATA_KEY_FILE to a 0600 key file)";

std::string attempt_aad(std::string_view attempt_id) { return "attempt:" + std::string(attempt_id); }
std::string op_aad(std::string_view key) { return "outbox:" + std::string(key); }

std::string_view tender_name(pos::TenderKind t) { return t == pos::TenderKind::Cash ? "cash" : "card"; }

Error data_loss(std::string message) { return Error{ErrorKind::DataLoss, std::move(message), std::nullopt}; }

// The exclusive advisory lock that makes one process the writer of a database file. flock() is
// released by the kernel when the process dies (SIGKILL included), so a crash never leaves a
// stale lock; the pid written into the file is only for the error message.
class WriterLock {
 public:
  static Result<WriterLock> acquire(const std::string& db_path) {
    const std::string path = db_path + ".lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return fail(ErrorKind::Unavailable, "cannot open lock file " + path + ": " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      std::string holder = "another process";
      char buf[32] = {};
      const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      if (n > 0) {
        std::string pid(buf, static_cast<std::size_t>(n));
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        if (!pid.empty()) holder = "pid " + pid;
      }
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return fail(ErrorKind::FailedPrecondition,
                    "database " + db_path + " is in use by " + holder +
                        " (one writer per database; status readers open it read-only)");
      }
      return fail(ErrorKind::Unavailable, "cannot lock " + path + ": " + std::strerror(err));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
      // The lock is held; only the message for a second writer would be less helpful.
      log::warn("store.lock_pid_write_failed", {{"path", path}, {"error", std::strerror(errno)}});
    }
    return WriterLock(fd);
  }
  WriterLock() = default;
  WriterLock(WriterLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  WriterLock& operator=(WriterLock&& o) noexcept {
    if (this != &o) {
      release();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~WriterLock() { release(); }

 private:
  explicit WriterLock(int fd) : fd_(fd) {}
  void release() {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor drops the flock
    fd_ = -1;
  }
  int fd_ = -1;
};

constexpr std::string_view kSaleColumns =
    "id, register_id, account_id, currency, state, subtotal, discount_total, tax_total, tip, total, "
    "customer_contact, created_at, updated_at";

constexpr std::string_view kAttemptColumns =
    "id, sale_id, number, tender, state, amount, currency, account_id, idempotency_key, offline, "
    "payment_method, card_brand, card_last4, card_exp, card_read_method, card_aid, card_app_label, "
    "card_auth_code, card_tvr, card_cvm, payment_intent_id, decline_code, failure_message, created_at, "
    "updated_at";

constexpr std::string_view kOpColumns =
    "id, kind, sale_id, attempt_id, account_id, method, path, body, idempotency_key, state, attempts, "
    "next_attempt_at, first_sent_at, last_error, last_request_id, stripe_object_id, created_at, updated_at";

constexpr std::string_view kAttentionColumns =
    "id, sale_id, attempt_id, reason, customer_contact, amount, currency, decline_code, created_at, "
    "resolved_at, resolution";

std::string sql(std::string_view a, std::string_view b, std::string_view c = {}) {
  std::string s(a);
  s += b;
  s += c;
  return s;
}

}  // namespace

std::string_view to_string(EmailReceiptState s) noexcept {
  switch (s) {
    case EmailReceiptState::Queued: return "queued";
    case EmailReceiptState::Sent: return "sent";
    case EmailReceiptState::Failed: return "failed";
  }
  return "queued";
}

struct Store::Impl {
  std::string path;
  const Clock* clock = nullptr;
  OpenOptions options;
  WriterLock lock;
  Db db;
  int version = 0;
  bool in_write = false;

  Timestamp now() const { return clock->now(); }

  // ---- sealing -------------------------------------------------------------------------------

  // Plain TEXT without a key, a sealed BLOB with one.
  struct Sealed {
    bool sealed = false;
    std::string plain;
    Blob blob;
  };
  Result<Sealed> seal(const std::string& value, const std::string& aad) const {
    Sealed out;
    if (options.data_key && !value.empty()) {
      auto b = options.data_key->seal(value, aad);
      if (!b) return fail(b.error());
      out.sealed = true;
      out.blob = std::move(*b);
    } else {
      out.plain = value;
    }
    return out;
  }
  static void bind_sealed(Stmt& st, const Sealed& s) {
    if (s.sealed) {
      st.bind(s.blob);
    } else {
      st.bind(s.plain);
    }
  }
  Result<std::string> unseal(const Stmt& st, int col, const std::string& aad, std::string_view what) const {
    if (!st.is_blob(col)) return st.text(col);
    if (!options.data_key) {
      return fail(ErrorKind::FailedPrecondition, std::string(what) +
                                                     " is encrypted at rest and no data key is configured "
                                                     "(TILL_DATA_KEY or TILL_DATA_KEY_FILE)");
    }
    return options.data_key->open(st.blob(col), aad);
  }

  // ---- row mapping ---------------------------------------------------------------------------

  static Result<pos::Sale> sale_from_row(const Stmt& st) {
    pos::Sale s;
    s.id = st.text(0);
    s.register_id = st.text(1);
    s.account_id = st.text(2);
    s.currency = st.text(3);
    auto state = pos::parse_sale_state(st.text(4));
    if (!state) return fail(data_loss("sale " + s.id + " has an unknown state '" + st.text(4) + "'"));
    s.state = *state;
    s.subtotal = st.i64(5);
    s.discount_total = st.i64(6);
    s.tax_total = st.i64(7);
    s.tip = st.i64(8);
    s.total = st.i64(9);
    s.customer_contact = st.text(10);
    s.created_at = st.time(11);
    s.updated_at = st.time(12);
    return s;
  }

  // `with_secret`: false for status lists, which never carry the token.
  Result<pos::PaymentAttempt> attempt_from_row(const Stmt& st, bool with_secret) const {
    pos::PaymentAttempt a;
    a.id = st.text(0);
    a.sale_id = st.text(1);
    a.number = static_cast<int>(st.i64(2));
    a.tender = st.text(3) == "cash" ? pos::TenderKind::Cash : pos::TenderKind::Card;
    auto state = pos::parse_attempt_state(st.text(4));
    if (!state) return fail(data_loss("attempt " + a.id + " has an unknown state '" + st.text(4) + "'"));
    a.state = *state;
    a.amount = st.i64(5);
    a.currency = st.text(6);
    a.account_id = st.text(7);
    a.idempotency_key = st.text(8);
    a.offline = st.i64(9) != 0;
    if (with_secret) {
      auto pm = unseal(st, 10, attempt_aad(a.id), "the payment method of attempt " + a.id);
      if (!pm) return fail(pm.error());
      a.payment_method = std::move(*pm);
    }
    a.card.brand = st.text(11);
    a.card.last4 = st.text(12);
    a.card.exp_month_year = st.text(13);
    a.card.read_method = st.text(14);
    a.card.application_id = st.text(15);
    a.card.application_label = st.text(16);
    a.card.authorization_code = st.text(17);
    a.card.terminal_verification_results = st.text(18);
    a.card.cardholder_verification = st.text(19);
    a.payment_intent_id = st.text(20);
    a.decline_code = st.text(21);
    a.failure_message = st.text(22);
    a.created_at = st.time(23);
    a.updated_at = st.time(24);
    return a;
  }

  Result<pos::OutboxOperation> op_from_row(const Stmt& st, bool with_body) const {
    pos::OutboxOperation o;
    o.id = st.i64(0);
    auto kind = pos::parse_operation_kind(st.text(1));
    if (!kind) return fail(data_loss("operation " + std::to_string(o.id) + " has an unknown kind"));
    o.kind = *kind;
    o.sale_id = st.text(2);
    o.attempt_id = st.text(3);
    o.account_id = st.text(4);
    o.method = st.text(5);
    o.path = st.text(6);
    o.idempotency_key = st.text(8);
    if (with_body) {
      auto body = unseal(st, 7, op_aad(o.idempotency_key), "the body of operation " + std::to_string(o.id));
      if (!body) return fail(body.error());
      o.body = std::move(*body);
    }
    auto state = pos::parse_outbox_state(st.text(9));
    if (!state) return fail(data_loss("operation " + std::to_string(o.id) + " has an unknown state"));
    o.state = *state;
    o.attempts = static_cast<int>(st.i64(10));
    o.next_attempt_at = st.time(11);
    o.first_sent_at = st.opt_time(12);
    o.last_error = st.text(13);
    o.last_request_id = st.text(14);
    o.stripe_object_id = st.text(15);
    o.created_at = st.time(16);
    o.updated_at = st.time(17);
    return o;
  }

  static AttentionItem attention_from_row(const Stmt& st) {
    AttentionItem a;
    a.id = st.i64(0);
    a.sale_id = st.text(1);
    a.attempt_id = st.text(2);
    a.reason = st.text(3);
    a.customer_contact = st.text(4);
    a.amount = st.i64(5);
    a.currency = st.text(6);
    a.decline_code = st.text(7);
    a.created_at = st.time(8);
    a.resolved_at = st.opt_time(9);
    a.resolution = st.text(10);
    return a;
  }

  // Runs `sql` with `args` and maps every row with `map`.
  template <class T, class Map, class... A>
  Result<std::vector<T>> query(std::string_view q, std::string_view what, Map&& map, const A&... args) {
    auto st = db.prepare(q);
    if (!st) return fail(st.error());
    st->bind_all(args...);
    std::vector<T> out;
    for (;;) {
      auto row = st->step(what);
      if (!row) return fail(row.error());
      if (!*row) break;
      auto v = map(*st);
      if (!v) return fail(v.error());
      out.push_back(std::move(*v));
    }
    return out;
  }

  template <class... A>
  Status run(std::string_view q, std::string_view what, const A&... args) {
    auto st = db.prepare(q);
    if (!st) return fail(st.error());
    st->bind_all(args...);
    return st->run(what);
  }

  // ---- reads ---------------------------------------------------------------------------------

  Result<std::vector<pos::SaleLine>> lines_of(std::string_view sale_id) {
    return query<pos::SaleLine>(
        "SELECT product_id, sku, name, quantity, unit_price, discount, tax_code, tax_rate_ppm, "
        "tax_inclusive, "
        "net, tax, gross FROM sale_lines WHERE sale_id = ? ORDER BY line_no",
        "reading sale lines",
        [](const Stmt& st) -> Result<pos::SaleLine> {
          pos::SaleLine l;
          l.product_id = st.text(0);
          l.sku = st.text(1);
          l.name = st.text(2);
          l.quantity = st.i64(3);
          l.unit_price = st.i64(4);
          l.discount = st.i64(5);
          l.tax_code = st.text(6);
          l.tax_rate_ppm = st.i64(7);
          l.tax_inclusive = st.i64(8) != 0;
          l.net = st.i64(9);
          l.tax = st.i64(10);
          l.gross = st.i64(11);
          return l;
        },
        sale_id);
  }

  Result<std::vector<pos::TaxLine>> taxes_of(std::string_view sale_id) {
    return query<pos::TaxLine>(
        "SELECT tax_code, tax_rate_ppm, net, tax FROM tax_lines WHERE sale_id = ? ORDER BY line_no",
        "reading tax lines",
        [](const Stmt& st) -> Result<pos::TaxLine> {
          return pos::TaxLine{st.text(0), st.i64(1), st.i64(2), st.i64(3)};
        },
        sale_id);
  }

  Result<pos::Sale> complete_sale(pos::Sale s) {
    auto lines = lines_of(s.id);
    if (!lines) return fail(lines.error());
    auto taxes = taxes_of(s.id);
    if (!taxes) return fail(taxes.error());
    s.lines = std::move(*lines);
    s.taxes = std::move(*taxes);
    return s;
  }

  Result<std::optional<pos::Sale>> find_sale(std::string_view id) {
    auto rows = query<pos::Sale>(sql("SELECT ", kSaleColumns, " FROM sales WHERE id = ?"), "reading a sale",
                                 sale_from_row, id);
    if (!rows) return fail(rows.error());
    if (rows->empty()) return std::optional<pos::Sale>();
    auto s = complete_sale(std::move(rows->front()));
    if (!s) return fail(s.error());
    return std::optional<pos::Sale>(std::move(*s));
  }

  Result<pos::Sale> get_sale(std::string_view id) {
    auto s = find_sale(id);
    if (!s) return fail(s.error());
    if (!*s) return fail(ErrorKind::NotFound, "no sale " + std::string(id));
    return std::move(**s);
  }

  Result<pos::PaymentAttempt> one_attempt(std::string_view where, std::string_view value,
                                          std::string_view what) {
    auto rows = query<pos::PaymentAttempt>(
        sql("SELECT ", kAttemptColumns, " FROM payment_attempts WHERE ") + std::string(where),
        "reading an attempt", [this](const Stmt& st) { return attempt_from_row(st, true); }, value);
    if (!rows) return fail(rows.error());
    if (rows->empty()) return fail(ErrorKind::NotFound, "no payment attempt with " + std::string(what));
    return std::move(rows->front());
  }

  Result<pos::OutboxOperation> get_operation(std::int64_t id) {
    auto rows = query<pos::OutboxOperation>(
        sql("SELECT ", kOpColumns, " FROM outbox_operations WHERE id = ?"), "reading an operation",
        [this](const Stmt& st) { return op_from_row(st, true); }, id);
    if (!rows) return fail(rows.error());
    if (rows->empty()) return fail(ErrorKind::NotFound, "no outbox operation " + std::to_string(id));
    return std::move(rows->front());
  }

  // State and owner of an operation without touching its (maybe sealed) body.
  struct OpHead {
    pos::OutboxState state;
    std::string attempt_id;
  };
  Result<OpHead> op_head(std::int64_t id) {
    auto rows = query<OpHead>(
        "SELECT state, COALESCE(attempt_id, '') FROM outbox_operations WHERE id = ?", "reading an operation",
        [](const Stmt& st) -> Result<OpHead> {
          auto s = pos::parse_outbox_state(st.text(0));
          if (!s) return fail(data_loss("operation has an unknown state '" + st.text(0) + "'"));
          return OpHead{*s, st.text(1)};
        },
        id);
    if (!rows) return fail(rows.error());
    if (rows->empty()) return fail(ErrorKind::NotFound, "no outbox operation " + std::to_string(id));
    return rows->front();
  }

  // ---- writes (always inside a transaction) ---------------------------------------------------

  Status audit(std::string_view actor, std::string_view action, std::string_view subject,
               std::string_view detail) {
    return run("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
               "appending to the audit log", now(), actor, action, subject, detail);
  }

  Status insert_lines(const pos::Sale& s) {
    std::int64_t n = 0;
    for (const auto& l : s.lines) {
      if (auto r =
              run("INSERT INTO sale_lines (sale_id, line_no, product_id, sku, name, quantity, unit_price, "
                  "discount, tax_code, tax_rate_ppm, tax_inclusive, net, tax, gross) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  "writing a sale line", s.id, ++n, l.product_id, l.sku, l.name, l.quantity, l.unit_price,
                  l.discount, l.tax_code, l.tax_rate_ppm, l.tax_inclusive, l.net, l.tax, l.gross);
          !r) {
        return r;
      }
    }
    n = 0;
    for (const auto& t : s.taxes) {
      if (auto r = run("INSERT INTO tax_lines (sale_id, line_no, tax_code, tax_rate_ppm, net, tax) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       "writing a tax line", s.id, ++n, t.tax_code, t.tax_rate_ppm, t.net, t.tax);
          !r) {
        return r;
      }
    }
    return ok();
  }

  Status persist_sale(const pos::Sale& s) {
    if (s.id.empty() || s.currency.empty()) {
      return fail(ErrorKind::InvalidArgument, "a sale needs an id and a currency");
    }
    const Timestamp t = now();
    auto existing = query<pos::Sale>(sql("SELECT ", kSaleColumns, " FROM sales WHERE id = ?"),
                                     "reading a sale", sale_from_row, s.id);
    if (!existing) return fail(existing.error());
    if (existing->empty()) {
      const Timestamp created = s.created_at == Timestamp{} ? t : s.created_at;
      if (auto r = run(
              sql("INSERT INTO sales (", kSaleColumns, ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
              "writing a sale", s.id, s.register_id, s.account_id, s.currency, pos::to_string(s.state),
              s.subtotal, s.discount_total, s.tax_total, s.tip, s.total, s.customer_contact, created, t);
          !r) {
        return r;
      }
      return insert_lines(s);
    }
    const pos::Sale& old = existing->front();
    if (pos::is_final(old.state)) {
      return fail(ErrorKind::FailedPrecondition, "sale " + s.id + " is " +
                                                     std::string(pos::to_string(old.state)) +
                                                     "; a final sale is never rewritten");
    }
    if (old.state != s.state) {
      if (auto tr = pos::transition(old.state, s.state); !tr) return fail(tr.error());
      if (auto r =
              audit("store", "sale.state", s.id,
                    std::string(pos::to_string(old.state)) + " -> " + std::string(pos::to_string(s.state)));
          !r) {
        return r;
      }
    }
    if (auto r =
            run("UPDATE sales SET register_id = ?, account_id = ?, currency = ?, state = ?, subtotal = ?, "
                "discount_total = ?, tax_total = ?, tip = ?, total = ?, customer_contact = ?, updated_at = ? "
                "WHERE id = ?",
                "rewriting a sale", s.register_id, s.account_id, s.currency, pos::to_string(s.state),
                s.subtotal, s.discount_total, s.tax_total, s.tip, s.total, s.customer_contact, t, s.id);
        !r) {
      return r;
    }
    if (auto r = run("DELETE FROM sale_lines WHERE sale_id = ?", "replacing sale lines", s.id); !r) return r;
    if (auto r = run("DELETE FROM tax_lines WHERE sale_id = ?", "replacing tax lines", s.id); !r) return r;
    return insert_lines(s);
  }

  Status update_sale_state(std::string_view id, pos::SaleState to) {
    auto rows = query<std::string>(
        "SELECT state FROM sales WHERE id = ?", "reading a sale",
        [](const Stmt& st) -> Result<std::string> { return st.text(0); }, id);
    if (!rows) return fail(rows.error());
    if (rows->empty()) return fail(ErrorKind::NotFound, "no sale " + std::string(id));
    auto from = pos::parse_sale_state(rows->front());
    if (!from) return fail(data_loss("sale " + std::string(id) + " has an unknown state"));
    if (auto tr = pos::transition(*from, to); !tr) return fail(tr.error());
    if (auto r = run("UPDATE sales SET state = ?, updated_at = ? WHERE id = ?", "updating a sale",
                     pos::to_string(to), now(), id);
        !r) {
      return r;
    }
    return audit("store", "sale.state", id,
                 std::string(pos::to_string(*from)) + " -> " + std::string(pos::to_string(to)));
  }

  Status create_attempt(const pos::PaymentAttempt& a) {
    if (a.id.empty() || a.sale_id.empty()) {
      return fail(ErrorKind::InvalidArgument, "a payment attempt needs an id and a sale id");
    }
    if (a.tender == pos::TenderKind::Card && (a.idempotency_key.empty() || a.account_id.empty())) {
      return fail(ErrorKind::InvalidArgument,
                  "a card attempt needs its idempotency key and connected account before anything is sent");
    }
    if (a.offline && !a.payment_method.empty() && !options.data_key) {
      return fail(ErrorKind::FailedPrecondition, std::string(kNoKeyMessage));
    }
    auto sale = query<std::string>(
        "SELECT id FROM sales WHERE id = ?", "reading a sale",
        [](const Stmt& st) -> Result<std::string> { return st.text(0); }, a.sale_id);
    if (!sale) return fail(sale.error());
    if (sale->empty()) return fail(ErrorKind::NotFound, "no sale " + a.sale_id + " for attempt " + a.id);
    auto dup = query<std::string>(
        "SELECT id FROM payment_attempts WHERE idempotency_key = ?", "checking an idempotency key",
        [](const Stmt& st) -> Result<std::string> { return st.text(0); }, a.idempotency_key);
    if (!dup) return fail(dup.error());
    if (!dup->empty()) {
      return fail(ErrorKind::FailedPrecondition,
                  "idempotency key already belongs to attempt " + dup->front() + "; keys are never reused");
    }
    auto pm = seal(a.payment_method, attempt_aad(a.id));
    if (!pm) return fail(pm.error());
    const Timestamp t = now();
    const Timestamp created = a.created_at == Timestamp{} ? t : a.created_at;
    auto st = db.prepare(
        sql("INSERT INTO payment_attempts (", kAttemptColumns,
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    if (!st) return fail(st.error());
    st->bind_all(a.id, a.sale_id, a.number, tender_name(a.tender), pos::to_string(a.state), a.amount,
                 a.currency, a.account_id);
    if (a.idempotency_key.empty()) {
      st->bind(std::nullopt);
    } else {
      st->bind(a.idempotency_key);
    }
    st->bind(a.offline);
    bind_sealed(*st, *pm);
    st->bind_all(a.card.brand, a.card.last4, a.card.exp_month_year, a.card.read_method, a.card.application_id,
                 a.card.application_label, a.card.authorization_code, a.card.terminal_verification_results,
                 a.card.cardholder_verification, a.payment_intent_id, a.decline_code, a.failure_message,
                 created, t);
    return st->run("writing a payment attempt");
  }

  Status update_attempt(const AttemptUpdate& u) {
    auto cur = one_attempt("id = ?", u.attempt_id, "id " + u.attempt_id);
    if (!cur) return fail(cur.error());
    pos::PaymentAttempt a = std::move(*cur);
    const pos::AttemptState from = a.state;
    if (from != u.state) {
      if (auto tr = pos::transition(from, u.state); !tr) {
        return fail(ErrorKind::FailedPrecondition, "attempt " + a.id + ": " + tr.error().message);
      }
    } else if (pos::is_final(from) && (u.payment_method || u.offline)) {
      return fail(ErrorKind::FailedPrecondition,
                  "attempt " + a.id + " is final; its payment details are fixed");
    }
    a.state = u.state;
    if (u.offline) a.offline = *u.offline;
    if (u.payment_method) a.payment_method = *u.payment_method;
    if (u.card) a.card = *u.card;
    if (u.payment_intent_id) a.payment_intent_id = *u.payment_intent_id;
    if (u.decline_code) a.decline_code = *u.decline_code;
    if (u.failure_message) a.failure_message = *u.failure_message;
    if (a.offline && !a.payment_method.empty() && !options.data_key) {
      return fail(ErrorKind::FailedPrecondition, std::string(kNoKeyMessage));
    }
    auto pm = seal(a.payment_method, attempt_aad(a.id));
    if (!pm) return fail(pm.error());
    auto st = db.prepare(
        "UPDATE payment_attempts SET state = ?, offline = ?, payment_method = ?, card_brand = ?, card_last4 "
        "= ?, "
        "card_exp = ?, card_read_method = ?, card_aid = ?, card_app_label = ?, card_auth_code = ?, card_tvr "
        "= ?, "
        "card_cvm = ?, payment_intent_id = ?, decline_code = ?, failure_message = ?, updated_at = ? WHERE id "
        "= ?");
    if (!st) return fail(st.error());
    st->bind_all(pos::to_string(a.state), a.offline);
    bind_sealed(*st, *pm);
    st->bind_all(a.card.brand, a.card.last4, a.card.exp_month_year, a.card.read_method, a.card.application_id,
                 a.card.application_label, a.card.authorization_code, a.card.terminal_verification_results,
                 a.card.cardholder_verification, a.payment_intent_id, a.decline_code, a.failure_message,
                 now(), a.id);
    if (auto r = st->run("updating a payment attempt"); !r) return r;
    if (from == u.state) return ok();
    if (auto r = audit("store", "attempt.state", a.id,
                       std::string(pos::to_string(from)) + " -> " + std::string(pos::to_string(u.state)));
        !r) {
      return r;
    }
    if (u.state == pos::AttemptState::DeclinedAfterForward) {
      // Money already handed over is lost: a person must contact the customer (lesson 7).
      return run(
          "INSERT INTO attention_items (sale_id, attempt_id, reason, customer_contact, amount, currency, "
          "decline_code, created_at) SELECT a.sale_id, a.id, 'declined_after_forward', s.customer_contact, "
          "a.amount, a.currency, a.decline_code, ? FROM payment_attempts a JOIN sales s ON s.id = a.sale_id "
          "WHERE a.id = ? ON CONFLICT (attempt_id, reason) DO NOTHING",
          "adding to the attention list", now(), a.id);
    }
    return ok();
  }

  Result<std::int64_t> enqueue_operation(const pos::OutboxOperation& op) {
    if (op.sale_id.empty() || op.account_id.empty() || op.idempotency_key.empty() || op.path.empty()) {
      return fail(ErrorKind::InvalidArgument,
                  "an outbox operation needs a sale, an account, a path and its key");
    }
    if (op.state != pos::OutboxState::Pending) {
      return fail(ErrorKind::InvalidArgument, "an operation is enqueued pending");
    }
    if (!op.attempt_id.empty()) {
      auto a = one_attempt("id = ?", op.attempt_id, "id " + op.attempt_id);
      if (!a) return fail(a.error());
      // Connect safety: an attempt's payment is only ever forwarded to the account it was taken for.
      if (a->account_id != op.account_id) {
        return fail(ErrorKind::FailedPrecondition,
                    "operation account " + op.account_id + " differs from attempt " + a->id + "'s account " +
                        a->account_id + "; payments never move between accounts");
      }
      if (a->offline && !options.data_key)
        return fail(ErrorKind::FailedPrecondition, std::string(kNoKeyMessage));
      if (op.kind == pos::OperationKind::Refund) {
        if (auto r = check_refund(*a, op); !r) return fail(r.error());
      }
    } else if (op.kind == pos::OperationKind::Refund) {
      return fail(ErrorKind::InvalidArgument, "a refund names the payment attempt it refunds");
    }
    auto dup = query<std::int64_t>(
        "SELECT id FROM outbox_operations WHERE idempotency_key = ?", "checking an idempotency key",
        [](const Stmt& st) -> Result<std::int64_t> { return st.i64(0); }, op.idempotency_key);
    if (!dup) return fail(dup.error());
    if (!dup->empty()) {
      return fail(ErrorKind::FailedPrecondition,
                  "idempotency key already belongs to outbox operation " + std::to_string(dup->front()));
    }
    auto body = seal(op.body, op_aad(op.idempotency_key));
    if (!body) return fail(body.error());
    const Timestamp t = now();
    auto st = db.prepare(
        "INSERT INTO outbox_operations (kind, sale_id, attempt_id, account_id, method, path, body, "
        "idempotency_key, "
        "state, attempts, next_attempt_at, first_sent_at, last_error, last_request_id, stripe_object_id, "
        "created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, NULL, '', '', ?, ?, ?)");
    if (!st) return fail(st.error());
    st->bind_all(pos::to_string(op.kind), op.sale_id);
    if (op.attempt_id.empty()) {
      st->bind(std::nullopt);
    } else {
      st->bind(op.attempt_id);
    }
    st->bind_all(op.account_id, op.method, op.path);
    bind_sealed(*st, *body);
    st->bind_all(op.idempotency_key, pos::to_string(pos::OutboxState::Pending),
                 op.next_attempt_at == Timestamp{} ? t : op.next_attempt_at, op.stripe_object_id,
                 op.created_at == Timestamp{} ? t : op.created_at, t);
    if (auto r = st->run("enqueueing an operation"); !r) return fail(r.error());
    return db.last_insert_rowid();
  }

  Status move_operation(std::int64_t id, pos::OutboxState to, std::string_view set_sql,
                        const std::function<void(Stmt&)>& bind_extra) {
    auto head = op_head(id);
    if (!head) return fail(head.error());
    if (auto tr = pos::transition(head->state, to); !tr) {
      return fail(ErrorKind::FailedPrecondition,
                  "operation " + std::to_string(id) + ": " + tr.error().message);
    }
    auto st = db.prepare(std::string("UPDATE outbox_operations SET state = ?, updated_at = ?") +
                         std::string(set_sql) + " WHERE id = ?");
    if (!st) return fail(st.error());
    st->bind_all(pos::to_string(to), now());
    bind_extra(*st);
    st->bind(id);
    return st->run("updating an operation");
  }

  Status complete_operation(std::int64_t id, const OperationOutcome& o) {
    auto head = op_head(id);
    if (!head) return fail(head.error());
    const bool from_dead = head->state == pos::OutboxState::Dead;
    auto r = move_operation(id, pos::OutboxState::Done, ", last_request_id = ?, stripe_object_id = ?",
                            [&](Stmt& st) { st.bind_all(o.request_id, o.stripe_object_id); });
    if (!r || !from_dead) return r;
    return audit("store", "operation.done_after_dead", std::to_string(id), o.stripe_object_id);
  }

  Status fail_operation(std::int64_t id, const OperationFailure& f) {
    return move_operation(id, pos::OutboxState::FailedRetryable,
                          ", last_error = ?, last_request_id = ?, next_attempt_at = ?",
                          [&](Stmt& st) { st.bind_all(f.error, f.request_id, f.next_attempt_at); });
  }

  Status dead_operation(std::int64_t id, const OperationFailure& f) {
    auto r = move_operation(id, pos::OutboxState::Dead, ", last_error = ?, last_request_id = ?",
                            [&](Stmt& st) { st.bind_all(f.error, f.request_id); });
    if (!r) return r;
    return audit("store", "operation.dead", std::to_string(id), f.error);
  }

  Status retry_operation(std::int64_t id, std::string_view actor, std::string_view reason) {
    auto r = move_operation(id, pos::OutboxState::Pending, ", next_attempt_at = ?",
                            [&](Stmt& st) { st.bind(now()); });
    if (!r) return r;
    return audit(actor, "operation.retry", std::to_string(id), reason);
  }

  Result<WebhookSeen> record_webhook_event(const WebhookEvent& e) {
    if (e.id.empty()) return fail(ErrorKind::InvalidArgument, "a webhook event needs its id");
    auto seen = query<std::string>(
        "SELECT payload_sha256 FROM webhook_events WHERE id = ?", "reading a webhook event",
        [](const Stmt& st) -> Result<std::string> { return st.text(0); }, e.id);
    if (!seen) return fail(seen.error());
    if (!seen->empty()) {
      if (seen->front() != e.payload_sha256) {
        log::warn("store.webhook_redelivered_with_other_payload", {{"event_id", e.id}});
      }
      return WebhookSeen::AlreadySeen;
    }
    if (auto r = run(
            "INSERT INTO webhook_events (id, type, account, payload_sha256, received_at, processed, result, "
            "processed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            "recording a webhook event", e.id, e.type, e.account, e.payload_sha256,
            e.received_at == Timestamp{} ? now() : e.received_at, e.processed, e.result,
            e.processed ? std::optional<Timestamp>(now()) : std::nullopt);
        !r) {
      return fail(r.error());
    }
    return WebhookSeen::New;
  }

  Status mark_webhook_processed(std::string_view id, std::string_view result) {
    if (auto r = run("UPDATE webhook_events SET processed = 1, result = ?, processed_at = ? WHERE id = ?",
                     "marking a webhook event processed", result, now(), id);
        !r) {
      return r;
    }
    if (db.changes() == 0) return fail(ErrorKind::NotFound, "no webhook event " + std::string(id));
    return ok();
  }

  Result<std::int64_t> append_audit(const AuditEntry& e) {
    if (e.action.empty()) return fail(ErrorKind::InvalidArgument, "an audit entry needs an action");
    if (auto r = run("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                     "appending to the audit log", e.at == Timestamp{} ? now() : e.at, e.actor, e.action,
                     e.subject, e.detail);
        !r) {
      return fail(r.error());
    }
    return db.last_insert_rowid();
  }

  Status resolve_attention(std::int64_t id, std::string_view actor, std::string_view resolution) {
    if (auto r = run("UPDATE attention_items SET resolved_at = ?, resolved_by = ?, resolution = ? "
                     "WHERE id = ? AND resolved_at IS NULL",
                     "resolving an attention item", now(), actor, resolution, id);
        !r) {
      return r;
    }
    if (db.changes() == 0) {
      return fail(ErrorKind::NotFound, "no unresolved attention item " + std::to_string(id));
    }
    return audit(actor, "attention.resolve", std::to_string(id), resolution);
  }

  Result<std::vector<pos::OutboxOperation>> claim_due(Timestamp at, int limit) {
    auto ids = query<std::int64_t>(
        "SELECT id FROM outbox_operations WHERE state IN ('pending', 'failed_retryable') AND next_attempt_at "
        "<= ? "
        "ORDER BY next_attempt_at, id LIMIT ?",
        "finding due operations", [](const Stmt& st) -> Result<std::int64_t> { return st.i64(0); }, at,
        static_cast<std::int64_t>(limit));
    if (!ids) return fail(ids.error());
    std::vector<pos::OutboxOperation> out;
    for (std::int64_t id : *ids) {
      auto r = move_operation(id, pos::OutboxState::InFlight,
                              ", attempts = attempts + 1, first_sent_at = COALESCE(first_sent_at, ?)",
                              [&](Stmt& st) { st.bind(at); });
      if (!r) return fail(r.error());
      auto op = get_operation(id);
      if (!op) return fail(op.error());
      out.push_back(std::move(*op));
    }
    return out;
  }

  Result<int> recover(Timestamp at) {
    if (auto r = run("UPDATE outbox_operations SET state = 'pending', next_attempt_at = ?, updated_at = ? "
                     "WHERE state = 'in_flight'",
                     "recovering in-flight operations", at, at);
        !r) {
      return fail(r.error());
    }
    const int n = static_cast<int>(db.changes());
    if (n > 0) {
      if (auto r = audit("store", "operation.recover_in_flight", "", std::to_string(n) + " back to pending");
          !r) {
        return fail(r.error());
      }
    }
    return n;
  }

  // ---- email receipts ---------------------------------------------------------------------------

  // Separate associated data per column: a sealed address moved into the body column (or into
  // another row) does not open.
  static std::string email_address_aad(std::int64_t id) { return "email-address:" + std::to_string(id); }
  static std::string email_body_aad(std::int64_t id) { return "email-body:" + std::to_string(id); }

  static constexpr std::string_view kEmailColumns =
      "id, sale_id, address, body, state, attempts, last_error, created_at, updated_at, sent_at";

  Result<EmailReceipt> email_from_row(const Stmt& st) const {
    EmailReceipt e;
    e.id = st.i64(0);
    e.sale_id = st.text(1);
    auto address = unseal(st, 2, email_address_aad(e.id), "the address of email receipt " + std::to_string(e.id));
    if (!address) return fail(address.error());
    e.address = std::move(*address);
    auto body = unseal(st, 3, email_body_aad(e.id), "the body of email receipt " + std::to_string(e.id));
    if (!body) return fail(body.error());
    e.body = std::move(*body);
    auto state = parse_email_state(st.text(4));
    if (!state) return fail(data_loss("email receipt " + std::to_string(e.id) + " has an unknown state"));
    e.state = *state;
    e.attempts = static_cast<int>(st.i64(5));
    e.last_error = st.text(6);
    e.created_at = st.time(7);
    e.updated_at = st.time(8);
    e.sent_at = st.opt_time(9);
    return e;
  }

  static std::optional<EmailReceiptState> parse_email_state(std::string_view s) {
    if (s == "queued") return EmailReceiptState::Queued;
    if (s == "sent") return EmailReceiptState::Sent;
    if (s == "failed") return EmailReceiptState::Failed;
    return std::nullopt;
  }

  // A plausible single address: enough to catch a typo at the counter, not RFC 5322.
  static Status check_address(std::string_view a) {
    const auto bad = [&](std::string_view why) {
      return fail(ErrorKind::InvalidArgument, "not an email address: " + std::string(why));
    };
    if (a.size() < 3 || a.size() > 254) return bad("length");
    const std::size_t at = a.find('@');
    if (at == std::string_view::npos || a.find('@', at + 1) != std::string_view::npos) return bad("needs one '@'");
    const std::string_view local = a.substr(0, at);
    const std::string_view domain = a.substr(at + 1);
    if (local.empty() || local.size() > 64) return bad("nothing before '@'");
    if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
        domain.back() == '.') {
      return bad("the domain after '@' needs a dot");
    }
    for (unsigned char c : a) {
      if (c <= 0x20 || c == 0x7F || c == ',' || c == ';' || c == '<' || c == '>' || c == '"' || c == '(' ||
          c == ')' || c == '[' || c == ']' || c == '\\') {
        return bad("spaces, control characters and , ; < > \" ( ) [ ] \\ are not allowed");
      }
    }
    return ok();
  }

  // "a***@example.com": enough for a person to recognise it, no longer the address.
  static std::string masked_address(std::string_view a) {
    const std::size_t at = a.find('@');
    if (at == std::string_view::npos || at == 0) return "***";
    return std::string(a.substr(0, 1)) + "***" + std::string(a.substr(at));
  }

  Result<std::int64_t> enqueue_email_receipt(std::string_view sale_id, std::string_view address,
                                             std::string_view body) {
    if (auto r = check_address(address); !r) return fail(r.error());
    auto sale = query<std::string>(
        "SELECT id FROM sales WHERE id = ?", "reading a sale",
        [](const Stmt& st) -> Result<std::string> { return st.text(0); }, sale_id);
    if (!sale) return fail(sale.error());
    if (sale->empty()) return fail(ErrorKind::NotFound, "no sale " + std::string(sale_id) + " to email a receipt for");
    const Timestamp t = now();
    // The row id is the associated data of the sealed values, so the row comes first.
    if (auto r = run("INSERT INTO email_receipts (sale_id, address, body, state, attempts, created_at, updated_at) "
                     "VALUES (?, '', '', 'queued', 0, ?, ?)",
                     "queueing an email receipt", sale_id, t, t);
        !r) {
      return fail(r.error());
    }
    const std::int64_t id = db.last_insert_rowid();
    auto sealed_address = seal(std::string(address), email_address_aad(id));
    if (!sealed_address) return fail(sealed_address.error());
    auto sealed_body = seal(std::string(body), email_body_aad(id));
    if (!sealed_body) return fail(sealed_body.error());
    auto st = db.prepare("UPDATE email_receipts SET address = ?, body = ? WHERE id = ?");
    if (!st) return fail(st.error());
    bind_sealed(*st, *sealed_address);
    bind_sealed(*st, *sealed_body);
    st->bind(id);
    if (auto r = st->run("queueing an email receipt"); !r) return fail(r.error());
    if (auto r = audit("store", "email_receipt.queued", std::to_string(id), "sale " + std::string(sale_id)); !r) {
      return fail(r.error());
    }
    return id;
  }

  Result<EmailReceiptState> email_state(std::int64_t id) {
    auto rows = query<std::string>(
        "SELECT state FROM email_receipts WHERE id = ?", "reading an email receipt",
        [](const Stmt& st) -> Result<std::string> { return st.text(0); }, id);
    if (!rows) return fail(rows.error());
    if (rows->empty()) return fail(ErrorKind::NotFound, "no email receipt " + std::to_string(id));
    auto s = parse_email_state(rows->front());
    if (!s) return fail(data_loss("email receipt " + std::to_string(id) + " has an unknown state"));
    return *s;
  }

  Status expect_email_state(std::int64_t id, EmailReceiptState want, std::string_view doing) {
    auto s = email_state(id);
    if (!s) return fail(s.error());
    if (*s != want) {
      return fail(ErrorKind::FailedPrecondition, "email receipt " + std::to_string(id) + " is " +
                                                     std::string(to_string(*s)) + "; cannot " + std::string(doing));
    }
    return ok();
  }

  Status mark_email_sent(std::int64_t id) {
    if (auto r = expect_email_state(id, EmailReceiptState::Queued, "mark it sent"); !r) return r;
    auto rows = query<EmailReceipt>(sql("SELECT ", kEmailColumns, " FROM email_receipts WHERE id = ?"),
                                    "reading an email receipt",
                                    [this](const Stmt& st) { return email_from_row(st); }, id);
    if (!rows) return fail(rows.error());
    // Delivered: the address and the receipt are no longer needed here (data minimisation).
    const Timestamp t = now();
    return run("UPDATE email_receipts SET state = 'sent', attempts = attempts + 1, last_error = '', "
               "address = ?, body = '', sent_at = ?, updated_at = ? WHERE id = ?",
               "marking an email receipt sent", masked_address(rows->front().address), t, t, id);
  }

  Status mark_email_failed(std::int64_t id, std::string_view error, bool permanent) {
    if (auto r = expect_email_state(id, EmailReceiptState::Queued, "record a delivery attempt"); !r) return r;
    return run("UPDATE email_receipts SET state = ?, attempts = attempts + 1, last_error = ?, updated_at = ? "
               "WHERE id = ?",
               "recording a failed email receipt", permanent ? "failed" : "queued", error, now(), id);
  }

  Status requeue_email_receipt(std::int64_t id, std::string_view actor, std::string_view reason) {
    if (auto r = expect_email_state(id, EmailReceiptState::Failed, "requeue it"); !r) return r;
    if (auto r = run("UPDATE email_receipts SET state = 'queued', updated_at = ? WHERE id = ?",
                     "requeueing an email receipt", now(), id);
        !r) {
      return r;
    }
    return audit(actor, "email_receipt.requeue", std::to_string(id), reason);
  }

  // ---- refunds ---------------------------------------------------------------------------------

  // The amount a refund body asks for: `present` false for a full refund (no amount field);
  // `value` empty when the field does not parse as a positive integer.
  struct AskedAmount {
    bool present = false;
    std::optional<std::int64_t> value;
  };
  static AskedAmount refund_amount(std::string_view body) {
    std::size_t start = 0;
    while (start <= body.size()) {
      std::size_t end = body.find('&', start);
      if (end == std::string_view::npos) end = body.size();
      const std::string_view field = body.substr(start, end - start);
      if (field.starts_with("amount=")) {
        std::int64_t v = 0;
        const std::string_view digits = field.substr(7);
        const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (r.ec == std::errc() && r.ptr == digits.data() + digits.size() && v > 0) return {true, v};
        return {true, std::nullopt};
      }
      start = end + 1;
    }
    return {};
  }

  // Every refund operation of the sale, bodies decrypted (for the amounts).
  Result<std::vector<pos::OutboxOperation>> refund_operations(std::string_view sale_id) {
    return query<pos::OutboxOperation>(
        sql("SELECT ", kOpColumns, " FROM outbox_operations WHERE sale_id = ? AND kind = 'refund' ORDER BY id"),
        "reading a sale's refunds", [this](const Stmt& st) { return op_from_row(st, true); }, sale_id);
  }

  // What is captured and refunded for one attempt, given the sale's refund operations.
  static PaymentRefunds refunds_of(const pos::PaymentAttempt& a, const std::vector<pos::OutboxOperation>& refunds) {
    PaymentRefunds p;
    p.attempt = a;
    p.attempt.payment_method.clear();
    p.captured = (a.tender == pos::TenderKind::Card && a.state == pos::AttemptState::Approved) ? a.amount : 0;
    std::optional<bool> full_done;  // a full refund: done or still pending
    for (const auto& o : refunds) {
      if (o.attempt_id != a.id) continue;
      const bool done = o.state == pos::OutboxState::Done;
      if (const AskedAmount amount = refund_amount(o.body); amount.value) {
        (done ? p.refunded : p.refund_pending) += *amount.value;
      } else {
        // A full refund, or (never written by Till) an amount that does not parse: counted as
        // everything that was left, the side that never refunds twice.
        full_done = full_done.value_or(false) || done;
      }
    }
    if (full_done) {
      const std::int64_t rest = p.refundable();
      (*full_done ? p.refunded : p.refund_pending) += rest;
    }
    return p;
  }

  // The refund limit, enforced whoever enqueues: an approved card attempt, at most what is left.
  Status check_refund(const pos::PaymentAttempt& a, const pos::OutboxOperation& op) {
    if (a.tender != pos::TenderKind::Card || a.state != pos::AttemptState::Approved) {
      return fail(ErrorKind::FailedPrecondition,
                  "attempt " + a.id + " is a " + std::string(tender_name(a.tender)) + " payment in state " +
                      std::string(pos::to_string(a.state)) + ": only an approved card payment can be refunded");
    }
    auto existing = refund_operations(a.sale_id);
    if (!existing) return fail(existing.error());
    const PaymentRefunds p = refunds_of(a, *existing);
    const AskedAmount amount = refund_amount(op.body);
    if (amount.present && !amount.value) {
      return fail(ErrorKind::InvalidArgument, "a refund amount is a positive whole number of minor units");
    }
    const std::optional<std::int64_t> asked = amount.value;
    const std::int64_t want = asked.value_or(p.refundable());
    if (want <= 0 || want > p.refundable()) {
      return fail(ErrorKind::FailedPrecondition,
                  "refund of " + (asked ? std::to_string(*asked) : std::string("the rest")) + " exceeds what is left of attempt " +
                      a.id + ": " + std::to_string(p.refundable()) + " of " + std::to_string(p.captured) +
                      " captured (" + std::to_string(p.refunded) + " refunded, " +
                      std::to_string(p.refund_pending) + " in refunds not yet confirmed)");
    }
    return ok();
  }

  // ---- open ----------------------------------------------------------------------------------

  Status migrate() {
    auto v = db.query_text("PRAGMA user_version", "reading the schema version");
    if (!v) return fail(v.error());
    const int found = std::stoi(v->empty() ? "0" : *v);
    const int known = current_schema_version();
    if (found > known) {
      return fail(ErrorKind::FailedPrecondition,
                  "database " + path + " has schema version " + std::to_string(found) +
                      ", newer than this build knows (" + std::to_string(known) +
                      "); refusing to open it. Run a newer Till");
    }
    version = found;
    if (options.mode == OpenMode::ReadOnly) {
      if (found < known) {
        return fail(ErrorKind::FailedPrecondition, "database " + path + " has schema version " +
                                                       std::to_string(found) + ", this build needs " +
                                                       std::to_string(known) +
                                                       "; open it once with the writer to migrate");
      }
      return ok();
    }
    for (const Migration& m : migrations()) {
      if (m.version <= found) continue;
      auto tx = Transaction::begin(db, "starting migration " + std::to_string(m.version));
      if (!tx) return fail(tx.error());
      if (auto r = db.exec(m.sql, "applying migration " + std::to_string(m.version)); !r) return r;
      if (auto r =
              db.exec("PRAGMA user_version = " + std::to_string(m.version), "recording the schema version");
          !r) {
        return r;
      }
      if (auto r = run("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                       "recording a migration", static_cast<std::int64_t>(m.version), now());
          !r) {
        return r;
      }
      if (auto r = tx->commit("committing migration " + std::to_string(m.version)); !r) return r;
      version = m.version;
      log::info("store.migrated", {{"path", path}, {"version", m.version}, {"description", m.description}});
    }
    return ok();
  }

  Status check_integrity(IntegrityCheck kind) {
    const bool full = kind == IntegrityCheck::Full;
    auto st = db.prepare(full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)");
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
      return fail(ErrorKind::DataLoss,
                  "database " + path + " failed its integrity check (" + problems +
                      "); refusing to use it. Restore from a backup and keep the damaged file");
    }
    return ok();
  }

  Status pragma(const std::string& statement, std::string_view expect = {}) {
    auto v = db.query_text(statement, "setting " + statement);
    if (!v) return fail(v.error());
    if (!expect.empty() && *v != expect) {
      return fail(ErrorKind::Internal,
                  statement + " answered '" + *v + "', expected '" + std::string(expect) + "'");
    }
    return ok();
  }

  Status open() {
    const bool writer = options.mode == OpenMode::Writer;
    if (writer) {
      auto l = WriterLock::acquire(path);
      if (!l) return fail(l.error());
      lock = std::move(*l);
    } else {
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0)
        return fail(ErrorKind::NotFound, "database " + path + " does not exist");
    }
    const int flags = writer ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX)
                             : (SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
    if (auto r = db.open(path, flags, options.vfs); !r) return r;
    sqlite3_extended_result_codes(db.handle(), 1);
    sqlite3_busy_timeout(db.handle(), static_cast<int>(options.busy_timeout.count()));
    if (writer) {
      if (auto r = pragma("PRAGMA journal_mode = WAL", "wal"); !r) return r;
      if (auto r = pragma("PRAGMA synchronous = FULL"); !r) return r;
    } else {
      if (auto r = pragma("PRAGMA query_only = ON"); !r) return r;
    }
    if (auto r = pragma("PRAGMA foreign_keys = ON"); !r) return r;
    if (options.max_page_count) {
      if (auto r = pragma("PRAGMA max_page_count = " + std::to_string(*options.max_page_count)); !r) return r;
    }
    if (options.integrity_check != IntegrityCheck::Deferred) {
      if (auto r = check_integrity(options.integrity_check); !r) return r;
    }
    if (auto r = migrate(); !r) return r;
    if (writer && options.recover_in_flight) {
      auto tx = Transaction::begin(db, "recovering in-flight operations");
      if (!tx) return fail(tx.error());
      auto n = recover(now());
      if (!n) return fail(n.error());
      if (auto r = tx->commit("recovering in-flight operations"); !r) return r;
      if (*n > 0) log::warn("store.recovered_in_flight", {{"path", path}, {"operations", *n}});
    }
    return ok();
  }
};

// ---- the store's smaller files (store_access.hpp) ----------------------------------------------

detail::Db& detail::StoreAccess::db(Store& store) { return store.impl_->db; }
const Clock& detail::StoreAccess::clock(Store& store) { return *store.impl_->clock; }

// ---- Store ---------------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

Result<Store> Store::open(const std::string& path, const Clock& clock, OpenOptions options) {
  try {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->clock = &clock;
    impl->options = std::move(options);
    if (auto r = impl->open(); !r) {
      log::error("store.open_failed", {{"path", path}, {"error", r.error().describe()}});
      return fail(r.error());
    }
    return Store(std::move(impl));
  } catch (const std::exception& e) {
    return fail(ErrorKind::Internal, std::string("opening the store: ") + e.what());
  }
}

const std::string& Store::path() const { return impl_->path; }
bool Store::read_only() const { return impl_->options.mode == OpenMode::ReadOnly; }
int Store::schema_version() const { return impl_->version; }

Status Store::check_integrity(IntegrityCheck kind) {
  try {
    return impl_->check_integrity(kind);
  } catch (const std::exception& e) {
    return fail(ErrorKind::Internal, std::string("checking integrity: ") + e.what());
  }
}

Status Store::write(const std::function<Status(WriteTx&)>& fn) {
  if (read_only()) return fail(ErrorKind::FailedPrecondition, "the store is open read-only");
  if (impl_->in_write) {
    return fail(ErrorKind::FailedPrecondition,
                "write() called inside write(): use the WriteTx you were given");
  }
  try {
    auto tx = Transaction::begin(impl_->db, "starting a write");
    if (!tx) return fail(tx.error());
    impl_->in_write = true;
    WriteTx w(*this);
    Status s = fn(w);
    impl_->in_write = false;
    if (!s) return s;  // ~Transaction rolls back
    return tx->commit("committing");
  } catch (const std::exception& e) {
    impl_->in_write = false;
    return fail(ErrorKind::Internal, std::string("write failed: ") + e.what());
  }
}

namespace {
// Wraps a Result-returning write in Store::write.
template <class T, class F>
Result<T> write_value(Store& store, F&& f) {
  std::optional<T> value;
  auto s = store.write([&](WriteTx& tx) -> Status {
    auto r = f(tx);
    if (!r) return fail(r.error());
    value = std::move(*r);
    return ok();
  });
  if (!s) return fail(s.error());
  return std::move(*value);
}
}  // namespace

Status WriteTx::persist_sale(const pos::Sale& sale) { return store_.impl_->persist_sale(sale); }
Status WriteTx::update_sale_state(std::string_view id, pos::SaleState to) {
  return store_.impl_->update_sale_state(id, to);
}
Status WriteTx::create_attempt(const pos::PaymentAttempt& a) { return store_.impl_->create_attempt(a); }
Status WriteTx::update_attempt(const AttemptUpdate& u) { return store_.impl_->update_attempt(u); }
Result<std::int64_t> WriteTx::enqueue_operation(const pos::OutboxOperation& op) {
  return store_.impl_->enqueue_operation(op);
}
Status WriteTx::complete_operation(std::int64_t id, const OperationOutcome& o) {
  return store_.impl_->complete_operation(id, o);
}
Status WriteTx::fail_operation(std::int64_t id, const OperationFailure& f) {
  return store_.impl_->fail_operation(id, f);
}
Status WriteTx::dead_operation(std::int64_t id, const OperationFailure& f) {
  return store_.impl_->dead_operation(id, f);
}
Status WriteTx::retry_operation(std::int64_t id, std::string_view actor, std::string_view reason) {
  return store_.impl_->retry_operation(id, actor, reason);
}
Result<WebhookSeen> WriteTx::record_webhook_event(const WebhookEvent& e) {
  return store_.impl_->record_webhook_event(e);
}
Status WriteTx::mark_webhook_processed(std::string_view id, std::string_view result) {
  return store_.impl_->mark_webhook_processed(id, result);
}
Result<std::int64_t> WriteTx::append_audit(const AuditEntry& e) { return store_.impl_->append_audit(e); }
Status WriteTx::resolve_attention(std::int64_t id, std::string_view actor, std::string_view resolution) {
  return store_.impl_->resolve_attention(id, actor, resolution);
}

Result<std::int64_t> WriteTx::enqueue_email_receipt(std::string_view sale_id, std::string_view address,
                                                    std::string_view body) {
  return store_.impl_->enqueue_email_receipt(sale_id, address, body);
}
Status WriteTx::mark_email_sent(std::int64_t id) { return store_.impl_->mark_email_sent(id); }
Status WriteTx::mark_email_failed(std::int64_t id, std::string_view error, bool permanent) {
  return store_.impl_->mark_email_failed(id, error, permanent);
}
Status WriteTx::requeue_email_receipt(std::int64_t id, std::string_view actor, std::string_view reason) {
  return store_.impl_->requeue_email_receipt(id, actor, reason);
}

Result<std::int64_t> Store::enqueue_email_receipt(std::string_view sale_id, std::string_view address,
                                                  std::string_view body) {
  return write_value<std::int64_t>(*this,
                                   [&](WriteTx& tx) { return tx.enqueue_email_receipt(sale_id, address, body); });
}
Status Store::mark_email_sent(std::int64_t id) {
  return write([&](WriteTx& tx) { return tx.mark_email_sent(id); });
}
Status Store::mark_email_failed(std::int64_t id, std::string_view error, bool permanent) {
  return write([&](WriteTx& tx) { return tx.mark_email_failed(id, error, permanent); });
}
Status Store::requeue_email_receipt(std::int64_t id, std::string_view actor, std::string_view reason) {
  return write([&](WriteTx& tx) { return tx.requeue_email_receipt(id, actor, reason); });
}

Status Store::persist_sale(const pos::Sale& sale) {
  return write([&](WriteTx& tx) { return tx.persist_sale(sale); });
}
Status Store::update_sale_state(std::string_view id, pos::SaleState to) {
  return write([&](WriteTx& tx) { return tx.update_sale_state(id, to); });
}
Status Store::create_attempt(const pos::PaymentAttempt& a) {
  return write([&](WriteTx& tx) { return tx.create_attempt(a); });
}
Status Store::update_attempt(const AttemptUpdate& u) {
  return write([&](WriteTx& tx) { return tx.update_attempt(u); });
}
Result<std::int64_t> Store::enqueue_operation(const pos::OutboxOperation& op) {
  return write_value<std::int64_t>(*this, [&](WriteTx& tx) { return tx.enqueue_operation(op); });
}
Status Store::complete_operation(std::int64_t id, const OperationOutcome& o) {
  return write([&](WriteTx& tx) { return tx.complete_operation(id, o); });
}
Status Store::fail_operation(std::int64_t id, const OperationFailure& f) {
  return write([&](WriteTx& tx) { return tx.fail_operation(id, f); });
}
Status Store::dead_operation(std::int64_t id, const OperationFailure& f) {
  return write([&](WriteTx& tx) { return tx.dead_operation(id, f); });
}
Status Store::retry_operation(std::int64_t id, std::string_view actor, std::string_view reason) {
  return write([&](WriteTx& tx) { return tx.retry_operation(id, actor, reason); });
}
Result<WebhookSeen> Store::record_webhook_event(const WebhookEvent& e) {
  return write_value<WebhookSeen>(*this, [&](WriteTx& tx) { return tx.record_webhook_event(e); });
}
Status Store::mark_webhook_processed(std::string_view id, std::string_view result) {
  return write([&](WriteTx& tx) { return tx.mark_webhook_processed(id, result); });
}
Result<std::int64_t> Store::append_audit(const AuditEntry& e) {
  return write_value<std::int64_t>(*this, [&](WriteTx& tx) { return tx.append_audit(e); });
}
Status Store::resolve_attention(std::int64_t id, std::string_view actor, std::string_view resolution) {
  return write([&](WriteTx& tx) { return tx.resolve_attention(id, actor, resolution); });
}

Result<std::vector<pos::OutboxOperation>> Store::claim_due_operations(Timestamp now, int limit) {
  if (limit <= 0) return std::vector<pos::OutboxOperation>{};
  return write_value<std::vector<pos::OutboxOperation>>(
      *this, [&](WriteTx&) { return impl_->claim_due(now, limit); });
}

Result<int> Store::recover_in_flight() {
  return write_value<int>(*this, [&](WriteTx&) { return impl_->recover(impl_->now()); });
}

// ---- reads -----------------------------------------------------------------------------------------

Result<pos::Sale> Store::get_sale(std::string_view id) { return impl_->get_sale(id); }

Result<pos::PaymentAttempt> Store::get_attempt(std::string_view id) {
  return impl_->one_attempt("id = ?", id, "id " + std::string(id));
}

Result<pos::PaymentAttempt> Store::attempt_by_idempotency_key(std::string_view key) {
  return impl_->one_attempt("idempotency_key = ?", key, "that idempotency key");
}

Result<std::optional<pos::PaymentAttempt>> Store::attempt_by_payment_intent(std::string_view pi) {
  if (pi.empty()) return std::optional<pos::PaymentAttempt>();
  auto a = impl_->one_attempt("payment_intent_id = ?", pi, "payment intent " + std::string(pi));
  if (a) return std::optional<pos::PaymentAttempt>(std::move(*a));
  if (a.error().kind == ErrorKind::NotFound) return std::optional<pos::PaymentAttempt>();
  return fail(a.error());
}

Result<pos::OutboxOperation> Store::get_operation(std::int64_t id) { return impl_->get_operation(id); }

Result<std::vector<pos::PaymentAttempt>> Store::attempts_for_sale(std::string_view sale_id) {
  return impl_->query<pos::PaymentAttempt>(
      sql("SELECT ", kAttemptColumns, " FROM payment_attempts WHERE sale_id = ? ORDER BY number"),
      "reading a sale's attempts", [this](const Stmt& st) { return impl_->attempt_from_row(st, true); },
      sale_id);
}

Result<std::vector<pos::OutboxOperation>> Store::operations_for_sale(std::string_view sale_id) {
  return impl_->query<pos::OutboxOperation>(
      sql("SELECT ", kOpColumns, " FROM outbox_operations WHERE sale_id = ? ORDER BY id"),
      "reading a sale's operations", [this](const Stmt& st) { return impl_->op_from_row(st, true); },
      sale_id);
}

Result<std::vector<pos::Sale>> Store::sales_between(Timestamp from, Timestamp to) {
  auto heads = impl_->query<pos::Sale>(
      sql("SELECT ", kSaleColumns,
          " FROM sales WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id"),
      "reading sales by day", Impl::sale_from_row, from, to);
  if (!heads) return fail(heads.error());
  std::vector<pos::Sale> out;
  out.reserve(heads->size());
  for (auto& h : *heads) {
    auto s = impl_->complete_sale(std::move(h));
    if (!s) return fail(s.error());
    out.push_back(std::move(*s));
  }
  return out;
}

Result<std::optional<WebhookEvent>> Store::get_webhook_event(std::string_view id) {
  auto rows = impl_->query<WebhookEvent>(
      "SELECT id, type, account, payload_sha256, received_at, processed, result FROM webhook_events WHERE id "
      "= ?",
      "reading a webhook event",
      [](const Stmt& st) -> Result<WebhookEvent> {
        return WebhookEvent{st.text(0), st.text(1),     st.text(2), st.text(3),
                            st.time(4), st.i64(5) != 0, st.text(6)};
      },
      id);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return std::optional<WebhookEvent>();
  return std::optional<WebhookEvent>(std::move(rows->front()));
}

Result<std::vector<AuditEntry>> Store::audit_entries(std::int64_t after_id, int limit) {
  return impl_->query<AuditEntry>(
      "SELECT id, at, actor, action, subject, detail FROM audit_log WHERE id > ? ORDER BY id LIMIT ?",
      "reading the audit log",
      [](const Stmt& st) -> Result<AuditEntry> {
        return AuditEntry{st.i64(0), st.time(1), st.text(2), st.text(3), st.text(4), st.text(5)};
      },
      after_id, static_cast<std::int64_t>(limit));
}

Result<std::vector<AttentionItem>> Store::attention_items(bool include_resolved) {
  return impl_->query<AttentionItem>(
      sql("SELECT ", kAttentionColumns, " FROM attention_items WHERE ? OR resolved_at IS NULL ORDER BY id"),
      "reading the attention list",
      [](const Stmt& st) -> Result<AttentionItem> { return Impl::attention_from_row(st); }, include_resolved);
}

Result<StatusSnapshot> Store::status() {
  StatusSnapshot s;
  for (auto st : {pos::OutboxState::Pending, pos::OutboxState::InFlight, pos::OutboxState::Done,
                  pos::OutboxState::FailedRetryable, pos::OutboxState::Dead}) {
    s.operations[st] = 0;
  }
  for (auto st :
       {pos::AttemptState::Collecting, pos::AttemptState::StoredOffline, pos::AttemptState::Submitting,
        pos::AttemptState::InDoubt, pos::AttemptState::Approved, pos::AttemptState::Declined,
        pos::AttemptState::DeclinedAfterForward, pos::AttemptState::Canceled}) {
    s.attempts[st] = 0;
  }
  using Count = std::pair<std::string, std::int64_t>;
  const auto count_row = [](const Stmt& st) -> Result<Count> { return Count{st.text(0), st.i64(1)}; };
  auto ops = impl_->query<Count>("SELECT state, COUNT(*) FROM outbox_operations GROUP BY state",
                                 "counting operations", count_row);
  if (!ops) return fail(ops.error());
  for (const auto& [name, n] : *ops) {
    if (auto st = pos::parse_outbox_state(name)) s.operations[*st] = n;
  }
  auto atts = impl_->query<Count>("SELECT state, COUNT(*) FROM payment_attempts GROUP BY state",
                                  "counting attempts", count_row);
  if (!atts) return fail(atts.error());
  for (const auto& [name, n] : *atts) {
    if (auto st = pos::parse_attempt_state(name)) s.attempts[*st] = n;
  }
  auto oldest = impl_->query<std::optional<Timestamp>>(
      "SELECT MIN(created_at) FROM outbox_operations WHERE state IN ('pending', 'failed_retryable', "
      "'in_flight')",
      "finding the oldest unsent operation",
      [](const Stmt& st) -> Result<std::optional<Timestamp>> { return st.opt_time(0); });
  if (!oldest) return fail(oldest.error());
  if (!oldest->empty() && oldest->front()) {
    s.oldest_unsent_created_at = oldest->front();
    s.oldest_unsent_age = impl_->now() - *oldest->front();
  }
  // Taken offline and not yet answered by Stripe: still stored, or being forwarded (the engine
  // marks the attempt submitting before it sends; a send that fails leaves it there), or in doubt.
  // All of it is exposure under the offline risk caps until Stripe's answer is recorded.
  auto offline = impl_->query<CurrencyTotal>(
      "SELECT currency, COUNT(*), SUM(amount), MIN(created_at) FROM payment_attempts WHERE offline = 1 "
      "AND state IN ('stored_offline', 'submitting', 'in_doubt') "
      "GROUP BY currency ORDER BY currency",
      "totalling offline payments", [](const Stmt& st) -> Result<CurrencyTotal> {
        return CurrencyTotal{st.text(0), st.i64(1), st.i64(2), st.time(3)};
      });
  if (!offline) return fail(offline.error());
  s.offline_stored = std::move(*offline);
  auto doubt = impl_->query<pos::PaymentAttempt>(
      sql("SELECT ", kAttemptColumns, " FROM payment_attempts WHERE state = 'in_doubt' ORDER BY created_at"),
      "listing in-doubt attempts", [this](const Stmt& st) { return impl_->attempt_from_row(st, false); });
  if (!doubt) return fail(doubt.error());
  s.in_doubt = std::move(*doubt);
  auto dead = impl_->query<pos::OutboxOperation>(
      sql("SELECT ", kOpColumns, " FROM outbox_operations WHERE state = 'dead' ORDER BY id"),
      "listing dead operations", [this](const Stmt& st) { return impl_->op_from_row(st, false); });
  if (!dead) return fail(dead.error());
  s.dead = std::move(*dead);
  auto attention = attention_items(false);
  if (!attention) return fail(attention.error());
  s.attention = std::move(*attention);
  return s;
}

Result<std::vector<EmailReceipt>> Store::email_receipts(std::optional<EmailReceiptState> state, int limit) {
  const auto map = [this](const Stmt& st) { return impl_->email_from_row(st); };
  if (state) {
    return impl_->query<EmailReceipt>(
        sql("SELECT ", Impl::kEmailColumns, " FROM email_receipts WHERE state = ? ORDER BY id LIMIT ?"),
        "listing email receipts", map, to_string(*state), static_cast<std::int64_t>(limit));
  }
  return impl_->query<EmailReceipt>(sql("SELECT ", Impl::kEmailColumns, " FROM email_receipts ORDER BY id LIMIT ?"),
                                    "listing email receipts", map, static_cast<std::int64_t>(limit));
}

Result<std::vector<EmailReceipt>> Store::email_receipts_for_sale(std::string_view sale_id) {
  return impl_->query<EmailReceipt>(
      sql("SELECT ", Impl::kEmailColumns, " FROM email_receipts WHERE sale_id = ? ORDER BY id"),
      "listing a sale's email receipts", [this](const Stmt& st) { return impl_->email_from_row(st); }, sale_id);
}

Result<std::string> Store::sale_id_for_receipt_number(std::string_view receipt_number) {
  std::string_view q = receipt_number;
  while (!q.empty() && (q.front() == ' ' || q.front() == '\t')) q.remove_prefix(1);
  while (!q.empty() && (q.back() == ' ' || q.back() == '\t' || q.back() == '\n' || q.back() == '\r')) q.remove_suffix(1);
  if (q.empty()) return fail(ErrorKind::InvalidArgument, "no receipt number given");
  std::string lower(q);
  for (auto& c : lower) c = static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  const auto one_id = [](const Stmt& st) -> Result<std::string> { return st.text(0); };
  for (const std::string& exact : {std::string(q), lower}) {
    auto rows = impl_->query<std::string>("SELECT id FROM sales WHERE id = ?", "finding a sale by receipt number",
                                          one_id, exact);
    if (!rows) return fail(rows.error());
    if (!rows->empty()) return rows->front();
  }
  if (lower.size() < 8) {
    return fail(ErrorKind::InvalidArgument, "receipt number '" + std::string(q) +
                                                "' is too short: type at least its first 8 characters");
  }
  // A prefix: the primary key's index answers the range [prefix, prefix + 1).
  std::string upper = lower;
  if (static_cast<unsigned char>(upper.back()) == 0xFF) {
    return fail(ErrorKind::InvalidArgument, "receipt number '" + std::string(q) + "' is not printable text");
  }
  upper.back() = static_cast<char>(upper.back() + 1);
  auto rows = impl_->query<std::string>("SELECT id FROM sales WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                                        "finding a sale by receipt number", one_id, lower, upper);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return fail(ErrorKind::NotFound, "no sale with receipt number '" + std::string(q) + "'");
  if (rows->size() > 1) {
    return fail(ErrorKind::FailedPrecondition,
                "receipt number '" + std::string(q) + "' matches more than one sale: type more of it");
  }
  return rows->front();
}

Result<SaleRefunds> Store::sale_for_refund(std::string_view sale_id_or_receipt_number) {
  auto id = sale_id_for_receipt_number(sale_id_or_receipt_number);
  if (!id) return fail(id.error());
  auto sale = impl_->get_sale(*id);
  if (!sale) return fail(sale.error());
  auto attempts = impl_->query<pos::PaymentAttempt>(
      sql("SELECT ", kAttemptColumns, " FROM payment_attempts WHERE sale_id = ? ORDER BY number"),
      "reading a sale's attempts", [this](const Stmt& st) { return impl_->attempt_from_row(st, false); }, *id);
  if (!attempts) return fail(attempts.error());
  auto refunds = impl_->refund_operations(*id);
  if (!refunds) return fail(refunds.error());
  SaleRefunds out;
  out.sale = std::move(*sale);
  for (const auto& a : *attempts) {
    PaymentRefunds p = Impl::refunds_of(a, *refunds);
    out.captured += p.captured;
    out.refunded += p.refunded;
    out.refund_pending += p.refund_pending;
    out.refundable += p.refundable();
    out.payments.push_back(std::move(p));
  }
  for (auto& o : *refunds) o.body.clear();  // the amounts are above; bodies stay in the store
  out.refunds = std::move(*refunds);
  return out;
}

}  // namespace till::store
