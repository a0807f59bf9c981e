#include "till/sync/reconcile.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace till::sync {

using Kind = ReconcileFinding::Kind;
using pos::AttemptState;

std::string_view to_string(ReconcileFinding::Kind kind) noexcept {
  switch (kind) {
    case Kind::MissingAtStripe: return "missing_at_stripe";
    case Kind::MissingLocally: return "missing_locally";
    case Kind::Duplicate: return "duplicate";
    case Kind::AmountMismatch: return "amount_mismatch";
    case Kind::AuthorizedNotCaptured: return "authorized_not_captured";
    case Kind::StateMismatch: return "state_mismatch";
  }
  return "unknown";
}

namespace {

bool live(const PaymentIntent& pi) {
  return pi.status == PaymentIntentStatus::Succeeded || pi.status == PaymentIntentStatus::RequiresCapture ||
         pi.status == PaymentIntentStatus::Processing;
}

std::vector<std::string> ids_of(const std::vector<const RemotePayment*>& v) {
  std::vector<std::string> out;
  for (const auto* r : v) out.push_back(r->payment_intent.id);
  return out;
}

}  // namespace

ReconcileReport reconcile(const std::vector<LocalPayment>& local, const std::vector<RemotePayment>& remote,
                          const std::function<bool(const std::string&)>& sale_known,
                          const std::vector<std::string>& register_ids) {
  ReconcileReport rep;
  rep.local_payments = static_cast<int>(local.size());
  const std::set<std::string> registers(register_ids.begin(), register_ids.end());

  // Stripe's side, by (sale, attempt number).
  std::map<std::pair<std::string, std::string>, std::vector<const RemotePayment*>> by_attempt;
  for (const auto& r : remote) {
    const std::string* sale = r.payment_intent.metadata_value("sale_id");
    if (sale == nullptr) continue;
    const std::string* reg = r.payment_intent.metadata_value("register_id");
    if (!registers.empty() && reg != nullptr && !registers.contains(*reg)) continue;
    const std::string* n = r.payment_intent.metadata_value("attempt");
    by_attempt[{*sale, n != nullptr ? *n : std::string("?")}].push_back(&r);
    ++rep.remote_payment_intents;
  }
  std::map<std::pair<std::string, std::string>, const LocalPayment*> locals;
  for (const auto& l : local) locals[{l.sale_id, std::to_string(l.attempt_number)}] = &l;

  const auto add = [&](Kind k, const std::string& sale, const std::string& attempt, const std::string& account,
                       std::vector<std::string> pis, std::string detail) {
    rep.findings.push_back(ReconcileFinding{k, sale, attempt, account, std::move(pis), std::move(detail)});
  };

  for (const auto& [key, pis] : by_attempt) {
    std::vector<const RemotePayment*> alive;
    for (const auto* r : pis) {
      if (live(r->payment_intent)) alive.push_back(r);
    }
    const auto lit = locals.find(key);
    const LocalPayment* l = lit == locals.end() ? nullptr : lit->second;
    const std::string attempt_id = l != nullptr ? l->attempt_id : std::string();
    const std::string account = pis.front()->account;
    if (alive.size() > 1) {
      add(Kind::Duplicate, key.first, attempt_id, account, ids_of(alive),
          std::to_string(alive.size()) + " live PaymentIntents for attempt " + key.second);
    }
    for (const auto* r : alive) {
      if (r->payment_intent.status == PaymentIntentStatus::RequiresCapture) {
        add(Kind::AuthorizedNotCaptured, key.first, attempt_id, r->account, {r->payment_intent.id},
            "authorized " + std::to_string(r->payment_intent.amount_capturable) + " " + r->payment_intent.currency +
                ", not captured");
      }
    }
    if (l == nullptr) {
      if (alive.empty()) continue;  // declined/canceled PIs of unknown attempts move no money
      if (!sale_known(key.first)) {
        add(Kind::MissingLocally, key.first, {}, account, ids_of(alive), "Stripe holds a payment for a sale this register does not know");
      } else {
        add(Kind::StateMismatch, key.first, {}, account, ids_of(alive),
            "Stripe holds a payment for attempt " + key.second + ", which this register does not have");
      }
      continue;
    }
    const RemotePayment* best = !alive.empty() ? alive.front() : pis.front();
    const PaymentIntent& pi = best->payment_intent;
    bool agrees = true;
    if (pi.amount != l->amount || pi.currency != l->currency) {
      agrees = false;
      add(Kind::AmountMismatch, l->sale_id, l->attempt_id, l->account, {pi.id},
          "Stripe " + std::to_string(pi.amount) + " " + pi.currency + ", register " + std::to_string(l->amount) +
              " " + l->currency);
    }
    if (best->account != l->account) {
      agrees = false;
      add(Kind::StateMismatch, l->sale_id, l->attempt_id, best->account, {pi.id},
          "PaymentIntent is on account " + best->account + ", the attempt was taken for " + l->account);
    }
    const bool local_money = l->state == AttemptState::Approved;
    if (local_money && alive.empty()) {
      agrees = false;
      add(Kind::MissingAtStripe, l->sale_id, l->attempt_id, l->account, ids_of(pis),
          "approved locally; Stripe's PaymentIntent is " + pi.status_text);
    } else if (!local_money && !alive.empty()) {
      agrees = false;
      add(Kind::StateMismatch, l->sale_id, l->attempt_id, l->account, ids_of(alive),
          "Stripe " + pi.status_text + ", register " + std::string(pos::to_string(l->state)) +
              (l->state == AttemptState::InDoubt || l->state == AttemptState::Submitting
                   ? " (the engine will settle it)"
                   : ""));
    } else if (!l->payment_intent_id.empty() && l->payment_intent_id != pi.id && !alive.empty()) {
      agrees = false;
      add(Kind::StateMismatch, l->sale_id, l->attempt_id, l->account, {pi.id, l->payment_intent_id},
          "register recorded a different PaymentIntent");
    }
    if (agrees && alive.size() <= 1) ++rep.matched;
  }
  for (const auto& l : local) {
    if (by_attempt.contains({l.sale_id, std::to_string(l.attempt_number)})) continue;
    if (l.state == AttemptState::Approved) {
      add(Kind::MissingAtStripe, l.sale_id, l.attempt_id, l.account, {},
          "approved locally; no PaymentIntent found at Stripe");
    }
  }
  return rep;
}

