#include "till/office/sender.hpp"

#include <algorithm>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "till/base/log.hpp"

namespace till::office {

namespace {

std::string payment_state_for(sync::PaymentIntentStatus s) {
  using S = sync::PaymentIntentStatus;
  switch (s) {
    case S::Succeeded:
    case S::RequiresCapture: return "succeeded";  // authorised; capture by the office is not built yet
    case S::Canceled:
    case S::RequiresPaymentMethod: return "failed";
    default: return "in_doubt";
  }
}

// Records Stripe's verdict on the operation's subject, in the finishing transaction.
std::function<Status(pg::Transaction&)> apply_subject(const Operation& op, std::string stripe_id, std::string state) {
  return [op, stripe_id = std::move(stripe_id), state = std::move(state)](pg::Transaction& tx) -> Status {
    Result<pg::Rows> r = pg::Rows();
    if (op.kind == "create_payment_intent") {
      r = tx.exec(
          "UPDATE payments SET stripe_payment_intent = coalesce(nullif($3, ''), stripe_payment_intent), "
          "office_state = $4 WHERE register_id = $1 AND id = $2",
          {op.register_id, op.subject_id, stripe_id, state});
    } else if (op.kind == "refund") {
      r = tx.exec(
          "UPDATE refunds SET stripe_refund = coalesce(nullif($3, ''), stripe_refund), office_state = $4 "
          "WHERE register_id = $1 AND id = $2",
          {op.register_id, op.subject_id, stripe_id, state});
    }
    if (!r) return fail(r.error());
    return ok();
  };
}

}  // namespace

boost::asio::awaitable<void> TimerSleeper::async_sleep(std::chrono::milliseconds duration) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, duration);
  boost::system::error_code ec;
  co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}

std::chrono::milliseconds Sender::backoff(int attempts, Random& random) {
  const int n = std::clamp(attempts, 1, 20);
  const double base = std::min(1000.0 * static_cast<double>(1LL << (n - 1)), 600'000.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(base * (0.5 + 0.5 * random.unit())));
}

boost::asio::awaitable<Result<sync::StripeResponse>> Sender::async_send(const Operation& op) {
  auto wait = limiter_.reserve(config_.rate_bucket);
  if (!wait) co_return fail(wait.error());
  if (wait->count() > 0) co_await sleeper_.async_sleep(*wait);
  co_return co_await client_.async_request_encoded(op.method, op.path, op.body,
                                                   sync::RequestOptions(op.stripe_account, op.idempotency_key));
}

// Decides what an answer means for the operation (the table at the top of sender.hpp).
Status Sender::record(const Operation& op, const Result<sync::StripeResponse>& answer, SendPass& pass) {
  if (answer) {
    std::string id;
    std::string state = "succeeded";
    if (op.kind == "create_payment_intent") {
      auto pi = sync::parse_payment_intent(answer->body);
      if (pi) {
        id = pi->id;
        state = payment_state_for(pi->status);
      } else {
        state = "in_doubt";
      }
    } else if (op.kind == "refund") {
      auto re = sync::parse_refund(answer->body);
      if (re) {
        id = re->id;
        state = re->status == "succeeded" ? "succeeded"
                : (re->status == "failed" || re->status == "canceled") ? "failed"
                                                                        : "in_doubt";
      }
    }
    ++pass.done;
    return outbox_.finish_done(op, config_.worker, answer->status, answer->body, answer->request_id, "",
                               apply_subject(op, id, state));
  }
  const Error& e = answer.error();
  const std::string request_id = e.stripe ? e.stripe->request_id : "";
  if (e.kind == ErrorKind::Declined) {
    ++pass.done;
    const std::string pi = e.stripe ? e.stripe->payment_intent_id : "";
    return outbox_.finish_done(op, config_.worker, e.stripe ? e.stripe->http_status : 402, "", request_id,
                               "declined: " + (e.stripe ? e.stripe->decline_code : std::string()),
                               apply_subject(op, pi, "failed"));
  }
  const bool retryable = e.kind == ErrorKind::OutcomeUnknown || e.kind == ErrorKind::Unavailable ||
                         e.kind == ErrorKind::ResourceExhausted || e.kind == ErrorKind::Unauthenticated ||
                         e.kind == ErrorKind::PermissionDenied;
  if (e.kind == ErrorKind::ResourceExhausted && e.stripe && e.stripe->code == "rate_limit") {
    (void)limiter_.on_rate_limited(config_.rate_bucket);
  }
  if (retryable && op.attempts < config_.max_attempts) {
    ++pass.retried;
    return outbox_.finish_retry(op, config_.worker, e.describe(), clock_.now() + backoff(op.attempts, random_));
  }
  ++pass.dead;
  log::error("office.operation_dead", {{"id", op.id}, {"kind", op.kind}, {"error", e.describe()}});
  // An unknown outcome stays in doubt (a person must look it up); a refusal failed for sure.
  return outbox_.finish_dead(op, config_.worker, e.describe(),
                             apply_subject(op, "", e.kind == ErrorKind::OutcomeUnknown ? "in_doubt" : "failed"));
}

Result<SendPass> Sender::run_once() {
  auto ops = outbox_.claim(config_.worker, config_.batch, config_.lease);
  if (!ops) return fail(ops.error());
  SendPass pass;
  pass.claimed = static_cast<int>(ops->size());
  for (const auto& op : *ops) {
    if (op.first_sent_at && clock_.now() - *op.first_sent_at > config_.key_lifetime && op.attempts > 1) {
      ++pass.dead;
      (void)outbox_.finish_dead(op, config_.worker, "first sent over 23 h ago: look it up before sending again",
                                apply_subject(op, "", "in_doubt"));
      continue;
    }
    auto answer = client_.wait(async_send(op));
    if (!answer && answer.error().kind == ErrorKind::FailedPrecondition && !answer.error().stripe) {
      return fail(answer.error());  // the rate bucket is missing: a configuration bug
    }
    if (auto st = record(op, answer, pass); !st) {
      log::warn("office.operation_not_recorded", {{"id", op.id}, {"error", st.error().message}});
    }
  }
  return pass;
}

}  // namespace till::office
