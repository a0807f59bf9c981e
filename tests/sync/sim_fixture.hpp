#pragma once
// The store-free half of the engine tests: an in-process till-stripe-sim (127.0.0.1, ephemeral
// port) sharing one FakeClock with the test, a StripeClient to it, and the records a payment
// starts with. engine_fixture.hpp adds the SQLite store; memory_ledger.hpp an in-memory Ledger.

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/stripesim/server.hpp"
#include "till/sync/operations.hpp"
#include "till/sync/stripe_client.hpp"

namespace till::sync::testing {

inline constexpr const char* kKey = "sk_test_till_sim_platform_key";
inline constexpr const char* kAccount = "acct_1TillMerchant00001";
inline constexpr const char* kOtherAccount = "acct_1TillMerchant00002";
inline const FeeRule kFee{30, 290};  // 0.30 + 2.9 %

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "till-engine-XXXXXX").string();
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

// In-call retry waits and pacing waits return at once; the durations are recorded.
class RecordingSleeper final : public Sleeper {
 public:
  boost::asio::awaitable<void> async_sleep(std::chrono::milliseconds d) override {
    slept.push_back(d);
    co_return;
  }
  std::vector<std::chrono::milliseconds> slept;
};

struct Queued {
  pos::Sale sale;
  pos::PaymentAttempt attempt;
  std::int64_t op_id = 0;
};

inline pos::Sale make_sale(const std::string& id, const std::string& account, std::int64_t total, Timestamp at) {
  pos::Sale s;
  s.id = id;
  s.register_id = "reg-1";
  s.account_id = account;
  s.currency = "usd";
  s.state = pos::SaleState::Tendering;
  s.customer_contact = "customer@example.com";
  s.created_at = at;
  s.updated_at = at;
  pos::SaleLine l;
  l.product_id = "coffee";
  l.sku = "SKU-1";
  l.name = "Coffee";
  l.quantity = 1;
  l.tax_code = "standard";
  l.tax_rate_ppm = 100'000;
  l.net = total * 10 / 11;
  l.tax = total - l.net;
  l.unit_price = l.net;
  l.gross = total;
  s.lines.push_back(l);
  s.taxes.push_back(pos::TaxLine{"standard", 100'000, l.net, l.tax});
  s.subtotal = l.net;
  s.tax_total = l.tax;
  s.total = total;
  return s;
}

struct PaymentSpec {
  std::int64_t amount = 1250;
  std::string account = kAccount;
  std::string payment_method = "pm_card_visa";
  bool offline = false;
  std::string capture_method = "automatic";
};

// The simulator on loopback, sharing `clock`; `configure` may add faults.
inline std::unique_ptr<stripesim::Server> start_sim(FakeClock& clock,
                                                    const std::function<void(stripesim::ServerOptions&)>& configure) {
  stripesim::ServerOptions so;
  so.sim.clock = &clock;
  so.sim.connected_accounts = {kAccount, kOtherAccount};
  so.sim.rate_limit_live = 0;
  so.sim.rate_limit_test = 0;
  if (configure) configure(so);
  auto s = stripesim::Server::start(so);
  if (!s) throw std::runtime_error("simulator did not start: " + s.error().describe());
  return std::move(*s);
}

// A client to `sim` whose waits return at once (`sleeper`) and whose limiter runs on `clock`.
inline std::unique_ptr<StripeClient> make_client(boost::asio::io_context& io, const stripesim::Server& sim,
                                                 FakeClock& clock, Random& random, Sleeper& sleeper,
                                                 std::shared_ptr<RateLimiter>& limiter, int max_retries,
                                                 double rate) {
  StripeConfig sc;
  sc.http.base_url = sim.base_url();
  sc.http.read_timeout = std::chrono::milliseconds(5000);
  sc.http.total_timeout = std::chrono::milliseconds(5000);
  sc.api_key = Secret(kKey);
  sc.app.version = "0.0.0-test";
  sc.max_retries = max_retries;
  RateLimiterConfig rc;
  rc.rate_per_second = rate;
  rc.burst = rate;
  limiter = std::make_shared<RateLimiter>(rc, clock);
  auto c = StripeClient::create(io, sc, StripeClient::Deps{&random, &sleeper, limiter, &clock});
  if (!c) throw std::runtime_error("client: " + c.error().describe());
  return std::move(*c);
}

// A card attempt as the reducer creates it (submitting online, stored_offline offline), and its
// PaymentIntent operation, for a sale of spec.amount.
inline Queued make_payment(const PaymentSpec& spec, Random& ids, Timestamp now, int number = 1) {
  Queued q;
  q.sale = make_sale(new_uuid_v4(ids), spec.account, spec.amount, now);
  pos::PaymentAttempt& a = q.attempt;
  a.id = new_uuid_v4(ids);
  a.sale_id = q.sale.id;
  a.number = number;
  a.tender = pos::TenderKind::Card;
  a.state = spec.offline ? pos::AttemptState::StoredOffline : pos::AttemptState::Submitting;
  a.amount = spec.amount;
  a.currency = "usd";
  a.account_id = spec.account;
  a.idempotency_key = new_uuid_v4(ids);
  a.offline = spec.offline;
  a.payment_method = spec.payment_method;
  a.card.brand = "visa";
  a.card.last4 = "4242";
  a.created_at = now;
  return q;
}

inline pos::OutboxOperation payment_operation(const Queued& q, const PaymentSpec& spec, Timestamp now) {
  PaymentIntentOptions po;
  po.fee = kFee;
  po.capture_method = spec.capture_method;
  auto op = make_payment_intent_operation(q.sale, q.attempt, po, now);
  if (!op) throw std::runtime_error(op.error().describe());
  return *op;
}

// What the simulator's ledger holds for one sale: the judge of duplicates.
inline std::vector<stripesim::LedgerEntry> sim_ledger_for(const stripesim::Server& sim, const std::string& sale_id) {
  std::vector<stripesim::LedgerEntry> out;
  for (auto& e : sim.ledger()) {
    auto it = e.metadata.find("sale_id");
    if (it != e.metadata.end() && it->second == sale_id) out.push_back(e);
  }
  return out;
}

}  // namespace till::sync::testing
