#pragma once
// One pace for the whole platform account: a token bucket kept in PostgreSQL (table
// rate_limit_buckets) and shared by every office process, so a thousand registers draining
// after an outage never make Stripe answer 429 storms, however many offices send.
//
// reserve() is ONE atomic UPDATE ... RETURNING: it refills the bucket for the time since its
// last use, takes a token and returns the balance. A negative balance is a reservation in the
// future: the caller waits -balance / rate seconds before sending. Row locking serialises
// concurrent reservers, so no token is ever spent twice. The rate backs off on Stripe's 429
// (multiplicatively, once per window, like sync::RateLimiter does in one process) and creeps
// back up by `increase_per_second` each second.
//
// Time comes from the injected Clock of each office (they must agree roughly: NTP).
// Threading: thread-safe (a connection per call).

#include <chrono>
#include <string>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/office/pg.hpp"

namespace till::office {

struct SharedBucketConfig {
  double max_rate = 20.0;  // requests per second: below the account's limit (live 100, test 25)
  double burst = 5.0;
  double min_rate = 1.0;
  double increase_per_second = 1.0;
  double decrease_factor = 0.5;
  std::chrono::milliseconds decrease_window{1000};

  // Defaults for a key: live 80/s, test 20/s (as sync::RateLimiterConfig::for_key).
  static SharedBucketConfig for_key(std::string_view api_key);
};

class SharedRateLimiter {
 public:
  SharedRateLimiter(pg::Pool& pool, const Clock& clock, SharedBucketConfig config = {})
      : pool_(pool), clock_(clock), config_(config) {}

  // Creates the bucket (full) or updates its configuration, keeping its balance.
  Status ensure(const std::string& account);
  // Takes a token; how long to wait before sending (zero when one was there).
  Result<std::chrono::milliseconds> reserve(const std::string& account);
  // Stripe said 429 rate_limit: halve the shared rate (at most once per window).
  Status on_rate_limited(const std::string& account);
  Result<double> current_rate(const std::string& account);
  const SharedBucketConfig& config() const noexcept { return config_; }

 private:
  pg::Pool& pool_;
  const Clock& clock_;
  SharedBucketConfig config_;
};

}  // namespace till::office
