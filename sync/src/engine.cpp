#include "till/sync/engine.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "attempt_plan.hpp"
#include "till/base/log.hpp"
#include "till/sync/operations.hpp"

namespace till::sync {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using pos::AttemptState;
using pos::OperationKind;
using Outcome = OperationReport::Outcome;

std::string_view to_string(OperationReport::Outcome outcome) noexcept {
  switch (outcome) {
    case Outcome::Done: return "done";
    case Outcome::Retry: return "retry";
    case Outcome::Dead: return "dead";
    case Outcome::Stuck: return "stuck";
  }
  return "unknown";
}

std::chrono::milliseconds BackoffSchedule::delay_with_jitter(int failures, double jitter) const {
  jitter = std::clamp(jitter, 0.5, 1.0);
  const int n = std::max(failures, 1);
  double ms = static_cast<double>(first.count()) * std::pow(std::max(factor, 1.0), n - 1);
  ms = std::min(ms, static_cast<double>(cap.count()));
  ms *= jitter;
  ms = std::max(ms, static_cast<double>(first.count()) / 2.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::chrono::milliseconds BackoffSchedule::delay(int failures, Random& random) const {
  return delay_with_jitter(failures, 0.5 + 0.5 * random.unit());
}

namespace {

bool retryable(ErrorKind k) {
  // A bad key is the configuration's fault, not the operation's: keep it queued.
  return k == ErrorKind::OutcomeUnknown || k == ErrorKind::Unavailable || k == ErrorKind::ResourceExhausted ||
         k == ErrorKind::Unauthenticated;
}

int http_status(const Error& e) { return e.stripe ? e.stripe->http_status : 0; }
std::string request_id(const Error& e) { return e.stripe ? e.stripe->request_id : std::string(); }

// 409 idempotency_key_in_use means the first request with this key is still running: the
// outcome is open. (The client's classify_response() checks type == idempotency_error before the
// status and reports it as InvalidArgument; it must never kill the operation.)
Error normalized(Error e) {
  if (e.stripe && (e.stripe->http_status == 409 || e.stripe->code == "idempotency_key_in_use")) {
    e.kind = ErrorKind::OutcomeUnknown;
  }
  return e;
}

bool is_rate_limited(const Error& e) {
  return e.kind == ErrorKind::ResourceExhausted && http_status(e) == 429;
}

std::string json_id(std::string_view body) {
  // The "id" of a JSON object, without a full parse (used for operations Till has no type for).
  const auto k = body.find("\"id\"");
  if (k == std::string_view::npos) return {};
  const auto q1 = body.find('"', body.find(':', k) + 1);
  if (q1 == std::string_view::npos) return {};
  const auto q2 = body.find('"', q1 + 1);
  if (q2 == std::string_view::npos) return {};
  return std::string(body.substr(q1 + 1, q2 - q1 - 1));
}

// How good a PaymentIntent found by search is, to pick the one that decides when (wrongly)
// there is more than one for an attempt.
int rank(const PaymentIntent& pi) {
  switch (pi.status) {
    case PaymentIntentStatus::Succeeded: return 5;
    case PaymentIntentStatus::RequiresCapture: return 4;
    case PaymentIntentStatus::Processing: return 3;
    case PaymentIntentStatus::RequiresPaymentMethod: return 2;
    case PaymentIntentStatus::Canceled: return 1;
    default: return 0;
  }
}

}  // namespace

struct Engine::Impl {
  store::Store& store;
  StripeClient& client;
  const Clock& clock;
  Random& random;
  EngineConfig config;
  Observer observer;
  bool stop_requested = false;
  asio::steady_timer* idle_timer = nullptr;  // set while async_run() waits

  Impl(store::Store& s, StripeClient& c, const Clock& k, Random& r, EngineConfig cfg)
      : store(s), client(c), clock(k), random(r), config(std::move(cfg)) {}

  detail::FollowUps follow_ups() const { return {config.auto_capture, config.capture_delay}; }

  static OperationReport report_for(const pos::OutboxOperation& op) {
    OperationReport r;
    r.operation_id = op.id;
    r.kind = op.kind;
    r.sale_id = op.sale_id;
    r.attempt_id = op.attempt_id;
    r.account_id = op.account_id;
    return r;
  }

  RequestOptions options_for(const pos::OutboxOperation& op) const {
    // Connect safety: the account stored with the operation, never the configured one.
    return RequestOptions{op.account_id, op.idempotency_key};
  }

  RequestOptions read_options(const pos::OutboxOperation& op) const { return RequestOptions{op.account_id, {}}; }

  // ---- recording ---------------------------------------------------------------------------

  // Records the outcome in one transaction: the attempt plan (if any), then the operation.
  void record(OperationReport& rep, const pos::OutboxOperation& op, const detail::AttemptPlan* plan,
              const std::function<Status(store::WriteTx&)>& op_change) {
    auto r = store.write([&](store::WriteTx& tx) -> Status {
      if (plan != nullptr) {
        if (auto a = detail::apply_plan(tx, *plan); !a) return a;
      }
      return op_change(tx);
    });
    if (plan != nullptr) rep.attempt_state = plan->final_state;
    if (r) return;
    // Stripe's answer is not recorded. The operation stays in_flight in the store; the next open
    // puts it back to pending and the same key fetches the same answer again.
    log::error("sync.record_failed", {{"operation_id", op.id}, {"error", r.error().describe()}});
    rep.outcome = Outcome::Stuck;
    rep.error = r.error().kind;
    rep.detail = "could not record the result: " + r.error().describe();
  }

  void complete(OperationReport& rep, const pos::OutboxOperation& op, const detail::AttemptPlan* plan,
                std::string object_id, std::string req_id, std::string detail) {
    rep.outcome = Outcome::Done;
    rep.stripe_object_id = object_id;
    rep.request_id = req_id;
    rep.detail = std::move(detail);
    record(rep, op, plan, [&](store::WriteTx& tx) -> Status {
      return tx.outbox().complete(op.id, store::OperationOutcome{req_id, object_id});
    });
  }

  void dead(OperationReport& rep, const pos::OutboxOperation& op, const detail::AttemptPlan* plan,
            const std::string& why, std::string req_id) {
    rep.outcome = Outcome::Dead;
    rep.detail = why;
    rep.request_id = req_id;
    log::error("sync.operation_dead", {{"operation_id", op.id},
                                       {"kind", pos::to_string(op.kind)},
                                       {"sale_id", op.sale_id},
                                       {"attempts", op.attempts},
                                       {"error", why}});
    record(rep, op, plan, [&](store::WriteTx& tx) -> Status {
      return tx.outbox().mark_dead(op.id, store::OperationFailure{why, req_id, {}});
    });
  }

  // A failed send or lookup: retry later (same key) or, when it cannot succeed, dead.
  void failure(OperationReport& rep, const pos::OutboxOperation& op, const Error& original,
               const detail::AttemptPlan* plan) {
    const Error e = normalized(original);
    rep.error = e.kind;
    rep.rate_limited = rep.rate_limited || is_rate_limited(e);
    const std::string why = e.describe();
    if (!retryable(e.kind)) return dead(rep, op, plan, why, request_id(e));
    if (op.attempts >= config.max_attempts) {
      return dead(rep, op, plan, "gave up after " + std::to_string(op.attempts) + " attempts: " + why,
                  request_id(e));
    }
    const Timestamp now = clock.now();
    std::chrono::milliseconds wait = config.backoff.delay(op.attempts, random);
    if (e.kind == ErrorKind::OutcomeUnknown && http_status(e) == 409) wait = config.in_flight_retry;
    if (is_rate_limited(e)) wait = config.rate_limited_retry;
    Timestamp next = now + wait;
    if (op.kind == OperationKind::Capture) {
      const Timestamp deadline = op.created_at + config.capture_deadline;
      if (now >= deadline) {
        return dead(rep, op, plan, "capture deadline passed: " + why, request_id(e));
      }
      next = std::min(next, deadline);
    }
    rep.outcome = Outcome::Retry;
    rep.detail = why;
    rep.request_id = request_id(e);
    rep.next_attempt_at = next;
    log::warn("sync.operation_retry", {{"operation_id", op.id},
                                       {"kind", pos::to_string(op.kind)},
                                       {"attempts", op.attempts},
                                       {"error", why},
                                       {"retry_in_ms", static_cast<std::int64_t>((next - now).count())}});
    record(rep, op, plan, [&](store::WriteTx& tx) -> Status {
      return tx.outbox().mark_failed(op.id, store::OperationFailure{why, request_id(e), next});
    });
  }

  Result<detail::AttemptPlan> plan(const pos::PaymentAttempt& a, const detail::AttemptTarget& t) {
    return detail::plan_attempt(store, a, t, follow_ups(), clock.now());
  }

  // ---- payments ----------------------------------------------------------------------------

  // Applies Stripe's view of the attempt's PaymentIntent: final -> done; still open -> retry
  // (next time by retrieving it).
  void apply_payment_intent(OperationReport& rep, const pos::OutboxOperation& op, const pos::PaymentAttempt& a,
                            const PaymentIntent& pi, const std::string& req_id, bool confirm_requested) {
    const detail::Verdict v = detail::verdict_for(pi, confirm_requested);
    if (const std::string* sale = pi.metadata_value("sale_id"); sale != nullptr && *sale != a.sale_id) {
      log::error("sync.payment_intent_mismatch", {{"operation_id", op.id}, {"payment_intent", pi.id}});
    }
    if (pi.amount != a.amount || pi.currency != a.currency) {
      log::error("sync.amount_mismatch", {{"operation_id", op.id},
                                          {"payment_intent", pi.id},
                                          {"expected", a.amount},
                                          {"stripe", pi.amount}});
    }
    detail::AttemptTarget t;
    t.event = detail::event_for(v.kind, a);
    t.payment_intent_id = pi.id;
    if (v.kind == detail::Verdict::Kind::Authorized) {
      t.needs_capture = true;
      t.capturable = pi.amount_capturable;
    }
    if (v.kind == detail::Verdict::Kind::Declined) {
      t.decline_code = v.decline_code;
      t.failure_message = v.message;
    }
    auto p = plan(a, t);
    if (!p) {
      failure(rep, op, p.error(), nullptr);
      return;
    }
    if (v.kind == detail::Verdict::Kind::Unknown) {
      Error e{ErrorKind::OutcomeUnknown, "PaymentIntent " + pi.id + " is " + pi.status_text + "; checking again later",
              std::nullopt};
      failure(rep, op, e, &*p);
      return;
    }
    complete(rep, op, &*p, pi.id, req_id,
             std::string(detail::to_string(v.kind)) + (v.decline_code.empty() ? "" : " (" + v.decline_code + ")"));
  }

  asio::awaitable<void> process_payment(OperationReport& rep, pos::OutboxOperation op) {
    auto got = store.attempts().get(op.attempt_id);
    if (!got) {
      if (got.error().kind == ErrorKind::NotFound) {
        dead(rep, op, nullptr, "the operation's payment attempt " + op.attempt_id + " does not exist", {});
      } else {
        failure(rep, op, got.error(), nullptr);
      }
      co_return;
    }
    pos::PaymentAttempt a = std::move(*got);
    if (a.account_id != op.account_id) {
      // The store refuses this at enqueue; checked again because sending it would move money to
      // the wrong merchant.
      dead(rep, op, nullptr,
           "operation account " + op.account_id + " differs from the attempt's " + a.account_id + "; not sent", {});
      co_return;
    }
    const bool confirm_requested = body_field(op.body, "confirm").value_or("") == "true";
    if (pos::is_final(a.state)) {
      // Stripe's answer already arrived (by webhook, or an earlier run recorded the attempt but
      // not the operation): nothing to send.
      complete(rep, op, nullptr, a.payment_intent_id, {}, "already " + std::string(pos::to_string(a.state)));
      co_return;
    }
    if (a.state == AttemptState::StoredOffline || a.state == AttemptState::Collecting) {
      // Forwarding: durable before the request leaves.
      store::AttemptUpdate u;
      u.attempt_id = a.id;
      u.event = a.state == AttemptState::StoredOffline ? pos::AttemptEvent::Forwarded : pos::AttemptEvent::Submitted;
      auto fwd = store.attempts().update(u);
      if (!fwd) {
        failure(rep, op, fwd.error(), nullptr);
        co_return;
      }
      a.state = fwd->to;
    }

    // Resolve before re-sending: a known PaymentIntent is retrieved, never re-created.
    if (!a.payment_intent_id.empty()) {
      rep.looked_up = true;
      auto pi = co_await client.async_retrieve_payment_intent(a.payment_intent_id, read_options(op));
      if (!pi) {
        failure(rep, op, pi.error().kind == ErrorKind::NotFound ? Error{ErrorKind::Internal, pi.error().message,
                                                                        pi.error().stripe}
                                                                : pi.error(),
                nullptr);
        co_return;
      }
      apply_payment_intent(rep, op, a, *pi, {}, confirm_requested);
      co_return;
    }
    const Timestamp now = clock.now();
    if (op.attempts > 1 && op.first_sent_at && now - *op.first_sent_at >= config.key_retention_margin) {
      // The key may have been pruned: the same key could now create a second PaymentIntent.
      rep.looked_up = true;
      auto found = co_await search_for(op, a);
      if (!found) {
        failure(rep, op, found.error(), nullptr);
        co_return;
      }
      if (*found) {
        log::info("sync.resolved_by_lookup", {{"operation_id", op.id}, {"payment_intent", (*found)->id}});
        apply_payment_intent(rep, op, a, **found, {}, confirm_requested);
        co_return;
      }
      log::info("sync.lookup_found_nothing", {{"operation_id", op.id}, {"sale_id", op.sale_id}});
    }

    rep.sent = true;
    auto r = co_await client.async_request_encoded(op.method, op.path, op.body, options_for(op));
    if (!r) r = fail(normalized(r.error()));
    if (r) {
      auto pi = parse_payment_intent(r->body);
      if (!pi) {
        failure(rep, op, Error{ErrorKind::OutcomeUnknown, "unreadable PaymentIntent: " + pi.error().message, {}},
                nullptr);
        co_return;
      }
      apply_payment_intent(rep, op, a, *pi, r->request_id, confirm_requested);
      co_return;
    }
    const Error& e = r.error();
    if (e.kind == ErrorKind::Declined) {
      detail::AttemptTarget t;
      t.event = pos::AttemptEvent::StripeDeclined;
      t.payment_intent_id = e.stripe ? e.stripe->payment_intent_id : std::string();
      t.decline_code = e.stripe ? (!e.stripe->decline_code.empty() ? e.stripe->decline_code : e.stripe->code)
                                : std::string();
      t.failure_message = e.message;
      auto p = plan(a, t);
      if (!p) {
        failure(rep, op, p.error(), nullptr);
        co_return;
      }
      complete(rep, op, &*p, t.payment_intent_id, request_id(e), "declined (" + t.decline_code + ")");
      co_return;
    }
    if (e.kind == ErrorKind::OutcomeUnknown) {
      detail::AttemptTarget t;
      t.event = pos::AttemptEvent::NoAnswer;
      auto p = plan(a, t);
      if (!p) {
        failure(rep, op, p.error(), nullptr);
        co_return;
      }
      failure(rep, op, e, &*p);
      co_return;
    }
    failure(rep, op, e, nullptr);
  }

  // PaymentIntents of this attempt, found by metadata (search), best first; nullopt when none.
  asio::awaitable<Result<std::optional<PaymentIntent>>> search_for(const pos::OutboxOperation& op,
                                                                   const pos::PaymentAttempt& a) {
    std::vector<PaymentIntent> matches;
    std::string page;
    for (int pages = 0; pages < 20; ++pages) {
      auto r = co_await client.async_search_payment_intents(search_query_metadata("sale_id", a.sale_id),
                                                            read_options(op), 100, page);
      if (!r) co_return fail(r.error());
      for (auto& pi : r->data) {
        const std::string* n = pi.metadata_value("attempt");
        if (n != nullptr && *n == std::to_string(a.number)) matches.push_back(std::move(pi));
      }
      if (!r->has_more || r->next_page.empty()) break;
      page = r->next_page;
    }
    if (matches.empty()) co_return std::optional<PaymentIntent>{};
    std::stable_sort(matches.begin(), matches.end(),
                     [](const PaymentIntent& x, const PaymentIntent& y) { return rank(x) > rank(y); });
    if (matches.size() > 1) {
      std::string ids;
      for (const auto& m : matches) ids += (ids.empty() ? "" : ",") + m.id;
      log::error("sync.duplicate_payment_intents", {{"attempt_id", a.id}, {"payment_intents", ids}});
      (void)store.journal().append_audit(store::AuditEntry{0, {}, config.actor, "sync.duplicate_payment_intents", a.id, ids});
    }
    co_return std::optional<PaymentIntent>(std::move(matches.front()));
  }

  // ---- captures, cancels, refunds, anything else -------------------------------------------

  asio::awaitable<void> process_capture(OperationReport& rep, pos::OutboxOperation op) {
    std::optional<pos::PaymentAttempt> a;
    if (!op.attempt_id.empty()) {
      auto got = store.attempts().get(op.attempt_id);
      if (!got) {
        failure(rep, op, got.error(), nullptr);
        co_return;
      }
      a = std::move(*got);
    }
    auto sale = store.sales().get(op.sale_id);
    if (!sale) {
      failure(rep, op, sale.error(), nullptr);
      co_return;
    }
    const bool abandoned = (a && a->state == AttemptState::Canceled) || sale->state == pos::SaleState::Voided;
    if (abandoned && a) {
      // Never capture an abandoned authorization: find out where it stands, then cancel it.
      rep.looked_up = true;
      auto pi = co_await client.async_retrieve_payment_intent(a->payment_intent_id, read_options(op));
      if (!pi) {
        failure(rep, op, pi.error(), nullptr);
        co_return;
      }
      if (pi->status == PaymentIntentStatus::RequiresCapture) {
        auto cancel = make_cancel_operation(*a, pi->id, "abandoned", cancel_key_for(*a), clock.now());
        if (!cancel) {
          dead(rep, op, nullptr, cancel.error().describe(), {});
          co_return;
        }
        auto existing = store.outbox().for_sale(op.sale_id);
        bool queued = false;
        if (existing) {
          for (const auto& o : *existing) queued = queued || o.idempotency_key == cancel->idempotency_key;
        }
        rep.outcome = Outcome::Done;
        rep.stripe_object_id = pi->id;
        rep.detail = "abandoned authorization: not captured, cancel queued";
        record(rep, op, nullptr, [&](store::WriteTx& tx) -> Status {
          if (!queued) {
            if (auto q = tx.outbox().enqueue(*cancel); !q) return fail(q.error());
          }
          if (auto au = tx.journal().append_audit(store::AuditEntry{0, {}, config.actor, "capture.skipped_abandoned", a->id,
                                                          pi->id});
              !au) {
            return fail(au.error());
          }
          return tx.outbox().complete(op.id, store::OperationOutcome{{}, pi->id});
        });
        co_return;
      }
      complete(rep, op, nullptr, pi->id, {}, "abandoned; PaymentIntent is " + pi->status_text);
      co_return;
    }
    rep.sent = true;
    auto r = co_await client.async_request_encoded(op.method, op.path, op.body, options_for(op));
    if (!r) {
      failure(rep, op, r.error(), nullptr);
      co_return;
    }
    auto pi = parse_payment_intent(r->body);
    if (!pi) {
      failure(rep, op, Error{ErrorKind::OutcomeUnknown, "unreadable capture answer: " + pi.error().message, {}},
              nullptr);
      co_return;
    }
    if (pi->status == PaymentIntentStatus::Succeeded) {
      complete(rep, op, nullptr, pi->id, r->request_id, "captured " + std::to_string(pi->amount_received));
      co_return;
    }
    if (pi->status == PaymentIntentStatus::Canceled && a) {
      auto p = plan(*a, detail::AttemptTarget{pos::AttemptEvent::StripeCanceled, pi->id, {}, {}, false, 0});
      if (!p) {
        failure(rep, op, p.error(), nullptr);
        co_return;
      }
      complete(rep, op, &*p, pi->id, r->request_id, "PaymentIntent was canceled before capture");
      co_return;
    }
    failure(rep, op,
            Error{ErrorKind::OutcomeUnknown, "capture answered with status " + pi->status_text, std::nullopt},
            nullptr);
  }

  asio::awaitable<void> process_cancel(OperationReport& rep, pos::OutboxOperation op) {
    rep.sent = true;
    auto r = co_await client.async_request_encoded(op.method, op.path, op.body, options_for(op));
    if (!r) {
      failure(rep, op, r.error(), nullptr);
      co_return;
    }
    auto pi = parse_payment_intent(r->body);
    if (!pi) {
      failure(rep, op, Error{ErrorKind::OutcomeUnknown, "unreadable cancel answer: " + pi.error().message, {}},
              nullptr);
      co_return;
    }
    std::optional<detail::AttemptPlan> p;
    if (!op.attempt_id.empty() && pi->status == PaymentIntentStatus::Canceled) {
      auto a = store.attempts().get(op.attempt_id);
      if (a) {
        auto planned = plan(*a, detail::AttemptTarget{pos::AttemptEvent::StripeCanceled, pi->id, {}, {}, false, 0});
        if (!planned) {
          failure(rep, op, planned.error(), nullptr);
          co_return;
        }
        p = std::move(*planned);
      }
    }
    complete(rep, op, p ? &*p : nullptr, pi->id, r->request_id, "PaymentIntent " + pi->status_text);
  }

  asio::awaitable<void> process_refund(OperationReport& rep, pos::OutboxOperation op) {
    rep.sent = true;
    auto r = co_await client.async_request_encoded(op.method, op.path, op.body, options_for(op));
    if (!r) {
      failure(rep, op, r.error(), nullptr);
      co_return;
    }
    auto refund = parse_refund(r->body);
    if (!refund) {
      failure(rep, op, Error{ErrorKind::OutcomeUnknown, "unreadable refund answer: " + refund.error().message, {}},
              nullptr);
      co_return;
    }
    complete(rep, op, nullptr, refund->id, r->request_id,
             "refund " + refund->status + " " + std::to_string(refund->amount) + " " + refund->currency);
  }

  asio::awaitable<void> process_other(OperationReport& rep, pos::OutboxOperation op) {
    rep.sent = true;
    auto r = co_await client.async_request_encoded(op.method, op.path, op.body, options_for(op));
    if (!r) {
      failure(rep, op, r.error(), nullptr);
      co_return;
    }
    complete(rep, op, nullptr, json_id(r->body), r->request_id, "accepted");
  }

  asio::awaitable<OperationReport> process(pos::OutboxOperation op) {
    OperationReport rep = report_for(op);
    switch (op.kind) {
      case OperationKind::CreatePaymentIntent: co_await process_payment(rep, std::move(op)); break;
      case OperationKind::Capture: co_await process_capture(rep, std::move(op)); break;
      case OperationKind::Cancel: co_await process_cancel(rep, std::move(op)); break;
      case OperationKind::Refund: co_await process_refund(rep, std::move(op)); break;
      case OperationKind::ProcessPaymentIntent: co_await process_other(rep, std::move(op)); break;
    }
    co_return rep;
  }
};

Engine::Engine(store::Store& store, StripeClient& client, const Clock& clock, Random& random, EngineConfig config)
    : impl_(std::make_unique<Impl>(store, client, clock, random, std::move(config))) {}
Engine::~Engine() = default;

void Engine::set_observer(Observer observer) { impl_->observer = std::move(observer); }
const EngineConfig& Engine::config() const noexcept { return impl_->config; }
bool Engine::stopping() const noexcept { return impl_->stop_requested; }

void Engine::stop() {
  impl_->stop_requested = true;
  if (impl_->idle_timer != nullptr) impl_->idle_timer->cancel();
}

void Engine::wake() {
  if (impl_->idle_timer != nullptr) impl_->idle_timer->cancel();
}

asio::awaitable<DrainSummary> Engine::async_drain_once(int max_operations) {
  Impl& m = *impl_;
  auto ex = co_await asio::this_coro::executor;
  DrainSummary sum;
  std::deque<pos::OutboxOperation> queue;
  int running = 0;
  bool more = true;   // the store may have more due operations
  bool dirty = false;  // a worker finished since the loop last looked
  asio::steady_timer wake_up(ex);
  const int concurrency = std::max(1, m.config.concurrency);

  for (;;) {
    while (running < concurrency && !m.stop_requested) {
      if (queue.empty()) {
        if (!more) break;
        int want = std::max(m.config.claim_batch, concurrency);
        if (max_operations > 0) want = std::min(want, max_operations - sum.claimed);
        if (want <= 0) {
          more = false;
          break;
        }
        auto claimed = m.store.outbox().claim_due(m.clock.now(), want);
        if (!claimed) {
          log::error("sync.claim_failed", {{"error", claimed.error().describe()}});
          ++sum.store_errors;
          more = false;
          break;
        }
        if (claimed->empty()) {
          more = false;
          break;
        }
        sum.claimed += static_cast<int>(claimed->size());
        for (auto& op : *claimed) queue.push_back(std::move(op));
      }
      pos::OutboxOperation op = std::move(queue.front());
      queue.pop_front();
      ++running;
      asio::co_spawn(ex, m.process(std::move(op)),
                     [&](std::exception_ptr e, OperationReport rep) {
                       --running;
                       dirty = true;
                       // Its result may have queued a follow-up (a capture, a cancel) that is due now.
                       more = true;
                       wake_up.cancel();
                       if (e) {
                         // Nothing in process() throws by design; if something did (bad_alloc),
                         // the operation stays in_flight and is recovered at the next start.
                         ++sum.stuck;
                         log::error("sync.worker_exception", {{"operation_id", rep.operation_id}});
                         return;
                       }
                       switch (rep.outcome) {
                         case Outcome::Done: ++sum.done; break;
                         case Outcome::Retry: ++sum.retry; break;
                         case Outcome::Dead: ++sum.dead; break;
                         case Outcome::Stuck:
                           ++sum.stuck;
                           ++sum.store_errors;
                           break;
                       }
                       if (rep.attempt_state == AttemptState::InDoubt) ++sum.in_doubt;
                       if (rep.rate_limited) ++sum.rate_limited;
                       if (rep.looked_up) ++sum.looked_up;
                       if (m.observer) m.observer(rep);
                     });
    }
    if (running == 0 && (queue.empty() || m.stop_requested) && (!more || m.stop_requested)) break;
    if (!dirty) {
      wake_up.expires_at(asio::steady_timer::time_point::max());
      co_await wake_up.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    dirty = false;
  }
  if (!queue.empty()) {
    // Stopped with claimed operations not started: hand them back (same key, due now).
    auto n = m.store.outbox().recover_in_flight();
    if (!n) ++sum.store_errors;
  }
  co_return sum;
}

asio::awaitable<void> Engine::async_run() {
  Impl& m = *impl_;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer idle(ex);
  while (!m.stop_requested) {
    (void)co_await async_drain_once();
    if (m.stop_requested) break;
    idle.expires_after(m.config.idle_poll);
    m.idle_timer = &idle;
    co_await idle.async_wait(asio::as_tuple(asio::use_awaitable));
    m.idle_timer = nullptr;
  }
  m.idle_timer = nullptr;
}

}  // namespace till::sync
