#pragma once
// Shared by the store tests and the crash child: temporary directories, representative records
// and a raw SQLite handle for checks the Store API deliberately cannot do (tampering, triggers).

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "till/base/clock.hpp"
#include "till/pos/records.hpp"

namespace till::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "till-store-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A sale of `lines` lines with consistent totals (10 % tax, exclusive), keyed by `n` so the
// contents are predictable: the crash test recomputes them.
inline pos::Sale make_sale(const std::string& id, int lines = 5, std::int64_t n = 1, Timestamp at = {}) {
  pos::Sale s;
  s.id = id;
  s.register_id = "reg-1";
  s.account_id = "acct_1TestMerchant";
  s.currency = "usd";
  s.state = pos::SaleState::Tendering;
  s.customer_contact = "customer@example.com";
  s.created_at = at;
  s.updated_at = at;
  pos::TaxLine tax{"standard", 100'000, 0, 0};
  for (int i = 0; i < lines; ++i) {
    pos::SaleLine l;
    l.product_id = "prod-" + std::to_string(i);
    l.sku = "SKU" + std::to_string(1000 + i);
    l.name = "Item " + std::to_string(i);
    l.quantity = 1 + (n + i) % 3;
    l.unit_price = 100 + 37 * ((n * 7 + i) % 50);
    l.discount = i == 0 ? 10 : 0;
    l.tax_code = "standard";
    l.tax_rate_ppm = 100'000;
    l.net = l.quantity * l.unit_price - l.discount;
    l.tax = (l.net * 100'000 + 500'000) / 1'000'000;
    l.gross = l.net + l.tax;
    s.lines.push_back(l);
    s.subtotal += l.net;
    s.discount_total += l.discount;
    s.tax_total += l.tax;
    tax.net += l.net;
    tax.tax += l.tax;
  }
  if (lines > 0) s.taxes.push_back(tax);
  s.tip = 0;
  s.total = s.subtotal + s.tax_total + s.tip;
  return s;
}

inline pos::PaymentAttempt make_attempt(const std::string& id, const std::string& sale_id, int number = 1) {
  pos::PaymentAttempt a;
  a.id = id;
  a.sale_id = sale_id;
  a.number = number;
  a.amount = 1234;
  a.currency = "usd";
  a.account_id = "acct_1TestMerchant";
  a.idempotency_key = "key-" + id;
  return a;
}

inline pos::OutboxOperation make_op(const std::string& key, const std::string& sale_id,
                                    const std::string& attempt_id = {}) {
  pos::OutboxOperation o;
  o.kind = pos::OperationKind::CreatePaymentIntent;
  o.sale_id = sale_id;
  o.attempt_id = attempt_id;
  o.account_id = "acct_1TestMerchant";
  o.path = "/v1/payment_intents";
  o.body = "amount=1234&currency=usd&confirm=true&metadata[sale_id]=" + sale_id;
  o.idempotency_key = key;
  return o;
}

// A raw connection for tampering and trigger checks.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("sqlite3_open failed");
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  // SQLITE_OK or the error code; `error` gets SQLite's message.
  int exec(const std::string& sql, std::string* error = nullptr) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    if (error != nullptr) *error = msg != nullptr ? msg : "";
    sqlite3_free(msg);
    return rc;
  }
  // First column of the first row, as text ("" when none).
  std::string scalar(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      out = t != nullptr ? t : "";
    }
    sqlite3_finalize(st);
    return out;
  }
  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace till::store::testing
