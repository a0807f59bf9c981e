// The shared rate limiter in PostgreSQL, the outbox's claims, and the sender against the
// in-process till-stripe-sim: a stored-offline card payment uploaded by a register ends as one
// PaymentIntent on the merchant's connected account, with the fee and metadata, exactly once.

#include <atomic>
#include <set>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "office_fixture.hpp"
#include "till/office/ingest.hpp"
#include "till/office/outbox.hpp"
#include "till/office/rate_bucket.hpp"
#include "till/office/sender.hpp"
#include "till/stripesim/server.hpp"

using namespace till;
using namespace till::office;
using till::office::test::OfficeDb;
using nlohmann::json;

namespace {

constexpr const char* kAccount = "acct_1TillMerchant00001";

class NoSleep final : public sync::Sleeper {
 public:
  boost::asio::awaitable<void> async_sleep(std::chrono::milliseconds d) override {
    slept += d;
    co_return;
  }
  std::chrono::milliseconds slept{0};
};

// The simulator, a client of it for the office, and a merchant on the simulator's account.
struct Stripe {
  explicit Stripe(OfficeDb& db, std::vector<stripesim::FaultSpec> faults = {}) {
    stripesim::ServerOptions o;
    o.sim.faults = std::move(faults);
    o.sim.rate_limit_test = 0;
    auto s = stripesim::Server::start(o);
    REQUIRE(s);
    server = std::move(*s);
    sync::StripeConfig config;
    config.http.base_url = server->base_url();
    config.api_key = Secret(o.sim.api_keys.front());
    config.app = sync::AppInfo{"Till", "0.1.0", "https://till.example", "pp_till_office"};
    sync::StripeClientDeps deps;
    deps.sleeper = &sleeper;
    // The shared bucket paces; the client's own limiter must never be the one that waits.
    deps.limiter = std::make_shared<sync::RateLimiter>(sync::RateLimiterConfig{1e6, 1e6}, db.clock);
    auto c = sync::StripeClient::create(io, config, deps);
    REQUIRE(c);
    client = std::move(*c);
    MerchantSpec m{"Sim merchant", kAccount, 30, 290, "automatic"};
    auto merchant = db.registry.add_merchant(m, "test");
    REQUIRE(merchant);
    StoreSpec st;
    st.merchant_id = merchant->id;
    st.name = "Sim store";
    st.currency = "usd";
    auto made = db.registry.add_store(st, "test");
    REQUIRE(made);
    store = *made;
  }
  ~Stripe() {
    client.reset();
    server->stop();
  }
  std::size_t ledger_count(const std::string& attempt_id) const {
    std::size_t n = 0;
    for (const auto& e : server->ledger()) {
      auto it = e.metadata.find("attempt_id");
      if (it != e.metadata.end() && it->second == attempt_id) ++n;
    }
    return n;
  }

  boost::asio::io_context io;
  NoSleep sleeper;
  std::unique_ptr<stripesim::Server> server;
  std::unique_ptr<sync::StripeClient> client;
  Store store;
};

json offline_batch(const RegisterIdentity& who, int first, int n, std::int64_t amount = 10'000,
                   const std::string& pm = "pm_test_visa") {
  json records = json::array();
  for (int i = first; i < first + n; ++i) {
    const std::string s = "s-" + std::to_string(i);
    records.push_back({{"kind", "sale"}, {"id", s}, {"created_at_ms", 1'790'000'000'000}, {"currency", "usd"},
                       {"subtotal", amount}, {"discount_total", 0}, {"tax_total", 0}, {"tip", 0}, {"total", amount},
                       {"lines", json::array()}});
    records.push_back({{"kind", "payment"}, {"id", "a-" + std::to_string(i)}, {"sale_id", s}, {"tender", "card"},
                       {"amount", amount}, {"currency", "usd"}, {"outcome", "stored_offline"},
                       {"taken_at_ms", 1'790'000'000'100}, {"payment_method", pm}});
  }
  return {{"register_id", who.register_id}, {"store_id", who.store_id}, {"records", records}};
}

void upload(OfficeDb& db, const RegisterIdentity& who, const json& b) {
  Ingest in(db.pool, db.clock);
  auto parsed = parse_batch(b.dump());
  REQUIRE(parsed);
  auto r = in.ingest(who, *parsed);
  REQUIRE(r);
  REQUIRE(r->refused == 0);
}

}  // namespace

