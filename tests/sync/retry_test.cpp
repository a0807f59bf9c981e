#include "till/sync/retry.hpp"

#include <catch2/catch.hpp>

using namespace till;
using namespace till::sync;
using namespace std::chrono_literals;
using K = AttemptOutcome::Kind;

TEST_CASE("the retry policy follows the official SDK rules row by row") {
  struct Row {
    const char* name;
    int retries_done;
    AttemptOutcome outcome;
    bool retry;
    std::string_view reason;
  };
  const std::vector<Row> rows = {
      {"network failure is retried", 0, AttemptOutcome::of(K::NetworkFailure), true,
       "network failure (same idempotency key)"},
      {"timeout is retried", 1, AttemptOutcome::of(K::Timeout), true, "timeout (same idempotency key)"},
      {"TLS verification failure never", 0, AttemptOutcome::of(K::TlsVerification), false,
       "TLS certificate verification failed"},
      {"budget exhausted on network failure", 2, AttemptOutcome::of(K::NetworkFailure), false,
       "max retries reached"},
      {"budget exhausted on 500", 2, AttemptOutcome::response(500), false, "max retries reached"},
      {"200 is done", 0, AttemptOutcome::response(200), false, "succeeded"},
      {"400 never", 0, AttemptOutcome::response(400, std::nullopt, "parameter_invalid_integer"), false,
       "response not known to be safe to retry"},
      {"400 idempotency_error never", 0, AttemptOutcome::response(400, std::nullopt, "idempotency_key_in_use"),
       false, "response not known to be safe to retry"},
      {"401 never", 0, AttemptOutcome::response(401), false, "response not known to be safe to retry"},
      {"402 decline never", 0, AttemptOutcome::response(402, std::nullopt, "card_declined"), false,
       "response not known to be safe to retry"},
      {"403 never", 0, AttemptOutcome::response(403), false, "response not known to be safe to retry"},
      {"404 never", 0, AttemptOutcome::response(404), false, "response not known to be safe to retry"},
      {"409 is retried", 0, AttemptOutcome::response(409, std::nullopt, "idempotency_key_in_use"), true,
       "409 conflict"},
      {"409 with Should-Retry false is not", 0, AttemptOutcome::response(409, false), false,
       "Stripe-Should-Retry: false"},
      {"424 never", 0, AttemptOutcome::response(424), false, "response not known to be safe to retry"},
      {"429 rate_limit is not retried in the call", 0, AttemptOutcome::response(429, std::nullopt, "rate_limit"),
       false, "response not known to be safe to retry"},
      {"429 lock_timeout is retried", 0, AttemptOutcome::response(429, std::nullopt, "lock_timeout"), true,
       "429 lock_timeout"},
      {"500 is retried", 0, AttemptOutcome::response(500), true, "5xx server error"},
      {"503 is retried", 1, AttemptOutcome::response(503), true, "5xx server error"},
      {"500 with Should-Retry false is not", 0, AttemptOutcome::response(500, false), false,
       "Stripe-Should-Retry: false"},
      {"400 with Should-Retry true is", 0, AttemptOutcome::response(400, true), true, "Stripe-Should-Retry: true"},
      {"429 rate_limit with Should-Retry true is", 0, AttemptOutcome::response(429, true, "rate_limit"), true,
       "Stripe-Should-Retry: true"},
      {"Should-Retry true still bounded by budget", 2, AttemptOutcome::response(500, true), false,
       "max retries reached"},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    const auto d = decide_retry(row.retries_done, kDefaultMaxRetries, row.outcome);
    CHECK(d.retry == row.retry);
    CHECK(d.reason == row.reason);
  }
}

TEST_CASE("a budget of zero retries never retries") {
  CHECK_FALSE(decide_retry(0, 0, AttemptOutcome::of(K::Timeout)).retry);
  CHECK_FALSE(decide_retry(0, 0, AttemptOutcome::response(503)).retry);
}

TEST_CASE("backoff doubles from half a second, caps at five, and jitter keeps 50 to 100 percent") {
  struct Row {
    int retry;
    double jitter;
    std::chrono::milliseconds expected;
  };
  const std::vector<Row> rows = {
      {1, 1.0, 500ms},  {1, 0.5, 500ms},   // floor: 250 ms would be too short
      {2, 1.0, 1000ms}, {2, 0.5, 500ms},  {2, 0.75, 750ms},
      {3, 1.0, 2000ms}, {3, 0.5, 1000ms},
      {4, 1.0, 4000ms}, {4, 0.5, 2000ms},
      {5, 1.0, 5000ms}, {5, 0.5, 2500ms},  // 8 s capped at 5 s
      {30, 1.0, 5000ms}, {30, 0.5, 2500ms},
      {0, 1.0, 500ms},                      // nonsense input stays at the floor
      {2, 2.0, 1000ms}, {2, 0.1, 500ms},    // jitter is clamped to its range
  };
  for (const auto& row : rows) {
    INFO("retry " << row.retry << " jitter " << row.jitter);
    CHECK(retry_delay_with_jitter(row.retry, row.jitter) == row.expected);
  }
}

TEST_CASE("random backoff stays inside the jitter band for every retry") {
  SeededRandom rng(42);
  for (int retry = 1; retry <= 6; ++retry) {
    const auto full = std::min(500ms * (1 << (retry - 1)), std::chrono::milliseconds{5000});
    std::chrono::milliseconds lo = 1h, hi = 0ms;
    for (int i = 0; i < 500; ++i) {
      const auto d = retry_delay(retry, rng);
      CHECK(d >= std::max(full / 2, std::chrono::milliseconds{500}));
      CHECK(d <= full);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    if (retry >= 2) CHECK(hi - lo > full / 4);  // the jitter actually spreads retries out
  }
}
