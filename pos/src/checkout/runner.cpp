// The effect runner's feedback (sale saved, store failed), the connection to Stripe, the offline
// totals and headroom under the risk caps, and the register's database check.
#include <algorithm>
#include <chrono>

#include "reducer.hpp"

namespace till::pos::detail {

void Reducer::operator()(const SaleSaved& a) {
  if (m_.sale && m_.sale->id == a.sale_id) {
    m_.sale_saved = true;
    if (m_.store_check != StoreCheck::Failed) m_.storage_error.clear();
  }
}

void Reducer::operator()(const StoreFailed& a) {
  m_.storage_error = a.message;
  PaymentAttempt* at = active_mut();
  // The runner stops at the failing effect, so a card collection or a submission that was
  // in the same list never started: nothing was charged for this attempt.
  if (at != nullptr && (m_.phase == PaymentPhase::Collecting || m_.phase == PaymentPhase::Canceling)) {
    // Its row may not exist at all: the attempt leaves the model (not a transition).
    const std::string id = at->id;  // copied: remove_if moves the element `at` points to
    m_.attempts.erase(std::remove_if(m_.attempts.begin(), m_.attempts.end(),
                                     [&](const PaymentAttempt& x) { return x.id == id; }),
                      m_.attempts.end());
    m_.active_attempt_id.reset();
    m_.phase = PaymentPhase::Failed;
    // The sale itself may not be on disk either: with nothing paid, reopen it in the model so
    // the next tender emits PersistSale (an upsert) again before anything else.
    if (!m_.sale_saved && m_.sale && m_.sale->state == SaleState::Tendering && amount_paid(m_) == 0) {
      m_.sale->state = SaleState::Open;
    }
  } else if (at != nullptr && m_.phase == PaymentPhase::Authorizing) {
    // The submission was in the failed list: no request left (nothing to record, the store is
    // what failed).
    at->failure_message = "could not be saved: " + a.message;
    apply(*at, AttemptEvent::NotCharged);
    m_.phase = PaymentPhase::Failed;
  }
  notice(NoticeLevel::Error, std::string(words::kCouldNotSave), a.message);
}

void Reducer::operator()(const ConnectivityChanged& a) {
  m_.offline.online = a.online;
  refresh_offline();
  // A card read online whose submission could not reach Stripe waits, still authorizing: the
  // engine sends it (same key) as soon as the connection returns. Say so, so nobody retries it.
  if (!a.online && m_.phase == PaymentPhase::Authorizing) {
    notice(NoticeLevel::Warning, std::string(words::kWaitsForStripe));
  }
}

void Reducer::operator()(const OfflineStatusUpdated& a) {
  m_.offline.stored = a.stored;
  refresh_offline();
}

void Reducer::operator()(const StoreCheckStarted&) {
  if (m_.store_check == StoreCheck::Failed) return;  // a failed check stays failed
  m_.store_check = StoreCheck::Checking;
}

void Reducer::operator()(const StoreChecked& a) {
  if (a.ok) {
    if (m_.store_check == StoreCheck::Failed) return;
    m_.store_check = StoreCheck::Passed;
    m_.store_check_error.clear();
    return;
  }
  m_.store_check = StoreCheck::Failed;
  m_.store_check_error = a.message;
  m_.storage_error = "The register's database failed its check (" + a.message + "); no sale can be taken";
}

void Reducer::refresh_offline() {
  OfflineStatus& o = m_.offline;
  o.headroom.clear();
  std::vector<std::string> currencies{std::string(ctx_.currency.code())};
  for (const auto& [code, _] : o.stored.by_currency) {
    if (std::find(currencies.begin(), currencies.end(), code) == currencies.end()) currencies.push_back(code);
  }
  for (const auto& c : currencies) o.headroom.push_back(headroom(ctx_.risk, o.stored, c));
  o.oldest_age = o.stored.oldest && *o.stored.oldest < ctx_.now
                     ? std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.now - *o.stored.oldest)
                     : std::chrono::milliseconds{0};
  // The caps that do not depend on the next payment's amount or card: if one is reached, no
  // card payment can be stored and the kiosk must require online.
  const OfflinePayment probe{0, std::string(ctx_.currency.code()), "", "", false, ctx_.now};
  const RiskDecision d = evaluate(ctx_.risk, o.stored, probe);
  const auto* refused = std::get_if<Refused>(&d);
  o.require_online_reason = refused != nullptr ? refused->message : std::string();
}

}  // namespace till::pos::detail