TEST_CASE("the shared bucket hands out exactly burst + rate x time tokens, across offices and threads") {
  OfficeDb db(8);
  SharedBucketConfig c;
  c.max_rate = 10;
  c.burst = 5;
  // Two "offices": separate limiters over separate pools on one database.
  pg::Pool other_pool(pg::PoolConfig{db.conninfo, 4, std::chrono::milliseconds(10'000), "office-2"});
  SharedRateLimiter a(db.pool, db.clock, c);
  SharedRateLimiter b(other_pool, db.clock, c);
  REQUIRE(a.ensure("platform"));
  REQUIRE(b.ensure("platform"));
  std::mutex m;
  std::multiset<std::int64_t> waits;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto w = (t % 2 ? a : b).reserve("platform");
        REQUIRE(w);
        std::lock_guard lock(m);
        waits.insert(w->count());
      }
    });
  }
  for (auto& th : threads) th.join();
  // The clock did not move: 5 go at once, then one every 100 ms, each slot given once.
  std::multiset<std::int64_t> expected;
  for (int k = 1; k <= 40; ++k) expected.insert(k <= 5 ? 0 : (k - 5) * 100);
  CHECK(waits == expected);
}

TEST_CASE("the shared bucket refills with time and halves its rate on a 429, once per window") {
  OfficeDb db;
  SharedBucketConfig c;
  c.max_rate = 10;
  c.burst = 2;
  SharedRateLimiter lim(db.pool, db.clock, c);
  REQUIRE(lim.ensure("platform"));
  CHECK(lim.reserve("platform").value().count() == 0);
  CHECK(lim.reserve("platform").value().count() == 0);
  CHECK(lim.reserve("platform").value().count() == 100);
  db.clock.advance(std::chrono::seconds(10));
  CHECK(lim.reserve("platform").value().count() == 0);  // refilled, capped at burst
  REQUIRE(lim.on_rate_limited("platform"));
  REQUIRE(lim.on_rate_limited("platform"));  // same window: no second halving
  CHECK(lim.current_rate("platform").value() == Approx(5.0));
  db.clock.advance(std::chrono::seconds(2));
  REQUIRE(lim.reserve("platform"));
  CHECK(lim.current_rate("platform").value() == Approx(7.0));  // +1/s additive increase
  CHECK_FALSE(lim.reserve("nowhere"));
}

