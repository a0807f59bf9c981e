// Sync drain throughput (issue 4): a register with a backlog of queued card sales drained by the
// sync engine against till-stripe-sim enforcing an account rate limit, at 0 ms and 50 ms of
// added latency per request. Prints sales/s, the share of 429 answers and the engine's peak RSS.
//
// Each configuration runs in its own process (so peak RSS is per run), and the simulator runs in
// a process of its own (so the RSS is the engine's, not the simulator's).
//
//   till_sync_drain_bench [--dir DIR] [--sales N] [--limit REQ_PER_S] [--client-rate REQ_PER_S]
//                         [--latencies 0,50] [--concurrency N]
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "till/base/clock.hpp"
#include "till/base/log.hpp"
#include "till/base/random.hpp"
#include "till/store/store.hpp"
#include "till/stripesim/server.hpp"
#include "till/sync/engine.hpp"
#include "till/sync/operations.hpp"
#include "till/sync/stripe_client.hpp"

namespace asio = boost::asio;
using namespace till;

namespace {

constexpr const char* kKey = "sk_test_till_sim_platform_key";
constexpr const char* kAccount = "acct_1TillMerchant00001";

struct Options {
  std::string dir = std::filesystem::temp_directory_path().string();
  int sales = 10'000;
  int limit = 100;
  double client_rate = 95;
  std::vector<int> latencies{0, 50};
  int concurrency = 8;
};

// The simulator in its own process; returns its pid and port. It stops when `stop_fd` closes.
pid_t start_sim(const Options& o, int latency_ms, std::uint16_t& port, int& stop_fd) {
  int to_parent[2];
  int from_parent[2];
  if (::pipe(to_parent) != 0 || ::pipe(from_parent) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(to_parent[0]);
    ::close(from_parent[1]);
    log::set_level(log::Level::Error);
    stripesim::ServerOptions so;
    so.sim.connected_accounts = {kAccount};
    so.sim.rate_limit_test = o.limit;  // the account's limit, enforced per second
    so.sim.rate_limit_live = o.limit;
    if (latency_ms > 0) {
      stripesim::FaultSpec f;
      f.kind = stripesim::FaultKind::Latency;
      f.latency = std::chrono::milliseconds(latency_ms);
      so.sim.faults = {f};  // neither p nor n: every request
    }
    auto server = stripesim::Server::start(so);
    if (!server) ::_exit(3);
    const std::uint16_t p = (*server)->port();
    if (::write(to_parent[1], &p, sizeof p) != sizeof p) ::_exit(4);
    char c;
    while (::read(from_parent[0], &c, 1) > 0) {
    }
    (*server)->stop();
    ::_exit(0);
  }
  ::close(to_parent[1]);
  ::close(from_parent[0]);
  if (::read(to_parent[0], &port, sizeof port) != sizeof port) return -1;
  ::close(to_parent[0]);
  stop_fd = from_parent[1];
  return pid;
}

pos::Sale make_sale(const std::string& id, std::int64_t total) {
  pos::Sale s;
  s.id = id;
  s.register_id = "reg-bench";
  s.account_id = kAccount;
  s.currency = "usd";
  s.state = pos::SaleState::Tendering;
  pos::SaleLine l;
  l.product_id = "p";
  l.sku = "SKU";
  l.name = "Item";
  l.net = total;
  l.unit_price = total;
  l.gross = total;
  s.lines.push_back(l);
  s.subtotal = total;
  s.total = total;
  return s;
}

// One configuration, in the calling (child) process. Prints one result line.
int run_one(const Options& o, int latency_ms) {
  log::set_level(log::Level::Error);
  std::uint16_t port = 0;
  int stop_fd = -1;
  const pid_t sim = start_sim(o, latency_ms, port, stop_fd);
  if (sim < 0) return 3;

  const std::string db = o.dir + "/till-sync-bench-" + std::to_string(::getpid()) + ".db";
  std::filesystem::remove(db);
  auto opened = store::Store::open(db, SystemClock::instance());
  if (!opened) {
    std::fprintf(stderr, "store: %s\n", opened.error().describe().c_str());
    return 3;
  }
  store::Store st = std::move(*opened);
  SeededRandom ids(11);
  sync::PaymentIntentOptions po;
  po.fee = sync::FeeRule{30, 290};
  const Timestamp now = SystemClock::instance().now();
  for (int base = 0; base < o.sales; base += 500) {
    auto w = st.write([&](store::WriteTx& tx) -> Status {
      for (int i = base; i < std::min(o.sales, base + 500); ++i) {
        std::int64_t amount = 500 + (i % 4000);
        while (amount % 100 == 1 || amount % 100 == 5 || amount % 100 == 55 || amount % 100 == 65 ||
               amount % 100 == 75) {
          ++amount;
        }
        pos::Sale s = make_sale(new_uuid_v4(ids), amount);
        if (auto r = tx.sales().persist(s); !r) return r;
        pos::PaymentAttempt a;
        a.id = new_uuid_v4(ids);
        a.sale_id = s.id;
        a.amount = amount;
        a.currency = "usd";
        a.account_id = kAccount;
        a.idempotency_key = new_uuid_v4(ids);
        a.state = pos::AttemptState::Submitting;
        a.payment_method = "pm_card_visa";
        if (auto r = tx.attempts().create(a); !r) return r;
        auto op = sync::make_payment_intent_operation(s, a, po, now);
        if (!op) return tl::unexpected(op.error());
        if (auto r = tx.outbox().enqueue(*op); !r) return tl::unexpected(r.error());
      }
      return ok();
    });
    if (!w) {
      std::fprintf(stderr, "seeding: %s\n", w.error().describe().c_str());
      return 3;
    }
  }

  asio::io_context io;
  sync::StripeConfig sc;
  sc.http.base_url = "http://127.0.0.1:" + std::to_string(port);
  sc.api_key = Secret(kKey);
  sc.app.version = TILL_VERSION;
  sync::RateLimiterConfig rc;
  rc.rate_per_second = o.client_rate;
  rc.burst = 10;
  auto limiter = std::make_shared<sync::RateLimiter>(rc, SystemClock::instance());
  auto client = sync::StripeClient::create(io, sc, sync::StripeClient::Deps{nullptr, nullptr, limiter, nullptr});
  if (!client) return 3;
  sync::EngineConfig ec;
  ec.concurrency = o.concurrency;
  ec.claim_batch = 32;
  ec.idle_poll = std::chrono::milliseconds(20);
  ec.rate_limited_retry = std::chrono::milliseconds(200);
  sync::Engine engine(st, **client, SystemClock::instance(), SystemRandom::instance(), ec);
  int done = 0;
  int reports = 0;
  int rate_limited = 0;
  int other = 0;
  engine.set_observer([&](const sync::OperationReport& r) {
    ++reports;
    if (r.rate_limited) ++rate_limited;
    if (r.outcome == sync::OperationReport::Outcome::Done) {
      ++done;
    } else if (!r.rate_limited) {
      ++other;
    }
    if (done == o.sales) engine.stop();
  });
  const auto t0 = std::chrono::steady_clock::now();
  asio::co_spawn(io, engine.async_run(), asio::detached);
  io.run();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  ::close(stop_fd);
  int status = 0;
  ::waitpid(sim, &status, 0);
  std::filesystem::remove(db);
  std::filesystem::remove(db + "-wal");
  std::filesystem::remove(db + "-shm");
  std::filesystem::remove(db + ".lock");
  std::printf(
      "latency %3d ms | %d sales in %6.1f s | %6.1f sales/s | requests %d | 429 %d (%.2f %%) | other failures %d | "
      "peak RSS %.1f MiB\n",
      latency_ms, done, secs, done / secs, reports, rate_limited, 100.0 * rate_limited / std::max(reports, 1), other,
      static_cast<double>(ru.ru_maxrss) / 1024.0);
  std::fflush(stdout);
  return done == o.sales ? 0 : 1;
}

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (a == "--version") {
      std::printf("till_sync_drain_bench %s\n", TILL_VERSION);
      return 0;
    } else if (a == "--dir") {
      o.dir = next();
    } else if (a == "--sales") {
      o.sales = std::atoi(next().c_str());
    } else if (a == "--limit") {
      o.limit = std::atoi(next().c_str());
    } else if (a == "--client-rate") {
      o.client_rate = std::atof(next().c_str());
    } else if (a == "--latencies") {
      o.latencies = parse_list(next());
    } else if (a == "--concurrency") {
      o.concurrency = std::atoi(next().c_str());
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  std::printf("sync drain: %d queued sales, simulator limit %d req/s, client pacing %.0f req/s, concurrency %d\n",
              o.sales, o.limit, o.client_rate, o.concurrency);
  std::fflush(stdout);
  int rc = 0;
  for (int latency : o.latencies) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(run_one(o, latency));
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
  }
  return rc;
}
