#include "till/sync/rate_limiter.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <queue>
#include <vector>

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

// ---------------------------------------------------------------------------------------------
// A drain against a server that counts requests per second of its clock (as till-stripe-sim
// does): `workers` callers share one limiter (one client with that concurrency, or many
// clients sharing the process's limiter), each waits reserve() then admit() like
// StripeClient::call, the answer comes one round trip after the send, a 429 is retried after
// 200 ms. The calling thread may stall (a disk write): whatever falls due in a stall happens at
// its end. Time moves only through the FakeClock, so this is exact and repeatable.

namespace {

struct DrainResult {
  int accepted = 0;
  int rejected = 0;
  int busiest_second = 0;  // requests the server counted in its busiest second
  double seconds = 0;
  double share_used(int limit) const { return accepted / (seconds * limit); }
  double share_429() const { return double(rejected) / (accepted + rejected); }
};

struct DrainSetup {
  int limit = 100;
  int workers = 32;
  std::chrono::milliseconds rtt{0};
  int requests = 6000;
  std::chrono::milliseconds stall_every{0};  // 0: no stalls
  std::chrono::milliseconds stall_for{0};
  std::chrono::milliseconds stall_phase{0};  // the first stall starts this long after the start
  bool admit = true;  // false: the old reserve()-only pacing, as a control
};

DrainResult simulate_drain(const DrainSetup& s, const RateLimiterConfig& config) {
  FakeClock clock(from_unix_ms(1'790'000'000'337));  // not on a second boundary
  RateLimiter limiter(config, clock);
  enum class Step { Reserve, Admit, Send, Answer };
  struct Event {
    std::int64_t at;
    int worker;
    Step step;
    bool ok;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : worker > o.worker; }
  };
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
  const std::int64_t start = to_unix_ms(clock.now());
  // Due times that fall inside a stall move to its end.
  const auto unstall = [&](std::int64_t t) {
    if (s.stall_every.count() == 0) return t;
    const std::int64_t phase = (t - start - s.stall_phase.count() + 100 * s.stall_every.count()) % s.stall_every.count();
    return phase < s.stall_for.count() ? t + (s.stall_for.count() - phase) : t;
  };
  for (int w = 0; w < s.workers; ++w) events.push({start, w, Step::Reserve, false});
  std::map<std::int64_t, int> per_second;
  DrainResult r;
  int started = 0;
  std::int64_t last_answer = start;
  while (!events.empty() && r.accepted < s.requests) {
    const Event e = events.top();
    events.pop();
    clock.set(from_unix_ms(e.at));
    switch (e.step) {
      case Step::Reserve: {
        if (started >= s.requests + r.rejected) break;  // nothing left to send
        ++started;
        const auto wait = limiter.reserve("acct");
        events.push({unstall(e.at + wait.count()), e.worker, s.admit ? Step::Admit : Step::Send, false});
        break;
      }
      case Step::Admit: {
        const auto wait = limiter.admit("acct");
        if (wait.count() == 0) {
          events.push({e.at, e.worker, Step::Send, false});
        } else {
          events.push({unstall(e.at + wait.count()), e.worker, Step::Admit, false});  // ask again, as StripeClient::call
        }
        break;
      }
      case Step::Send: {
        const std::int64_t arrival = e.at + s.rtt.count() / 2;
        const bool ok = ++per_second[arrival / 1000] <= s.limit;
        events.push({unstall(e.at + s.rtt.count()), e.worker, Step::Answer, ok});
        break;
      }
      case Step::Answer:
        last_answer = e.at;
        if (e.ok) {
          ++r.accepted;
          limiter.on_success("acct");
          events.push({e.at, e.worker, Step::Reserve, false});
        } else {
          ++r.rejected;
          limiter.on_rate_limited("acct");
          events.push({unstall(e.at + 200), e.worker, Step::Reserve, false});
        }
        break;
    }
  }
  r.seconds = double(last_answer - start) / 1000.0;
  for (const auto& [second, n] : per_second) r.busiest_second = std::max(r.busiest_second, n);
  return r;
}

}  // namespace

