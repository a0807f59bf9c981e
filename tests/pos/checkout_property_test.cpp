// Random sessions against the reducer: whatever a cashier presses and whatever the reader and
// Stripe report, in any order, the money rules hold. Deterministic (seeded); a failure prints
// the seed and step.
#include <catch2/catch.hpp>
#include <array>
#include <map>
#include <set>

#include "till/base/random.hpp"
#include "till/pos/attempt.hpp"
#include "till/pos/checkout.hpp"

using namespace till;
using namespace till::pos;
using namespace std::chrono_literals;

namespace {

Catalog catalog() {
  return *Catalog::create(Currency::of("usd"), {{"standard", "Tax", 88'750}}, {{"c", "C"}},
                          {{"latte", "Latte", "L", "111", 450, "standard", "c", false},
                           {"beans", "Beans", "B", "222", 4000, "standard", "c", false}});
}

bool open_attempt(const PaymentAttempt& a) {
  return a.state == AttemptState::Collecting || a.state == AttemptState::Submitting || a.state == AttemptState::InDoubt;
}

}  // namespace

TEST_CASE("random sessions never hold two live card attempts, never retry in doubt and never over-collect unnoticed") {
  const Catalog cat = catalog();
  std::uint64_t total_steps = 0, sales_paid = 0, in_doubts = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    SeededRandom ids(seed * 7919);
    SeededRandom dice(seed);
    Context ctx{.now = from_unix_ms(1'790'000'000'000), .random = ids, .register_id = "r", .account_id = "acct_1",
                .currency = Currency::of("usd"), .catalog = cat, .risk = RiskConfig::safe_defaults(),
                .merchant = {}, .manager_pin = "1", .capture_method = "automatic"};
    Model m = initial_model(ctx);
    std::set<std::string> persisted_sales;
    std::set<std::string> keys;
    std::map<std::string, int> pi_ops_per_attempt;
    std::set<std::string> given_up_approved;
    for (int step = 0; step < 300; ++step, ++total_steps) {
      ctx.now += 1s;
      const std::string active = m.active_attempt_id.value_or(dice.uniform(4) == 0 ? "stale" : "");
      const std::string any_attempt = m.attempts.empty() ? std::string("none") : m.attempts[dice.uniform(m.attempts.size())].id;
      const std::string target = dice.uniform(3) == 0 ? any_attempt : active;
      CardDetails card;
      card.brand = dice.uniform(5) == 0 ? "interac" : "visa";
      card.read_method = dice.uniform(5) == 0 ? "magnetic_stripe" : "contact_emv";
      std::vector<Action> pool = {
          AddProduct{dice.uniform(2) == 0 ? "latte" : "beans", 1},
          RemoveLine{dice.uniform(3)},
          SetCartDiscount{Discount::percent_ppm(static_cast<std::int64_t>(dice.uniform(300'000)))},
          SetTip{static_cast<std::int64_t>(dice.uniform(300))},
          Charge{},
          Charge{static_cast<std::int64_t>(1 + dice.uniform(2000))},
          PayCash{static_cast<std::int64_t>(1 + dice.uniform(3000))},
          CancelPayment{},
          RetryWithAnotherCard{},
          VoidSale{},
          NewSale{},
          ReaderStatusChanged{dice.uniform(4) != 0, "reader", ""},
          CardCollected{target, "pm_x", card, dice.uniform(6) == 0},
          PaymentStoredOffline{target, "pm_y", card, false},
          CollectCanceled{target},
          CollectFailed{target, "reader_error: card_removed"},
          PaymentApproved{target, "pi_1", {}},
          PaymentDeclined{target, "card_declined", "Your card was declined.", dice.uniform(2) == 0 ? "" : "pi_9"},
          PaymentOutcomeUnknown{target, "outcome_unknown: read response: Connection reset by peer"},
          InDoubtResolved{target,
                          std::array{AttemptEvent::StripeApproved, AttemptEvent::StripeDeclined,
                                     AttemptEvent::StripeCanceled, AttemptEvent::NotCharged,
                                     AttemptEvent::Submitted}[dice.uniform(5)],
                          "pi_2", "generic_decline", "", {}},
          ConnectivityChanged{dice.uniform(3) != 0},
          StoreFailed{"sqlite_error: disk I/O error"},
          SaleSaved{m.sale ? m.sale->id : std::string()},
      };
      const Action action = pool[dice.uniform(pool.size())];
      const Model before = m;
      Update u = update(m, action, ctx);
      m = std::move(u.model);
      INFO("seed " << seed << " step " << step << " action index " << action.index());

      const bool live_before = std::any_of(before.attempts.begin(), before.attempts.end(), open_attempt);
      std::set<std::string> created_now;
      for (const Effect& e : u.effects) {
        if (const auto* p = std::get_if<PersistSale>(&e)) persisted_sales.insert(p->sale.id);
        if (const auto* c = std::get_if<CreateAttempt>(&e)) {
          CHECK(persisted_sales.count(c->attempt.sale_id) == 1);  // the sale is written first
          CHECK(keys.insert(c->attempt.idempotency_key).second);  // every attempt has its own key
          created_now.insert(c->attempt.id);
        }
        if (const auto* s = std::get_if<StartCollect>(&e)) {
          CHECK_FALSE(live_before);                      // never a second live card attempt
          CHECK(created_now.count(s->attempt_id) == 1);  // its row was created just before
          CHECK(s->amount > 0);
        }
        if (const auto* q = std::get_if<EnqueueOperation>(&e)) {
          if (q->intent.kind == OperationKind::CreatePaymentIntent) {
            CHECK(++pi_ops_per_attempt[q->intent.attempt_id] == 1);  // submitted once per attempt
            const PaymentAttempt* a = find_attempt(m, q->intent.attempt_id);
            REQUIRE(a != nullptr);
            CHECK(q->intent.idempotency_key == a->idempotency_key);
            CHECK(q->intent.amount == a->amount);
          }
        }
      }
      const auto live = std::count_if(m.attempts.begin(), m.attempts.end(), open_attempt);
      CHECK(live <= 1);
      if (m.phase == PaymentPhase::InDoubt) {
        ++in_doubts;
        REQUIRE(m.active_attempt_id);
        CHECK(find_attempt(m, *m.active_attempt_id)->state == AttemptState::InDoubt);
      }
      for (const PaymentAttempt& a : m.attempts) {
        const PaymentAttempt* was = find_attempt(before, a.id);
        if (was != nullptr && (was->state == AttemptState::Canceled || was->state == AttemptState::Declined) &&
            a.state == AttemptState::Approved) {
          given_up_approved.insert(a.sale_id);
          CHECK(m.notice.level == NoticeLevel::Error);  // staff are told at once
        }
      }
      if (m.sale) {
        // More than the total only when Stripe approved a card the register had given up.
        if (given_up_approved.count(m.sale->id) == 0) CHECK(amount_paid(m) <= m.sale->total);
        if (m.sale->state == SaleState::Paid) {
          CHECK(amount_paid(m) >= m.sale->total);
          // Never marked paid while an outcome is pending.
          CHECK(std::none_of(m.attempts.begin(), m.attempts.end(), open_attempt));
          if (before.sale && before.sale->state != SaleState::Paid) ++sales_paid;
          if (amount_paid(m) > m.sale->total && before.sale->state != SaleState::Paid) {
            CHECK_THAT(m.notice.text, Catch::StartsWith("Over-collected"));
          }
        }
      }
      CHECK(m.cash_tendered >= 0);
      // The cashier reads words: codes, ids and transport errors are details only.
      for (const char* engineer : {"card_removed", "outcome_unknown", "Connection reset", "card_declined",
                                   "generic_decline", "pi_", "sqlite", "reader_error"}) {
        CHECK(m.notice.text.find(engineer) == std::string::npos);
      }
      for (const PaymentAttempt& a : m.attempts) CHECK(m.notice.text.find(a.id) == std::string::npos);
      // An unknown outcome, or proof that nothing was charged, is never said as a decline.
      const bool unknown_or_not_charged =
          std::holds_alternative<PaymentOutcomeUnknown>(action) ||
          (std::holds_alternative<InDoubtResolved>(action) &&
           std::get<InDoubtResolved>(action).outcome != AttemptEvent::StripeDeclined) ||
          m.phase == PaymentPhase::InDoubt;
      if (unknown_or_not_charged && !(m.notice == before.notice)) {
        CHECK(m.notice.text.find("eclin") == std::string::npos);
      }
      // Every attempt change the reducer records is one the machine allows, and its event with it.
      for (const Effect& e : u.effects) {
        const auto* up = std::get_if<UpdateAttempt>(&e);
        if (up == nullptr) continue;
        REQUIRE(up->event.has_value());
        const PaymentAttempt* was = find_attempt(before, up->attempt.id);
        REQUIRE(was != nullptr);
        const AttemptStep moved = next_state(was->state, was->offline, *up->event);
        CHECK(moved.kind == AttemptStep::Kind::Moved);
        CHECK(moved.to == up->attempt.state);
      }
    }
  }
  // The sessions reach the interesting places (numbers for this fixed set of seeds).
  CHECK(total_steps == 12'000);
  CHECK(sales_paid > 20);
  CHECK(in_doubts > 20);
}
