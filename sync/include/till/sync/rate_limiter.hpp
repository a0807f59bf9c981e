#pragma once
// Client-side pacing of Stripe calls: a token bucket per account (the Stripe-Account a call is
// made for, or the platform), shared by every request of the process, whose rate backs off
// multiplicatively on a 429 `rate_limit` and creeps back up additively on success (AIMD), so a
// backlog drains near the account's limit without a storm of 429s
// (shared/design/stripe.md section 3).
//
// Thread-safe (one mutex); time comes from the injected Clock.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"

namespace till::sync {

struct RateLimiterConfig {
  double rate_per_second = 20.0;  // the starting and maximum rate: below the account's limit
  double burst = 5.0;             // tokens a quiet account may spend at once
  double min_rate_per_second = 1.0;
  double decrease_factor = 0.5;  // on 429 rate_limit
  // One decrease per window: the requests already in flight when the first 429 came back
  // also get 429s, and they say nothing new.
  std::chrono::milliseconds decrease_window{1000};
  // Additive increase: each success adds this / current rate, i.e. about +1 req/s per second
  // of traffic at full pace (TCP congestion-avoidance style).
  double increase_per_second_of_success = 1.0;
  // At most this many sends in any interval of `window` (0: no such cap), counted when they
  // leave (admit()). A server counting requests per second sees no more than this, wherever
  // its seconds begin, however late the paced waits end.
  int window_limit = 0;
  std::chrono::milliseconds window{1000};

  // Defaults for a key: live keys (sk_live_, rk_live_) pace at 80/s under Stripe's 100/s; test
  // keys at 20/s under 25/s.
  static RateLimiterConfig for_key(std::string_view api_key);

  // Pacing for an account whose limit the caller knows (requests per second, as the server
  // counts them): at most the limit less one in any second (window_limit; the one is room for
  // the network moving a request into the next second), paced at 98.5 % of the limit (at most
  // half a request under that cap) with a burst of 1.5 %, at least one request. A 429 then means
  // the limit is shared or lower than configured: the rate drops to 85 % (not half: one stray
  // 429 would otherwise cost a quarter of the drain for tens of seconds) and successes climb
  // back at 2 % of the limit per second.
  static RateLimiterConfig for_limit(double limit_per_second);
};

class RateLimiter {
 public:
  RateLimiter(RateLimiterConfig config, const Clock& clock);

  // Takes one token for `account` and says how long to wait before sending (zero when a token
  // was available). The token is reserved at once, so concurrent callers queue up fairly.
  std::chrono::milliseconds reserve(std::string_view account);
  // Called right before the request leaves, once the wait reserve() gave is over: zero when it
  // may go now (the send is counted), else how long until it may (then ask again). Not zero only
  // when window_limit sends already left within the last `window`: a thread busy with a disk
  // write wakes every caller whose turn came meanwhile, and they may catch up together only as
  // far as no interval of `window` holds more than window_limit sends. The turn is kept, so a
  // late caller loses a few milliseconds, not its place.
  std::chrono::milliseconds admit(std::string_view account);
  // Feedback from responses.
  void on_success(std::string_view account);
  void on_rate_limited(std::string_view account);

  double current_rate(std::string_view account) const;
  const RateLimiterConfig& config() const noexcept { return config_; }

 private:
  struct Bucket {
    double tokens = 0;
    double rate = 0;
    Timestamp last_refill{};
    std::vector<Timestamp> sent;  // ring of the last window_limit send times (admit())
    std::size_t next_sent = 0;
    Timestamp last_decrease{};
    bool decreased_once = false;
  };
  Bucket& bucket(std::string_view account);  // requires mutex_
  void refill(Bucket& b, Timestamp now) const;

  RateLimiterConfig config_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

}  // namespace till::sync