std::vector<std::string> reconcile_scope(std::string_view own_register_id, const std::vector<LocalPayment>& local) {
  std::set<std::string> ids;
  if (!own_register_id.empty()) ids.insert(std::string(own_register_id));
  for (const auto& l : local) ids.insert(l.register_id);
  return {ids.begin(), ids.end()};
}

Result<std::vector<LocalPayment>> local_payments(store::Store& store, Timestamp from, Timestamp to) {
  auto sales = store.sales().between(from, to);
  if (!sales) return fail(sales.error());
  std::vector<LocalPayment> out;
  for (const auto& s : *sales) {
    auto attempts = store.attempts().for_sale(s.id);
    if (!attempts) return fail(attempts.error());
    for (const auto& a : *attempts) {
      if (a.tender != pos::TenderKind::Card) continue;
      out.push_back(LocalPayment{s.id, s.register_id, a.id, a.number, a.account_id, a.amount, a.currency, a.state,
                                 a.payment_intent_id});
    }
  }
  return out;
}

boost::asio::awaitable<Result<std::vector<RemotePayment>>> async_fetch_payment_intents(
    StripeClient& client, std::vector<std::string> accounts, Timestamp from, Timestamp to, std::chrono::hours slack) {
  std::vector<RemotePayment> out;
  const std::int64_t lo = to_unix_ms(from - slack) / 1000;
  const std::int64_t hi = to_unix_ms(to + slack) / 1000;
  for (const auto& account : accounts) {
    ListParams lp;
    lp.limit = 100;
    for (int pages = 0; pages < 10'000; ++pages) {
      // Named, not a braced temporary inside co_await (g++ 12 may destroy such temporaries twice).
      RequestOptions options;
      options.stripe_account = account;
      auto page = co_await client.async_list_payment_intents(lp, options);
      if (!page) co_return fail(page.error());
      const std::string last = page->last_id();  // before the items are moved out
      bool older = false;
      for (auto& pi : page->data) {
        if (pi.created < lo) {
          older = true;
          break;
        }
        if (pi.created >= hi || pi.metadata_value("sale_id") == nullptr) continue;
        out.push_back(RemotePayment{account, std::move(pi)});
      }
      if (older || !page->has_more || page->data.empty()) break;
      lp.starting_after = last;
    }
  }
  co_return out;
}

}  // namespace till::sync
