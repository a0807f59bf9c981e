#pragma once
// The sync engine against an in-process till-stripe-sim (127.0.0.1, ephemeral port), sharing one
// FakeClock with the store and the simulator so backoff, the key-retention margin and the
// simulator's key pruning are all driven by the test, never by waiting.

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "till/base/clock.hpp"
#include "till/base/log.hpp"
#include "till/base/random.hpp"
#include "till/store/store.hpp"
#include "till/stripesim/server.hpp"
#include "till/sync/engine.hpp"
#include "till/sync/operations.hpp"
#include "till/sync/stripe_client.hpp"

namespace till::sync::testing {

inline constexpr const char* kKey = "sk_test_till_sim_platform_key";
inline constexpr const char* kAccount = "acct_1TillMerchant00001";
inline constexpr const char* kOtherAccount = "acct_1TillMerchant00002";
inline constexpr const char* kDataKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
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

inline store::DataKey test_data_key() {
  auto k = store::DataKey::from_hex(kDataKeyHex);
  if (!k) throw std::runtime_error("bad test data key");
  return *k;
}

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

struct EngineHarness {
  struct Options {
    std::function<void(stripesim::ServerOptions&)> sim{};
    std::function<void(EngineConfig&)> engine{};
    int max_retries = 0;  // the engine's durable retries are what most tests look at
    double client_rate = 1000.0;
  };

  FakeClock clock;
  TempDir dir;
  std::unique_ptr<stripesim::Server> sim;
  std::optional<store::Store> store;
  boost::asio::io_context io;
  RecordingSleeper sleeper;
  SeededRandom random{42};
  SeededRandom ids{4242};
  std::shared_ptr<RateLimiter> limiter;
  std::unique_ptr<StripeClient> client;
  std::unique_ptr<Engine> engine;
  std::vector<OperationReport> reports;
  EngineConfig engine_config;
  std::string db_path;

  EngineHarness() : EngineHarness(Options{}) {}
  explicit EngineHarness(const Options& o) {
    log::set_level(log::Level::Error);
    stripesim::ServerOptions so;
    so.sim.clock = &clock;
    so.sim.connected_accounts = {kAccount, kOtherAccount};
    so.sim.rate_limit_live = 0;
    so.sim.rate_limit_test = 0;
    if (o.sim) o.sim(so);
    auto s = stripesim::Server::start(so);
    if (!s) throw std::runtime_error("simulator did not start: " + s.error().describe());
    sim = std::move(*s);

    db_path = dir.file("till.db");
    open_store();

    StripeConfig sc;
    sc.http.base_url = sim->base_url();
    sc.http.read_timeout = std::chrono::milliseconds(5000);
    sc.http.total_timeout = std::chrono::milliseconds(5000);
    sc.api_key = Secret(kKey);
    sc.app.version = "0.0.0-test";
    sc.max_retries = o.max_retries;
    RateLimiterConfig rc;
    rc.rate_per_second = o.client_rate;
    rc.burst = o.client_rate;
    limiter = std::make_shared<RateLimiter>(rc, clock);
    auto c = StripeClient::create(io, sc, StripeClient::Deps{&random, &sleeper, limiter, &clock});
    if (!c) throw std::runtime_error("client: " + c.error().describe());
    client = std::move(*c);
    if (o.engine) o.engine(engine_config);
    make_engine();
  }

  void open_store() {
    store::OpenOptions oo;
    oo.data_key = test_data_key();
    auto st = store::Store::open(db_path, clock, oo);
    if (!st) throw std::runtime_error("store: " + st.error().describe());
    store.emplace(std::move(*st));
  }

  void make_engine() {
    engine = std::make_unique<Engine>(*store, *client, clock, random, engine_config);
    engine->set_observer([this](const OperationReport& r) { reports.push_back(r); });
  }

  // Closes and reopens the store (what a restart does), with a new engine.
  void restart() {
    engine.reset();
    store.reset();
    open_store();
    make_engine();
  }

  Queued queue(const PaymentSpec& spec = {}, int number = 1) {
    Queued q;
    q.sale = make_sale(new_uuid_v4(ids), spec.account, spec.amount, clock.now());
    if (auto r = store->sales().persist(q.sale); !r) throw std::runtime_error(r.error().describe());
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
    a.created_at = clock.now();
    if (auto r = store->attempts().create(a); !r) throw std::runtime_error(r.error().describe());
    PaymentIntentOptions po;
    po.fee = kFee;
    po.capture_method = spec.capture_method;
    auto op = make_payment_intent_operation(q.sale, a, po, clock.now());
    if (!op) throw std::runtime_error(op.error().describe());
    auto id = store->outbox().enqueue(*op);
    if (!id) throw std::runtime_error(id.error().describe());
    q.op_id = *id;
    return q;
  }

  DrainSummary drain() { return run_blocking(io, engine->async_drain_once()); }

  pos::PaymentAttempt attempt(const Queued& q) { return store->attempts().get(q.attempt.id).value(); }
  pos::Sale sale(const Queued& q) { return store->sales().get(q.sale.id).value(); }
  pos::OutboxOperation op(std::int64_t id) { return store->outbox().get(id).value(); }

  std::vector<stripesim::LedgerEntry> ledger_for(const std::string& sale_id) const {
    std::vector<stripesim::LedgerEntry> out;
    for (auto& e : sim->ledger()) {
      auto it = e.metadata.find("sale_id");
      if (it != e.metadata.end() && it->second == sale_id) out.push_back(e);
    }
    return out;
  }
};

}  // namespace till::sync::testing
