#pragma once
// The office's sender: claims due outbox operations (FOR UPDATE SKIP LOCKED, so several office
// processes share the work), paces every call through the platform account's shared bucket in
// PostgreSQL, sends it with till_sync's StripeClient (its headers, in-call retries and error
// classification; the request bytes and key exactly as stored), and records the answer where
// it belongs (payments, refunds) in the same transaction that finishes the operation.
//
// What an answer does:
//   2xx                              -> done; the payment or refund takes Stripe's state
//   a decline (card_error)           -> done; the forwarded payment is failed (declined after
//                                       forward), with the PaymentIntent Stripe named
//   outcome unknown, unavailable,    -> failed_retryable with backoff, same key; 429 rate_limit
//   rate limited, 401/403               also slows the shared bucket
//   anything else (a bad request)    -> dead: a person must look; the subject is failed
//   first sent more than 23 h ago    -> dead without sending: Stripe may have pruned the key,
//                                       so it must be looked up first (not built yet)
// Threading: run_once() blocks; call it from one thread per Sender (it drives the client's
// io_context itself, which no other thread may run).

#include <chrono>
#include <string>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/base/result.hpp"
#include "till/office/outbox.hpp"
#include "till/office/rate_bucket.hpp"
#include "till/sync/stripe_client.hpp"

namespace till::office {

struct SenderConfig {
  std::string worker = "office";  // unique per process: host:pid
  std::string rate_bucket = "platform";
  int batch = 16;
  std::chrono::milliseconds lease{120'000};
  int max_attempts = 12;
  std::chrono::milliseconds key_lifetime{std::chrono::hours(23)};
};

struct SendPass {
  int claimed = 0;
  int done = 0;
  int retried = 0;
  int dead = 0;
};

// The production Sleeper: an Asio timer on the coroutine's own executor.
class TimerSleeper final : public sync::Sleeper {
 public:
  boost::asio::awaitable<void> async_sleep(std::chrono::milliseconds duration) override;
};

class Sender {
 public:
  Sender(Outbox& outbox, SharedRateLimiter& limiter, sync::StripeClient& client, sync::Sleeper& sleeper,
         const Clock& clock, Random& random, SenderConfig config)
      : outbox_(outbox), limiter_(limiter), client_(client), sleeper_(sleeper), clock_(clock), random_(random),
        config_(std::move(config)) {}

  // Claims one batch and sends it. Unavailable when the database is.
  Result<SendPass> run_once();

  // The wait before attempt `attempts + 1` of an operation: 1 s x 2^(attempts-1), capped at
  // 10 minutes, jitter keeping 50-100 %.
  static std::chrono::milliseconds backoff(int attempts, Random& random);

 private:
  boost::asio::awaitable<Result<sync::StripeResponse>> async_send(const Operation& op);
  Status record(const Operation& op, const Result<sync::StripeResponse>& answer, SendPass& pass);

  Outbox& outbox_;
  SharedRateLimiter& limiter_;
  sync::StripeClient& client_;
  sync::Sleeper& sleeper_;
  const Clock& clock_;
  Random& random_;
  SenderConfig config_;
};

}  // namespace till::office
