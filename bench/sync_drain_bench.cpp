// Sync drain throughput (issues 4 and 18): a backlog of queued card sales drained by the sync
// engine against till-stripe-sim enforcing an account rate limit (per second of its clock), at
// 0, 50 and 200 ms of added latency per request, by one register and by 100 registers whose
// clients share one rate limiter (as the office's one limiter per account does). Each client
// is told the account's limit (RateLimiterConfig::for_limit) and paces itself from it. Prints
// sales/s, the share of the limit used and of 429 answers (goals: >= 97 %, < 1 %) and the
// engine's peak RSS.
//
// Each configuration runs in its own process (so peak RSS is per run), and the simulator runs in
// a process of its own (so the RSS is the engine's, not the simulator's). At 200 ms a pace of
// ~100 req/s needs ~20 requests in flight, so one register runs 32 at once (the engine's
// default of 8 caps it at 40 req/s there); each of the 100 registers runs the default 8.
//
//   till_sync_drain_bench [--dir DIR] [--sales N] [--limit REQ_PER_S] [--client-rate REQ_PER_S]
//                         [--latencies 0,50,200] [--clients 1,100] [--concurrency N]
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
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
  double client_rate = 0;  // 0: paced from the limit (RateLimiterConfig::for_limit)
  std::vector<int> latencies{0, 50, 200};
  std::vector<int> clients{1, 100};
  int concurrency = 32;     // one register's
  int fleet_concurrency = 8;  // each register's when there are several (the engine's default)
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

// Seeds one register's store with `count` queued card sales.
bool seed(store::Store& st, int count, std::uint64_t seed_value) {
  SeededRandom ids(seed_value);
  sync::PaymentIntentOptions po;
  po.fee = sync::FeeRule{30, 290};
  const Timestamp now = SystemClock::instance().now();
  for (int base = 0; base < count; base += 500) {
    auto w = st.write([&](store::WriteTx& tx) -> Status {
      for (int i = base; i < std::min(count, base + 500); ++i) {
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
      return false;
    }
  }
  return true;
}

// One register: its store, client and engine. The limiter is shared by all of them.
struct Register {
  std::string db;
  std::optional<store::Store> store;
  std::unique_ptr<sync::StripeClient> client;
  std::unique_ptr<sync::Engine> engine;
  int target = 0;
  int done = 0;
};

// One configuration, in the calling (child) process. Prints one result line.
int run_one(const Options& o, int latency_ms, int clients) {
  log::set_level(log::Level::Error);
  std::uint16_t port = 0;
  int stop_fd = -1;
  const pid_t sim = start_sim(o, latency_ms, port, stop_fd);
  if (sim < 0) return 3;

  asio::io_context io;
  const sync::RateLimiterConfig rc = [&] {
    auto c = sync::RateLimiterConfig::for_limit(o.limit);
    if (o.client_rate > 0) c.rate_per_second = o.client_rate;
    return c;
  }();
  auto limiter = std::make_shared<sync::RateLimiter>(rc, SystemClock::instance());
  std::vector<Register> registers(static_cast<std::size_t>(clients));
  int total_done = 0;
  int reports = 0;
  int rate_limited = 0;
  int other = 0;
  int finished = 0;
  for (int k = 0; k < clients; ++k) {
    Register& r = registers[static_cast<std::size_t>(k)];
    r.target = o.sales / clients + (k < o.sales % clients ? 1 : 0);
    r.db = o.dir + "/till-sync-bench-" + std::to_string(::getpid()) + "-" + std::to_string(k) + ".db";
    std::filesystem::remove(r.db);
    auto opened = store::Store::open(r.db, SystemClock::instance());
    if (!opened) {
      std::fprintf(stderr, "store: %s\n", opened.error().describe().c_str());
      return 3;
    }
    r.store.emplace(std::move(*opened));
    if (!seed(*r.store, r.target, 11 + static_cast<std::uint64_t>(k))) return 3;
    sync::StripeConfig sc;
    sc.http.base_url = "http://127.0.0.1:" + std::to_string(port);
    sc.api_key = Secret(kKey);
    sc.app.version = TILL_VERSION;
    auto client = sync::StripeClient::create(io, sc, sync::StripeClient::Deps{nullptr, nullptr, limiter, nullptr});
    if (!client) return 3;
    r.client = std::move(*client);
    sync::EngineConfig ec;
    ec.concurrency = clients == 1 ? o.concurrency : o.fleet_concurrency;
    ec.claim_batch = 32;
    ec.idle_poll = std::chrono::milliseconds(20);
    ec.rate_limited_retry = std::chrono::milliseconds(200);
    r.engine = std::make_unique<sync::Engine>(*r.store, *r.client, SystemClock::instance(),
                                              SystemRandom::instance(), ec);
    r.engine->set_observer([&, k](const sync::OperationReport& rep) {
      Register& me = registers[static_cast<std::size_t>(k)];
      ++reports;
      if (rep.rate_limited) ++rate_limited;
      if (rep.outcome == sync::OperationReport::Outcome::Done) {
        ++me.done;
        ++total_done;
        if (me.done == me.target) {
          me.engine->stop();
          ++finished;
        }
      } else if (!rep.rate_limited) {
        ++other;
      }
    });
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& r : registers) {
    if (r.target == 0) {
      ++finished;
      continue;
    }
    asio::co_spawn(io, r.engine->async_run(), asio::detached);
  }
  io.run();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  ::close(stop_fd);
  int status = 0;
  ::waitpid(sim, &status, 0);
  for (auto& r : registers) {
    r.engine.reset();
    r.client.reset();
    r.store.reset();
    for (const char* suffix : {"", "-wal", "-shm", ".lock"}) std::filesystem::remove(r.db + suffix);
  }
  const double used = 100.0 * total_done / secs / o.limit;
  const double share_429 = 100.0 * rate_limited / std::max(reports, 1);
  std::printf(
      "%3d register%s | latency %3d ms | %d sales in %6.1f s | %6.1f sales/s | limit used %5.1f %% (goal >= 97 %%) | "
      "requests %d | 429 %d (%.2f %%, goal < 1 %%) | other failures %d | peak RSS %.1f MiB\n",
      clients, clients == 1 ? " " : "s", latency_ms, total_done, secs, total_done / secs, used, reports,
      rate_limited, share_429, other, static_cast<double>(ru.ru_maxrss) / 1024.0);
  std::fflush(stdout);
  return total_done == o.sales && finished == clients ? 0 : 1;
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
    } else if (a == "--clients") {
      o.clients = parse_list(next());
    } else if (a == "--concurrency") {
      o.concurrency = std::atoi(next().c_str());
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  std::printf(
      "sync drain: %d queued sales, simulator limit %d req/s, clients told the limit (pace %s), "
      "concurrency %d for one register, %d each for several, one shared rate limiter\n",
      o.sales, o.limit, o.client_rate > 0 ? (std::to_string(o.client_rate) + " req/s").c_str() : "98.5 % of it",
      o.concurrency, o.fleet_concurrency);
  std::fflush(stdout);
  int rc = 0;
  for (int clients : o.clients) {
    for (int latency : o.latencies) {
      const pid_t pid = ::fork();
      if (pid == 0) ::_exit(run_one(o, latency, std::max(1, clients)));
      int status = 0;
      ::waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
    }
  }
  return rc;
}
