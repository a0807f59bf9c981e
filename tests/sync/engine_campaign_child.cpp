// The exactly-once campaign's child process: the sync engine draining a database against a
// till-stripe-sim at --api-base, printing "done <operation id>" for every operation it
// completes. The parent SIGKILLs it at random moments and restarts it.
//
//   till_sync_campaign_child --db PATH --api-base URL [--clock-offset-ms N] [--stall-ms N]
//
// Exits 0 once nothing is left to send, 3 when nothing completed for --stall-ms (operations
// waiting on something only time will change, e.g. a 500 replayed under its key until the key
// is pruned), 2 on a usage or set-up error.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "till/base/clock.hpp"
#include "till/base/log.hpp"
#include "till/base/random.hpp"
#include "till/store/store.hpp"
#include "till/sync/engine.hpp"
#include "till/sync/stripe_client.hpp"

namespace asio = boost::asio;
using namespace till;

namespace {

constexpr const char* kDataKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

// The system clock moved by a fixed offset: the campaign's last phase runs "25 hours later".
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(std::chrono::milliseconds offset) : offset_(offset) {}
  Timestamp now() const override { return SystemClock::instance().now() + offset_; }

 private:
  std::chrono::milliseconds offset_;
};

// In-call retry waits shortened so a campaign runs in seconds; the order of events is the same.
class ShortSleeper final : public sync::Sleeper {
 public:
  explicit ShortSleeper(asio::io_context& io) : io_(io) {}
  asio::awaitable<void> async_sleep(std::chrono::milliseconds d) override {
    asio::steady_timer t(io_, std::min(d, std::chrono::milliseconds(20)));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }

 private:
  asio::io_context& io_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string db;
  std::string api_base;
  long long offset_ms = 0;
  long long stall_ms = 5000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--db") db = argv[i + 1];
    else if (k == "--api-base") api_base = argv[i + 1];
    else if (k == "--clock-offset-ms") offset_ms = std::atoll(argv[i + 1]);
    else if (k == "--stall-ms") stall_ms = std::atoll(argv[i + 1]);
  }
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("till_sync_campaign_child %s\n", TILL_VERSION);
    return 0;
  }
  if (db.empty() || api_base.empty()) {
    std::fprintf(stderr, "usage: %s --db PATH --api-base URL [--clock-offset-ms N] [--stall-ms N]\n", argv[0]);
    return 2;
  }
  log::set_level(log::Level::Error);
  OffsetClock clock{std::chrono::milliseconds(offset_ms)};

  store::OpenOptions oo;
  oo.data_key = store::DataKey::from_hex(kDataKeyHex).value();
  auto opened = store::Store::open(db, clock, oo);
  if (!opened) {
    std::fprintf(stderr, "store: %s\n", opened.error().describe().c_str());
    return 2;
  }
  store::Store st = std::move(*opened);

  asio::io_context io;
  ShortSleeper sleeper(io);
  sync::StripeConfig sc;
  sc.http.base_url = api_base;
  sc.http.connect_timeout = std::chrono::milliseconds(2000);
  sc.http.read_timeout = std::chrono::milliseconds(2000);
  sc.http.total_timeout = std::chrono::milliseconds(3000);
  sc.api_key = Secret("sk_test_till_sim_platform_key");
  sc.app.version = TILL_VERSION;
  sync::RateLimiterConfig rc;
  rc.rate_per_second = 300;
  rc.burst = 20;
  auto limiter = std::make_shared<sync::RateLimiter>(rc, clock);
  auto client = sync::StripeClient::create(io, sc, sync::StripeClient::Deps{nullptr, &sleeper, limiter, &clock});
  if (!client) {
    std::fprintf(stderr, "client: %s\n", client.error().describe().c_str());
    return 2;
  }

  sync::EngineConfig ec;
  ec.concurrency = 4;
  ec.backoff.first = std::chrono::milliseconds(40);
  ec.backoff.cap = std::chrono::milliseconds(300);
  ec.in_flight_retry = std::chrono::milliseconds(40);
  ec.rate_limited_retry = std::chrono::milliseconds(40);
  ec.max_attempts = 1'000'000;  // the campaign checks that nothing needs a person
  ec.idle_poll = std::chrono::milliseconds(20);
  sync::Engine engine(st, **client, clock, SystemRandom::instance(), ec);

  auto last_progress = std::chrono::steady_clock::now();
  engine.set_observer([&](const sync::OperationReport& r) {
    if (r.outcome == sync::OperationReport::Outcome::Done) {
      std::printf("done %lld\n", static_cast<long long>(r.operation_id));
      std::fflush(stdout);
      last_progress = std::chrono::steady_clock::now();
    }
  });

  int exit_code = 0;
  // Watches for "nothing left" and for a stall; runs on the same (core) thread as the engine.
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(io);
        for (;;) {
          t.expires_after(std::chrono::milliseconds(50));
          co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
          auto s = st.reports().status();
          if (!s) continue;
          const auto& ops = s->operations;
          const auto left = ops.at(pos::OutboxState::Pending) + ops.at(pos::OutboxState::InFlight) +
                            ops.at(pos::OutboxState::FailedRetryable);
          if (left == 0) {
            exit_code = 0;
            break;
          }
          if (std::chrono::steady_clock::now() - last_progress > std::chrono::milliseconds(stall_ms)) {
            exit_code = 3;
            break;
          }
        }
        engine.stop();
      },
      asio::detached);
  asio::co_spawn(io, engine.async_run(), asio::detached);
  io.run();
  return exit_code;
}
