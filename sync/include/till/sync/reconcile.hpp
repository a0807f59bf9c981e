#pragma once
// Reconciliation (issue 4, `till-sync reconcile`): the register's card payments compared with the
// PaymentIntents Stripe holds for them, matched by metadata[sale_id] + metadata[attempt].
//
// Findings:
//   missing_at_stripe        the register says approved; Stripe has no live PaymentIntent for it
//   missing_locally          Stripe has a PaymentIntent for a sale this register does not know
//   duplicate                more than one live PaymentIntent for one attempt (must never happen)
//   amount_mismatch          Stripe's amount or currency differs from the attempt's
//   authorized_not_captured  requires_capture: capture or cancel before the hold lapses
//   state_mismatch           both sides know it but disagree (e.g. Stripe succeeded, local in_doubt)
//
// reconcile() is pure (any thread). The fetching functions run on the core thread.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/pos/records.hpp"
#include "till/pos/states.hpp"
#include "till/store/store.hpp"
#include "till/sync/stripe_client.hpp"
#include "till/sync/stripe_types.hpp"

namespace till::sync {

struct LocalPayment {
  std::string sale_id;
  std::string register_id;
  std::string attempt_id;
  int attempt_number = 1;
  std::string account;
  std::int64_t amount = 0;
  std::string currency;
  pos::AttemptState state = pos::AttemptState::Submitting;
  std::string payment_intent_id;
};

struct RemotePayment {
  std::string account;
  PaymentIntent payment_intent;
};

struct ReconcileFinding {
  enum class Kind { MissingAtStripe, MissingLocally, Duplicate, AmountMismatch, AuthorizedNotCaptured, StateMismatch };
  Kind kind = Kind::StateMismatch;
  std::string sale_id;
  std::string attempt_id;
  std::string account;
  std::vector<std::string> payment_intents;
  std::string detail;
};
std::string_view to_string(ReconcileFinding::Kind kind) noexcept;

struct ReconcileReport {
  int local_payments = 0;
  int remote_payment_intents = 0;
  int matched = 0;  // attempts whose state, amount and PaymentIntent agree with Stripe's
  std::vector<ReconcileFinding> findings;
  bool clean() const noexcept { return findings.empty(); }
};

// `sale_known(id)`: does this register hold the sale (maybe outside the compared range)?
// Remote PaymentIntents whose metadata[register_id] is not in `register_ids` (when non-empty)
// belong to another register and are ignored.
ReconcileReport reconcile(const std::vector<LocalPayment>& local, const std::vector<RemotePayment>& remote,
                          const std::function<bool(const std::string&)>& sale_known,
                          const std::vector<std::string>& register_ids);

// The registers a reconcile of this register compares with Stripe: its own id (store/identity.hpp;
// empty when the database has none yet) and the ids its own sales in range carry (an older build
// wrote the literal reg_1). Pass it as reconcile()'s register_ids: the other registers of the shop
// share the account, and their PaymentIntents are theirs, not missing here.
std::vector<std::string> reconcile_scope(std::string_view own_register_id, const std::vector<LocalPayment>& local);

// Card attempts of the sales created in [from, to), with their sale's register.
Result<std::vector<LocalPayment>> local_payments(store::Store& store, Timestamp from, Timestamp to);

// PaymentIntents of each account created in [from - slack, to + slack) with a metadata[sale_id],
// newest first through list pagination (Stripe lists newest first; the walk stops at the first
// older one). Unavailable / other errors as the client reports them.
boost::asio::awaitable<Result<std::vector<RemotePayment>>> async_fetch_payment_intents(
    StripeClient& client, std::vector<std::string> accounts, Timestamp from, Timestamp to,
    std::chrono::hours slack = std::chrono::hours(24));

}  // namespace till::sync