TEST_CASE("paced for the account's limit, a drain uses 97 % of it with under 1 % 429s at 0, 50 and 200 ms") {
  for (const int rtt : {0, 50, 200}) {
    for (const int workers : {32, 800}) {  // one client, or 100 clients of 8 sharing the limiter
      DrainSetup s;
      s.rtt = std::chrono::milliseconds(rtt);
      s.workers = workers;
      const auto r = simulate_drain(s, RateLimiterConfig::for_limit(s.limit));
      INFO("rtt " << rtt << " ms, workers " << workers << ": " << 100 * r.share_used(s.limit) << " % of the limit, "
                  << r.rejected << " 429s");
      CHECK(r.share_used(s.limit) >= 0.97);
      CHECK(r.share_429() < 0.01);
    }
  }
}

TEST_CASE("a thread that stalls does not make the late callers burst past the limit") {
  // Every third second of the server's clock, a 100 ms stall over the sends that would arrive
  // in its last 75 ms (the start is 337 ms past a second; a request arrives 25 ms after it is
  // sent): the requests due in it all arrive in the next second, on top of that second's own.
  DrainSetup s;
  s.rtt = std::chrono::milliseconds(50);
  s.stall_every = std::chrono::milliseconds(3000);
  s.stall_for = std::chrono::milliseconds(100);
  s.stall_phase = std::chrono::milliseconds(588);
  const auto paced = simulate_drain(s, RateLimiterConfig::for_limit(s.limit));
  INFO(100 * paced.share_used(s.limit) << " % of the limit, " << paced.rejected << " 429s, busiest second "
                                       << paced.busiest_second);
  CHECK(paced.share_429() < 0.01);
  CHECK(paced.share_used(s.limit) >= 0.97);  // the late callers catch up within the window
  // The control: without admit() the callers that woke together all send at once.
  s.admit = false;
  const auto bursty = simulate_drain(s, RateLimiterConfig::for_limit(s.limit));
  INFO("without admit(): " << bursty.rejected << " 429s, busiest second " << bursty.busiest_second);
  CHECK(bursty.rejected > 10 * std::max(paced.rejected, 1));
}

TEST_CASE("for_limit paces under the limit with a burst that fits in what is left") {
  const auto c = RateLimiterConfig::for_limit(100);
  CHECK(c.rate_per_second == Approx(98.5));
  CHECK(c.burst == Approx(1.5));
  CHECK(c.window_limit == 99);
  CHECK(c.rate_per_second + c.burst <= 100.0);
  const auto sandbox = RateLimiterConfig::for_limit(25);
  CHECK(sandbox.burst == Approx(1.0));  // at least one request
  CHECK(sandbox.window_limit == 24);
  CHECK(sandbox.rate_per_second <= 24.0);
}

TEST_CASE("admit() counts sends as they leave and holds back one more than window_limit in any window") {
  FakeClock clock;
  auto c = config(10, 1);
  c.window_limit = 3;
  RateLimiter limiter(c, clock);
  CHECK(limiter.admit("a") == 0ms);
  clock.advance(400ms);
  CHECK(limiter.admit("a") == 0ms);
  CHECK(limiter.admit("a") == 0ms);     // late callers may go together while the window has room
  CHECK(limiter.admit("a") == 600ms);   // a fourth within one second waits for the first to age out
  CHECK(limiter.admit("b") == 0ms);     // another account has its own window
  clock.advance(599ms);
  CHECK(limiter.admit("a") == 1ms);
  clock.advance(1ms);
  CHECK(limiter.admit("a") == 0ms);
  CHECK(limiter.admit("a") == 400ms);  // now the two sent at 400 ms are the oldest
  c.window_limit = 0;                  // no cap: always admitted
  RateLimiter open(c, clock);
  for (int i = 0; i < 100; ++i) REQUIRE(open.admit("a") == 0ms);
}