TEST_CASE("two offices claiming the outbox at once never get the same operation") {
  OfficeDb db(8);
  auto store = db.add_store();
  auto [who, credential] = db.enrolled_register(store);
  upload(db, who, offline_batch(who, 0, 30));
  Outbox outbox(db.pool, db.clock);
  std::mutex m;
  std::vector<std::int64_t> claimed;
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto ops = outbox.claim("office-" + std::to_string(t), 3, std::chrono::minutes(2));
        REQUIRE(ops);
        std::lock_guard lock(m);
        for (const auto& op : *ops) claimed.push_back(op.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::int64_t> unique(claimed.begin(), claimed.end());
  CHECK(unique.size() == claimed.size());
  CHECK(claimed.size() == 30);
  // A lapsed lease makes an operation due again; the old holder can no longer finish it.
  auto counts = outbox.counts();
  REQUIRE(counts);
  CHECK(counts->in_flight == 30);
  db.clock.advance(std::chrono::minutes(3));
  auto again = outbox.claim("office-new", 100, std::chrono::minutes(2));
  REQUIRE(again);
  CHECK(again->size() == 30);
  auto stale = outbox.finish_retry((*again)[0], "office-0", "late", db.clock.now());
  REQUIRE_FALSE(stale);
  CHECK(stale.error().kind == ErrorKind::FailedPrecondition);
}

TEST_CASE("a stored-offline card payment reaches the simulator once, on the merchant's account, with the fee") {
  OfficeDb db;
  Stripe stripe(db);
  auto [who, credential] = db.enrolled_register(stripe.store);
  upload(db, who, offline_batch(who, 0, 3));
  upload(db, who, offline_batch(who, 0, 3));  // a resend enqueues nothing more
  SharedRateLimiter limiter(db.pool, db.clock, SharedBucketConfig{});
  REQUIRE(limiter.ensure("platform"));
  Outbox outbox(db.pool, db.clock);
  SeededRandom random(5);
  Sender sender(outbox, limiter, *stripe.client, stripe.sleeper, db.clock, random, SenderConfig{"office-a"});
  auto pass = sender.run_once();
  REQUIRE(pass);
  CHECK(pass->claimed == 3);
  CHECK(pass->done == 3);
  for (int i = 0; i < 3; ++i) CHECK(stripe.ledger_count("a-" + std::to_string(i)) == 1);
  const auto ledger = stripe.server->ledger();
  REQUIRE(ledger.size() == 3);
  for (const auto& e : ledger) {
    CHECK(e.account == kAccount);
    CHECK(e.amount == 10'000);
    CHECK(e.application_fee_amount == 30 + 290);
    CHECK(e.status == "succeeded");
    CHECK(e.metadata.at("register_id") == who.register_id);
    CHECK(e.metadata.at("store_id") == who.store_id);
  }
  CHECK(db.count("SELECT count(*) FROM payments WHERE office_state = 'succeeded' AND stripe_payment_intent LIKE 'pi_%'") ==
        3);
  CHECK(db.count("SELECT count(*) FROM stripe_operations WHERE state = 'done' AND request_id <> ''") == 3);
  auto idle = sender.run_once();
  REQUIRE(idle);
  CHECK(idle->claimed == 0);
}

TEST_CASE("a decline after forwarding is final; a lost answer is retried with the same key and charges once") {
  OfficeDb db;
  // The simulator commits the first PaymentIntent and drops the answer.
  Stripe stripe(db, {stripesim::parse_fault("lost_after_commit:n=1").value()});
  auto [who, credential] = db.enrolled_register(stripe.store);
  upload(db, who, offline_batch(who, 0, 1));
  upload(db, who, offline_batch(who, 1, 1, 10'000, "pm_test_chargeDeclined"));
  SharedRateLimiter limiter(db.pool, db.clock, SharedBucketConfig{});
  REQUIRE(limiter.ensure("platform"));
  Outbox outbox(db.pool, db.clock);
  SeededRandom random(5);
  Sender sender(outbox, limiter, *stripe.client, stripe.sleeper, db.clock, random, SenderConfig{"office-a"});
  // The client's in-call retries resend with the same key; the simulator replays the result.
  for (int i = 0; i < 5; ++i) {
    auto pass = sender.run_once();
    REQUIRE(pass);
    db.clock.advance(std::chrono::minutes(15));
  }
  CHECK(stripe.ledger_count("a-0") == 1);
  CHECK(db.count("SELECT count(*) FROM payments WHERE id = 'a-0' AND office_state = 'succeeded'") == 1);
  CHECK(db.count("SELECT count(*) FROM payments WHERE id = 'a-1' AND office_state = 'failed'") == 1);
  CHECK(db.count("SELECT count(*) FROM stripe_operations WHERE state = 'done'") == 2);
}

TEST_CASE("two office senders drain one outbox together and every payment is charged exactly once") {
  OfficeDb db(10);
  Stripe stripe(db, {stripesim::parse_fault("unavailable:p=0.2").value()});
  auto [who, credential] = db.enrolled_register(stripe.store);
  upload(db, who, offline_batch(who, 0, 40));
  SharedRateLimiter limiter(db.pool, db.clock, SharedBucketConfig{});
  REQUIRE(limiter.ensure("platform"));
  Outbox outbox(db.pool, db.clock);
  // A second office: its own client of the simulator, its own io_context and thread.
  boost::asio::io_context io2;
  sync::StripeConfig config;
  config.http.base_url = stripe.server->base_url();
  config.api_key = Secret("sk_test_till_sim_platform_key");
  NoSleep sleeper2;
  sync::StripeClientDeps deps;
  deps.sleeper = &sleeper2;
  deps.limiter = std::make_shared<sync::RateLimiter>(sync::RateLimiterConfig{1e6, 1e6}, db.clock);
  auto client2 = sync::StripeClient::create(io2, config, deps);
  REQUIRE(client2);
  SeededRandom r1(1), r2(2);
  Sender a(outbox, limiter, *stripe.client, stripe.sleeper, db.clock, r1, SenderConfig{"office-a", "platform", 4});
  Sender b(outbox, limiter, **client2, sleeper2, db.clock, r2, SenderConfig{"office-b", "platform", 4});
  for (int round = 0; round < 30; ++round) {
    std::thread tb([&] { (void)b.run_once(); });
    (void)a.run_once();
    tb.join();
    db.clock.advance(std::chrono::minutes(11));
    auto c = outbox.counts();
    REQUIRE(c);
    if (c->done == 40) break;
  }
  client2->reset();
  CHECK(db.count("SELECT count(*) FROM stripe_operations WHERE state = 'done'") == 40);
  for (int i = 0; i < 40; ++i) {
    INFO(i);
    CHECK(stripe.ledger_count("a-" + std::to_string(i)) == 1);
  }
  CHECK(db.count("SELECT count(*) FROM payments WHERE office_state = 'succeeded'") == 40);
}
