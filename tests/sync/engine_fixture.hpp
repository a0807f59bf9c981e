#pragma once
// The sync engine on the SQLite store against an in-process till-stripe-sim (sim_fixture.hpp),
// sharing one FakeClock with the store and the simulator so backoff, the key-retention margin and
// the simulator's key pruning are all driven by the test, never by waiting.

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
#include "sim_fixture.hpp"
#include "till/store/store.hpp"
#include "till/stripesim/server.hpp"
#include "till/sync/engine.hpp"
#include "till/sync/operations.hpp"
#include "till/sync/stripe_client.hpp"

namespace till::sync::testing {

inline constexpr const char* kDataKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

inline store::DataKey test_data_key() {
  auto k = store::DataKey::from_hex(kDataKeyHex);
  if (!k) throw std::runtime_error("bad test data key");
  return *k;
}

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
    sim = start_sim(clock, o.sim);

    db_path = dir.file("till.db");
    open_store();

    client = make_client(io, *sim, clock, random, sleeper, limiter, o.max_retries, o.client_rate);
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
    Queued q = make_payment(spec, ids, clock.now(), number);
    if (auto r = store->sales().persist(q.sale); !r) throw std::runtime_error(r.error().describe());
    if (auto r = store->attempts().create(q.attempt); !r) throw std::runtime_error(r.error().describe());
    auto id = store->outbox().enqueue(payment_operation(q, spec, clock.now()));
    if (!id) throw std::runtime_error(id.error().describe());
    q.op_id = *id;
    return q;
  }

  DrainSummary drain() { return run_blocking(io, engine->async_drain_once()); }

  pos::PaymentAttempt attempt(const Queued& q) { return store->attempts().get(q.attempt.id).value(); }
  pos::Sale sale(const Queued& q) { return store->sales().get(q.sale.id).value(); }
  pos::OutboxOperation op(std::int64_t id) { return store->outbox().get(id).value(); }

  std::vector<stripesim::LedgerEntry> ledger_for(const std::string& sale_id) const {
    return sim_ledger_for(*sim, sale_id);
  }
};

}  // namespace till::sync::testing
