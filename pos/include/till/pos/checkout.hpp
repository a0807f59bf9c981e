#pragma once
// The checkout reducer: update(Model, Action, Context) -> {Model, Effects}. Every state change
// of the kiosk goes through here (lager style); views read the Model and dispatch Actions; the
// app's effect runner performs the Effects on the core thread and reports results back as
// Actions. Pure and synchronous: time, ids and configuration arrive in the Context.
//
// Where things are: checkout_model.hpp (what views read), checkout_actions.hpp (what views and
// the runner dispatch), checkout_effects.hpp (what the runner performs), words.hpp (every
// string the cashier reads), attempt.hpp (the payment attempt's state machine). The reducer
// itself is pos/src/checkout/, one file per concern (its reducer.hpp lists them).
//
// EFFECT RUNNER CONTRACT (app/): effects run in the order given. If a durable effect
// (PersistSale, UpdateSaleState, CreateAttempt, UpdateAttempt, EnqueueOperation) fails, the
// runner skips the REST of that list and dispatches StoreFailed: a card is never collected for
// a sale or attempt that is not on disk. After a list containing PersistSale succeeds it
// dispatches SaleSaved.
//
// ATTEMPTS change only by events: the reducer applies an AttemptEvent with next_state()
// (attempt.hpp) to its model and emits UpdateAttempt{attempt, event}; the store applies the same
// event itself. A report the machine refuses (late, stale, out of order) changes nothing.
//
// FLOWS (details in pos/README.md)
//  Charge      -> [PersistSale (sale tendering), CreateAttempt (key fixed now), StartCollect]
//  CardCollected online  -> [UpdateAttempt(submitted), EnqueueOperation(intent: create PI, same key)]
//  CardCollected offline / PaymentStoredOffline -> risk policy: allowed -> [UpdateAttempt
//              (stored_offline), EnqueueOperation, (sale paid ...)]; refused -> [UpdateAttempt
//              (offline_refused: canceled)], another card or cash.
//  PaymentApproved -> [UpdateAttempt(stripe_approved), (UpdateSaleState paid, PrintReceipt)]. A
//              sale is marked paid only when the money covers it and no card attempt is live.
//  PaymentDeclined -> [UpdateAttempt(reader_declined | stripe_declined), PrintReceipt(declined)];
//              a reason the cashier can act on; RetryWithAnotherCard = a NEW attempt, NEW key.
//  PaymentOutcomeUnknown -> [UpdateAttempt(no_answer: in_doubt), ResolveInDoubt]; "Outcome
//              unknown ... do not retry the card"; no retry, cash, cancel or new sale until
//              InDoubtResolved: approved, declined, or not charged (never shown as a decline).
//  Actions that make no sense in the current phase (Charge twice, cart edits while tendering,
//  ...) are rejected: the model is unchanged except `notice`, and there are no effects (the one
//  exception: a wrong manager PIN is audited). Late or repeated events for an attempt that has
//  moved on are ignored without touching the model.

#include <string>
#include <string_view>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/pos/catalog.hpp"
#include "till/pos/checkout_actions.hpp"
#include "till/pos/checkout_effects.hpp"
#include "till/pos/checkout_model.hpp"
#include "till/pos/money.hpp"
#include "till/pos/receipt.hpp"
#include "till/pos/risk.hpp"
#include "till/pos/words.hpp"

namespace till::pos {

struct Context {
  Timestamp now{};
  Random& random;               // ids and idempotency keys (UUIDv4); SeededRandom in tests
  std::string register_id;
  std::string account_id;       // connected account (acct_...) bound to every attempt
  Currency currency;            // the register's currency; must equal catalog.currency()
  const Catalog& catalog;
  RiskConfig risk;
  Merchant merchant;
  std::string manager_pin;      // compared, never stored in the model, logged or audited
  // How card payments are captured (OperationIntent::capture_method): automatic | manual. The
  // platform's application fee is not the reducer's: the app applies its fee rule when it builds
  // the request.
  std::string capture_method = "automatic";
};

struct Update {
  Model model;
  std::vector<Effect> effects;
};

// The reducer. Pure and deterministic given the Context; call on the UI thread. Never fails:
// a rejected action returns the model with `notice` set and no effects.
Update update(Model model, const Action& action, const Context& context);

// The model a register starts with: the sell screen, online, headroom under the caps computed.
// Any thread; never fails.
Model initial_model(const Context& context);

// decline_advice(code) (attempt.hpp), kept for the views that call it by this name.
std::string decline_reason(const std::string& code);

// The UTC calendar day of `t` as YYYY-MM-DD. Any thread.
std::string utc_day(Timestamp t);

}  // namespace till::pos
