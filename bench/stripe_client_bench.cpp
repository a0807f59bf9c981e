// PaymentIntents created per second by till::sync::StripeClient against the in-process
// till-stripe-sim, at concurrency 1, 8 and 32, with and without 50 ms of added server latency,
// plus peak RSS. Prints figures; asserts nothing.
//
// The simulator runs in this process (its own thread), so the peak RSS printed covers client
// AND simulator: an upper bound for the client alone.

#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "till/base/log.hpp"
#include "till/stripesim/server.hpp"
#include "till/sync/stripe_client.hpp"

using namespace till;
using namespace till::sync;

namespace {

constexpr const char* kAccount = "acct_1TillMerchant00001";

struct RunResult {
  int ok = 0;
  int failed = 0;
  double seconds = 0;
};

RunResult run(const std::string& base_url, const std::string& key, int concurrency, int count,
              const std::string& key_prefix) {
  boost::asio::io_context io;
  StripeConfig config;
  config.http.base_url = base_url;
  config.api_key = Secret(key);
  config.app = AppInfo{"Till", TILL_VERSION, "https://till.example", ""};
  StripeClientDeps deps;
  RateLimiterConfig unlimited;
  unlimited.rate_per_second = 1e6;
  unlimited.burst = 1e6;
  deps.limiter = std::make_shared<RateLimiter>(unlimited, SystemClock::instance());
  auto client = StripeClient::create(io, config, deps);
  if (!client) {
    std::fprintf(stderr, "cannot create client: %s\n", client.error().describe().c_str());
    std::exit(1);
  }
  RunResult result;
  int next = 0;
  auto worker = [&]() -> boost::asio::awaitable<void> {
    while (next < count) {
      const int i = next++;
      CreatePaymentIntentParams p;
      // Whole tens only: amounts ending in .01/.05/.55/.65/.75 are the simulator's test declines.
      p.amount = 1000 + 10 * (i % 50);
      p.currency = "usd";
      p.payment_method = "pm_card_visa";
      p.confirm = true;
      p.application_fee_amount = 30;
      p.metadata = {{"sale_id", key_prefix + std::to_string(i)}, {"register_id", "bench"}, {"attempt", "1"}};
      auto r = co_await (*client)->async_create_payment_intent(p, RequestOptions{kAccount, key_prefix + std::to_string(i)});
      if (r) {
        ++result.ok;
      } else {
        ++result.failed;
      }
    }
  };
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < concurrency; ++c) boost::asio::co_spawn(io, worker(), boost::asio::detached);
  io.run();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("till_stripe_client_bench %s\n", TILL_VERSION);
      return 0;
    }
    if (std::strcmp(argv[i], "--dir") == 0) ++i;  // no files needed
  }
  log::set_level(log::Level::Error);  // one line per call would measure the logger

  std::printf("Stripe client against in-process till-stripe-sim (HTTP/1.1 keep-alive, loopback)\n");
  std::printf("%-10s %-12s %-8s %-10s %-8s %s\n", "latency", "concurrency", "calls", "PI/s", "errors", "seconds");
  for (int latency_ms : {0, 50}) {
    stripesim::ServerOptions options;
    options.sim.rate_limit_test = 0;
    options.sim.rate_limit_live = 0;
    if (latency_ms > 0) {
      stripesim::FaultSpec slow;
      slow.kind = stripesim::FaultKind::Latency;
      slow.latency = std::chrono::milliseconds(latency_ms);
      options.sim.faults.push_back(slow);
    }
    const std::string key = options.sim.api_keys.front();
    auto server = stripesim::Server::start(options);
    if (!server) {
      std::fprintf(stderr, "cannot start simulator: %s\n", server.error().describe().c_str());
      return 1;
    }
    for (int concurrency : {1, 8, 32}) {
      const int count = latency_ms == 0 ? 2000 : (concurrency == 1 ? 100 : 640);
      const std::string prefix = "bench-" + std::to_string(latency_ms) + "-" + std::to_string(concurrency) + "-";
      const auto r = run((*server)->base_url(), key, concurrency, count, prefix);
      std::printf("%-10s %-12d %-8d %-10.1f %-8d %.2f\n", (std::to_string(latency_ms) + " ms").c_str(), concurrency,
                  count, r.ok / r.seconds, r.failed, r.seconds);
      std::fflush(stdout);
    }
    (*server)->stop();
  }
  std::printf("peak RSS (client + in-process simulator): %.1f MiB\n", static_cast<double>(peak_rss_kib()) / 1024.0);
  return 0;
}
