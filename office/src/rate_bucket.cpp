#include "till/office/rate_bucket.hpp"

#include <cmath>

namespace till::office {

SharedBucketConfig SharedBucketConfig::for_key(std::string_view api_key) {
  SharedBucketConfig c;
  const bool live = api_key.starts_with("sk_live_") || api_key.starts_with("rk_live_");
  c.max_rate = live ? 80.0 : 20.0;
  c.burst = live ? 20.0 : 5.0;
  return c;
}

Status SharedRateLimiter::ensure(const std::string& account) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  auto r = (*conn)->exec(
      "INSERT INTO rate_limit_buckets (account, max_rate, min_rate, rate, burst, tokens, updated_at) "
      "VALUES ($1, $2, $3, $2, $4, $4, $5) ON CONFLICT (account) DO UPDATE SET max_rate = EXCLUDED.max_rate, "
      "min_rate = EXCLUDED.min_rate, burst = EXCLUDED.burst, "
      "rate = LEAST(rate_limit_buckets.rate, EXCLUDED.max_rate), "
      "tokens = LEAST(rate_limit_buckets.tokens, EXCLUDED.burst)",
      {account, std::to_string(config_.max_rate), std::to_string(config_.min_rate), std::to_string(config_.burst),
       pg::Param::time(clock_.now())});
  if (!r) return fail(r.error());
  return ok();
}

// Every SET expression reads the row as it was before this UPDATE, so the refill uses the rate
// of the elapsed interval and the new rate starts from now.
Result<std::chrono::milliseconds> SharedRateLimiter::reserve(const std::string& account) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  auto r = (*conn)->exec(
      "UPDATE rate_limit_buckets SET "
      "  tokens = LEAST(burst, tokens + rate * GREATEST(0, extract(epoch FROM ($2::timestamptz - updated_at)))) - 1, "
      "  rate = LEAST(max_rate, rate + $3::float8 * GREATEST(0, extract(epoch FROM ($2::timestamptz - updated_at)))), "
      "  updated_at = GREATEST(updated_at, $2::timestamptz) "
      "WHERE account = $1 RETURNING tokens, rate",
      {account, pg::Param::time(clock_.now()), std::to_string(config_.increase_per_second)});
  if (!r) return fail(r.error());
  if (r->empty()) return fail(ErrorKind::FailedPrecondition, "no rate-limit bucket for " + account + " (ensure() first)");
  const double tokens = std::stod((*r)[0].text(0));
  const double rate = std::stod((*r)[0].text(1));
  if (tokens >= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(-tokens / rate * 1000.0)));
}

Status SharedRateLimiter::on_rate_limited(const std::string& account) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  const Timestamp now = clock_.now();
  auto r = (*conn)->exec(
      "UPDATE rate_limit_buckets SET rate = GREATEST(min_rate, rate * $3::float8), last_decrease_at = $2 "
      "WHERE account = $1 AND (last_decrease_at IS NULL OR last_decrease_at <= $4)",
      {account, pg::Param::time(now), std::to_string(config_.decrease_factor),
       pg::Param::time(now - config_.decrease_window)});
  if (!r) return fail(r.error());
  return ok();
}

Result<double> SharedRateLimiter::current_rate(const std::string& account) {
  auto conn = pool_.acquire();
  if (!conn) return fail(conn.error());
  auto r = (*conn)->exec("SELECT rate FROM rate_limit_buckets WHERE account = $1", {account});
  if (!r) return fail(r.error());
  if (r->empty()) return fail(ErrorKind::NotFound, "no rate-limit bucket for " + account);
  return std::stod((*r)[0].text(0));
}

}  // namespace till::office
