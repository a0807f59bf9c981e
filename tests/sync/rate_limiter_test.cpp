#include "till/sync/rate_limiter.hpp"

#include <catch2/catch.hpp>

using namespace till;
using namespace till::sync;
using namespace std::chrono_literals;

namespace {
RateLimiterConfig config(double rate, double burst) {
  RateLimiterConfig c;
  c.rate_per_second = rate;
  c.burst = burst;
  return c;
}
}  // namespace

TEST_CASE("a quiet account may spend its burst at once, then waits one token interval per call") {
  FakeClock clock;
  RateLimiter limiter(config(10, 3), clock);
  CHECK(limiter.reserve("acct_a") == 0ms);
  CHECK(limiter.reserve("acct_a") == 0ms);
  CHECK(limiter.reserve("acct_a") == 0ms);
  CHECK(limiter.reserve("acct_a") == 100ms);  // one token short at 10/s
  CHECK(limiter.reserve("acct_a") == 200ms);  // reservations queue up behind each other
  clock.advance(200ms);
  CHECK(limiter.reserve("acct_a") == 100ms);
}

TEST_CASE("accounts have separate buckets") {
  FakeClock clock;
  RateLimiter limiter(config(1, 1), clock);
  CHECK(limiter.reserve("acct_a") == 0ms);
  CHECK(limiter.reserve("acct_b") == 0ms);
  CHECK(limiter.reserve("acct_a") == 1000ms);
}

TEST_CASE("the bucket refills with time but never beyond the burst") {
  FakeClock clock;
  RateLimiter limiter(config(10, 2), clock);
  CHECK(limiter.reserve("a") == 0ms);
  CHECK(limiter.reserve("a") == 0ms);
  clock.advance(1h);
  CHECK(limiter.reserve("a") == 0ms);
  CHECK(limiter.reserve("a") == 0ms);
  CHECK(limiter.reserve("a") == 100ms);
}

TEST_CASE("a 429 halves the rate once per window and stops the burst") {
  FakeClock clock;
  RateLimiter limiter(config(20, 5), clock);
  limiter.on_rate_limited("a");
  CHECK(limiter.current_rate("a") == Approx(10));
  limiter.on_rate_limited("a");  // same window: in-flight requests' 429s say nothing new
  CHECK(limiter.current_rate("a") == Approx(10));
  CHECK(limiter.reserve("a") == 100ms);  // no burst left right after a 429
  clock.advance(1001ms);
  limiter.on_rate_limited("a");
  CHECK(limiter.current_rate("a") == Approx(5));
}

TEST_CASE("the rate never drops below the floor") {
  FakeClock clock;
  auto c = config(20, 5);
  c.min_rate_per_second = 2;
  RateLimiter limiter(c, clock);
  for (int i = 0; i < 10; ++i) {
    limiter.on_rate_limited("a");
    clock.advance(2s);
  }
  CHECK(limiter.current_rate("a") == Approx(2));
}

TEST_CASE("successes raise the rate additively back to the configured maximum") {
  FakeClock clock;
  RateLimiter limiter(config(20, 5), clock);
  limiter.on_rate_limited("a");
  REQUIRE(limiter.current_rate("a") == Approx(10));
  // About +1/s for each second of traffic at the current rate: 10 successes at 10/s -> ~11/s.
  for (int i = 0; i < 10; ++i) limiter.on_success("a");
  CHECK(limiter.current_rate("a") > 10.9);
  CHECK(limiter.current_rate("a") < 11.1);
  for (int i = 0; i < 1000; ++i) limiter.on_success("a");
  CHECK(limiter.current_rate("a") == Approx(20));
}

TEST_CASE("a simulated backlog drains near the server's limit with few 429s") {
  // A fake server allowing 25 requests per rolling second, and a client pacing with AIMD that
  // starts too fast (40/s). Time only moves through the FakeClock.
  FakeClock clock;
  RateLimiter limiter(config(40, 5), clock);
  std::vector<Timestamp> accepted;
  int rejected = 0;
  int sent = 0;
  const auto start = clock.now();
  while (accepted.size() < 1000) {
    const auto wait = limiter.reserve("acct");
    clock.advance(wait);
    ++sent;
    const auto now = clock.now();
    const auto in_window = std::count_if(accepted.begin(), accepted.end(),
                                         [&](Timestamp t) { return now - t < 1000ms; });
    if (in_window >= 25) {
      ++rejected;
      limiter.on_rate_limited("acct");
    } else {
      accepted.push_back(now);
      limiter.on_success("acct");
    }
  }
  const double seconds = std::chrono::duration<double>(clock.now() - start).count();
  const double throughput = 1000.0 / seconds;
  INFO("throughput " << throughput << "/s, 429 share " << double(rejected) / sent);
  CHECK(throughput > 15.0);                    // at least 60 % of the 25/s limit
  CHECK(throughput <= 25.5);
  CHECK(double(rejected) / sent < 0.10);       // not a storm of 429s
}

TEST_CASE("live keys pace under 100/s and test keys under 25/s") {
  CHECK(RateLimiterConfig::for_key("sk_live_abc").rate_per_second == Approx(80));
  CHECK(RateLimiterConfig::for_key("rk_live_abc").rate_per_second == Approx(80));
  CHECK(RateLimiterConfig::for_key("sk_test_abc").rate_per_second == Approx(20));
  CHECK(RateLimiterConfig::for_key("rk_test_abc").rate_per_second == Approx(20));
}
