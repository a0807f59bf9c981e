#include "till/sync/engine.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine_impl.hpp"
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

Engine::Engine(Ledger& ledger, StripeClient& client, const Clock& clock, Random& random, EngineConfig config)
    : impl_(std::make_unique<Impl>(nullptr, ledger, client, clock, random, std::move(config))) {}
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
  bool more = true;   // the ledger may have more due operations
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
        auto claimed = m.ledger.claim_due(m.clock.now(), want);
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
    std::vector<std::int64_t> ids;
    for (const auto& op : queue) ids.push_back(op.id);
    if (!m.ledger.release_claimed(ids)) ++sum.store_errors;
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
