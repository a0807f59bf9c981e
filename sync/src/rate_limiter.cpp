#include "till/sync/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace till::sync {

RateLimiterConfig RateLimiterConfig::for_key(std::string_view api_key) {
  RateLimiterConfig c;
  const bool live = api_key.rfind("sk_live_", 0) == 0 || api_key.rfind("rk_live_", 0) == 0;
  c.rate_per_second = live ? 80.0 : 20.0;
  c.burst = live ? 20.0 : 5.0;
  return c;
}

RateLimiterConfig RateLimiterConfig::for_limit(double limit_per_second) {
  RateLimiterConfig c;
  const double limit = std::max(limit_per_second, 0.001);
  c.window_limit = std::max(1, static_cast<int>(std::floor(limit)) - 1);
  c.rate_per_second = std::min(limit * 0.985, c.window_limit - 0.5);
  if (c.rate_per_second <= 0) c.rate_per_second = limit * 0.5;
  c.burst = std::max(1.0, limit * 0.015);
  c.min_rate_per_second = std::max(0.001, limit * 0.01);
  c.decrease_factor = 0.85;
  c.increase_per_second_of_success = limit * 0.02;
  return c;
}

RateLimiter::RateLimiter(RateLimiterConfig config, const Clock& clock) : config_(config), clock_(clock) {
  config_.rate_per_second = std::max(config_.rate_per_second, 0.001);
  config_.min_rate_per_second = std::clamp(config_.min_rate_per_second, 0.001, config_.rate_per_second);
  config_.burst = std::max(config_.burst, 1.0);
}

RateLimiter::Bucket& RateLimiter::bucket(std::string_view account) {
  auto it = buckets_.find(account);
  if (it == buckets_.end()) {
    Bucket b;
    b.tokens = config_.burst;
    b.rate = config_.rate_per_second;
    b.last_refill = clock_.now();
    it = buckets_.emplace(std::string(account), b).first;
  }
  return it->second;
}

void RateLimiter::refill(Bucket& b, Timestamp now) const {
  if (now <= b.last_refill) return;
  const double seconds = std::chrono::duration<double>(now - b.last_refill).count();
  b.tokens = std::min(config_.burst, b.tokens + seconds * b.rate);
  b.last_refill = now;
}

std::chrono::milliseconds RateLimiter::reserve(std::string_view account) {
  std::lock_guard lock(mutex_);
  auto& b = bucket(account);
  refill(b, clock_.now());
  b.tokens -= 1.0;
  if (b.tokens >= 0) return std::chrono::milliseconds{0};
  // A debt of d tokens is repaid after d / rate seconds.
  const double wait_ms = std::ceil(-b.tokens / b.rate * 1000.0);
  return std::chrono::milliseconds{static_cast<std::int64_t>(wait_ms)};
}

std::chrono::milliseconds RateLimiter::admit(std::string_view account) {
  if (config_.window_limit <= 0) return std::chrono::milliseconds{0};
  std::lock_guard lock(mutex_);
  auto& b = bucket(account);
  const auto now = clock_.now();
  const auto limit = static_cast<std::size_t>(config_.window_limit);
  if (b.sent.size() < limit) {
    b.sent.push_back(now);
    return std::chrono::milliseconds{0};
  }
  // b.sent[next_sent] is the oldest of the last window_limit sends.
  const auto room_at = b.sent[b.next_sent] + config_.window;
  if (now < room_at) {
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(room_at - now);
    return std::max(wait, std::chrono::milliseconds{1});
  }
  b.sent[b.next_sent] = now;
  b.next_sent = (b.next_sent + 1) % limit;
  return std::chrono::milliseconds{0};
}

void RateLimiter::on_success(std::string_view account) {
  std::lock_guard lock(mutex_);
  auto& b = bucket(account);
  refill(b, clock_.now());
  b.rate = std::min(config_.rate_per_second, b.rate + config_.increase_per_second_of_success / b.rate);
}

void RateLimiter::on_rate_limited(std::string_view account) {
  std::lock_guard lock(mutex_);
  auto& b = bucket(account);
  const auto now = clock_.now();
  refill(b, now);
  if (b.decreased_once && now - b.last_decrease < config_.decrease_window) return;
  b.rate = std::max(config_.min_rate_per_second, b.rate * config_.decrease_factor);
  // Stop spending the burst too: the server just said we are over.
  b.tokens = std::min(b.tokens, 0.0);
  b.last_decrease = now;
  b.decreased_once = true;
}

double RateLimiter::current_rate(std::string_view account) const {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(account);
  return it == buckets_.end() ? config_.rate_per_second : it->second.rate;
}

}  // namespace till::sync
