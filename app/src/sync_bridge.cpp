#include "sync_bridge.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "till/base/log.hpp"

namespace till::app::detail {
namespace asio = boost::asio;

void SyncBridge::create_engine() {
  engine_ = std::make_unique<sync::Engine>(*core_.store, *core_.client, *core_.clock, *core_.random);
  engine_->set_observer([this](const sync::OperationReport& r) { on_report(r); });
}

void SyncBridge::start() {
  if (core_.stop_requested || !engine_) return;
  done_ = false;
  asio::co_spawn(core_.io, drive(), [this](std::exception_ptr) { done_ = true; });
}

void SyncBridge::wake() {
  if (idle_timer_ != nullptr) idle_timer_->cancel();
}

void SyncBridge::check_now() {
  check_now_ = true;
  wake();
}

void SyncBridge::stop() {
  if (!engine_) {
    done_ = true;
    return;
  }
  engine_->stop();
  wake();
}

// Drain what is due, then wait for the next poll or a wake(). While the register is offline
// nothing is drained: the loop checks every probe_interval whether Stripe answers again and
// drains as soon as it does, so stored payments stay stored (and counted against the caps) until
// there is a connection.
asio::awaitable<void> SyncBridge::drive() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!core_.stop_requested) {
    if (check_now_ || online_ == false) {
      check_now_ = false;
      const bool up = co_await check_connectivity();
      if (core_.stop_requested) break;
      set_online(up);
      if (up) post_offline_status();
    }
    if (online_ != false) (void)co_await engine_->async_drain_once();
    if (core_.stop_requested) break;
    timer.expires_after(online_ == false ? core_.config.probe_interval : engine_->config().idle_poll);
    idle_timer_ = &timer;
    (void)co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    idle_timer_ = nullptr;
  }
  idle_timer_ = nullptr;
}

// Does Stripe answer? A cheap GET that changes nothing; an error answer (401, 403, ...) still
// proves the way to Stripe is open.
asio::awaitable<bool> SyncBridge::check_connectivity() {
  sync::FormParams none;
  sync::RequestOptions options(core_.account_id());
  auto r = co_await core_.client->async_request("GET", "/v1/account", std::move(none), std::move(options));
  if (r) co_return true;
  const ErrorKind k = r.error().kind;
  co_return k != ErrorKind::Unavailable && k != ErrorKind::OutcomeUnknown;
}

void SyncBridge::on_report(const sync::OperationReport& r) {
  if (r.error && (*r.error == ErrorKind::Unavailable || *r.error == ErrorKind::OutcomeUnknown)) {
    set_online(false);
  } else if (r.outcome == sync::OperationReport::Outcome::Done) {
    set_online(true);
  }
  if (!r.attempt_id.empty() && r.attempt_state) {
    auto a = core_.store->get_attempt(r.attempt_id);
    if (a) report_attempt(*a, r.detail);
  }
  post_offline_status();
}

// Stripe's answer for an attempt, as the reducer's Action: what the engine recorded on disk is
// the fact; the kiosk is told once, and an attempt it was told is in doubt gets InDoubtResolved.
void SyncBridge::report_attempt(const pos::PaymentAttempt& a, const std::string& detail) {
  using A = pos::AttemptState;
  const bool was_in_doubt = in_doubt_reported_.count(a.id) > 0;
  switch (a.state) {
    case A::Approved:
      // A payment stored offline and forwarded now: the sale was completed at the counter
      // back then; only the offline totals change (post_offline_status).
      if (a.offline && !was_in_doubt) break;
      if (was_in_doubt) {
        in_doubt_reported_.erase(a.id);
        core_.emit(pos::InDoubtResolved{a.id, pos::AttemptEvent::StripeApproved, a.payment_intent_id, {}, {}, a.card});
      } else {
        core_.emit(pos::PaymentApproved{a.id, a.payment_intent_id, a.card});
      }
      break;
    case A::Declined:
    case A::DeclinedAfterForward:
      if (was_in_doubt) {
        in_doubt_reported_.erase(a.id);
        core_.emit(pos::InDoubtResolved{a.id, pos::AttemptEvent::StripeDeclined, a.payment_intent_id, a.decline_code,
                                        a.failure_message, a.card});
      } else {
        core_.emit(pos::PaymentDeclined{a.id, a.decline_code, a.failure_message, a.payment_intent_id});
      }
      break;
    case A::InDoubt:
      if (in_doubt_reported_.insert(a.id).second) core_.emit(pos::PaymentOutcomeUnknown{a.id, detail});
      break;
    case A::Canceled:
      // Stripe canceled it, or has no such PaymentIntent: not charged (without this an in-doubt
      // sale would wait on the screen for an answer that has already come).
      if (was_in_doubt) {
        in_doubt_reported_.erase(a.id);
        core_.emit(pos::InDoubtResolved{a.id, pos::AttemptEvent::StripeCanceled, a.payment_intent_id, {},
                                        a.failure_message, a.card});
      }
      break;
    default: break;
  }
}

void SyncBridge::set_online(bool now_online) {
  if (online_ == now_online) return;
  online_ = now_online;
  log::info("app.connectivity", {{"online", now_online}});
  core_.emit(pos::ConnectivityChanged{now_online});
}

void SyncBridge::post_offline_status() {
  auto status = core_.store->status();
  if (!status) return;
  pos::StoredTotals totals;
  for (const auto& c : status->offline_stored) {
    totals.by_currency[c.currency] = pos::StoredCurrency{c.count, c.amount};
    totals.count += c.count;
    if (!totals.oldest || c.oldest < *totals.oldest) totals.oldest = c.oldest;
  }
  core_.emit(pos::OfflineStatusUpdated{std::move(totals)});
}

}  // namespace till::app::detail
