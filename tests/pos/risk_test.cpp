#include "till/pos/risk.hpp"

#include <catch2/catch.hpp>

using namespace till;
using namespace till::pos;
using namespace std::chrono_literals;

namespace {

const Timestamp kNow = from_unix_ms(1'790'000'000'000);

OfflinePayment pay(std::int64_t amount, std::string brand = "visa", std::string read = "contact_emv") {
  return OfflinePayment{amount, "usd", std::move(brand), std::move(read), false, kNow};
}

StoredTotals stored(std::int64_t count, std::int64_t amount, std::optional<Timestamp> oldest = std::nullopt) {
  StoredTotals s;
  if (count > 0) s.by_currency["usd"] = StoredCurrency{count, amount};
  s.count = count;
  s.oldest = oldest;
  return s;
}

bool allowed(const RiskDecision& d) { return std::holds_alternative<Allowed>(d); }
RefusalReason reason(const RiskDecision& d) {
  REQUIRE(std::holds_alternative<Refused>(d));
  return std::get<Refused>(d).reason;
}

}  // namespace

TEST_CASE("safe defaults: 100.00 per payment, 1000.00 stored, 50 payments, 24 h, four brands") {
  const RiskConfig c = RiskConfig::safe_defaults();
  CHECK(c.enabled);
  CHECK(c.caps.at("usd") == CurrencyCaps{10'000, 100'000});
  CHECK(c.caps.at("jpy") == CurrencyCaps{15'000, 150'000});
  CHECK(c.max_stored_count == 50);
  CHECK(c.max_age == 24h);
  CHECK(c.allowed_brands == std::vector<std::string>{"visa", "mastercard", "amex", "discover"});
  CHECK(c.refuse_online_pin);
  CHECK(c.refuse_interac);
  CHECK(c.refuse_swipe);
  CHECK(c.caps.count("kwd") == 0);
}

TEST_CASE("the per-transaction maximum allows below and at the cap and refuses above it") {
  const RiskConfig c = RiskConfig::safe_defaults();
  CHECK(allowed(evaluate(c, {}, pay(9'999))));
  CHECK(allowed(evaluate(c, {}, pay(10'000))));
  const auto d = evaluate(c, {}, pay(10'001));
  CHECK(reason(d) == RefusalReason::OverTransactionMax);
  CHECK(std::get<Refused>(d).message == "offline limit: at most USD 100.00 per payment");
}

TEST_CASE("the stored total per currency allows up to the cap and refuses beyond it") {
  const RiskConfig c = RiskConfig::safe_defaults();
  CHECK(allowed(evaluate(c, stored(10, 95'000), pay(4'999))));   // 99'999: below
  CHECK(allowed(evaluate(c, stored(10, 95'000), pay(5'000))));   // 100'000: at
  const auto d = evaluate(c, stored(10, 95'000), pay(5'001));    // 100'001: above
  CHECK(reason(d) == RefusalReason::OverStoredTotal);
  CHECK(std::get<Refused>(d).message ==
        "offline limit: at most USD 1000.00 stored; USD 950.00 is waiting to be forwarded");
  // Stored amounts in another currency do not count against this one.
  StoredTotals eur;
  eur.by_currency["eur"] = StoredCurrency{1, 100'000};
  eur.count = 1;
  CHECK(allowed(evaluate(c, eur, pay(10'000))));
  // Absurd stored totals cannot overflow the comparison.
  CHECK(reason(evaluate(c, stored(1, std::numeric_limits<std::int64_t>::max()), pay(1))) == RefusalReason::OverStoredTotal);
}

TEST_CASE("the stored count allows the 50th payment and refuses the 51st") {
  const RiskConfig c = RiskConfig::safe_defaults();
  CHECK(allowed(evaluate(c, stored(48, 100), pay(100))));  // becomes 49
  CHECK(allowed(evaluate(c, stored(49, 100), pay(100))));  // becomes 50: at the cap
  const auto d = evaluate(c, stored(50, 100), pay(100));   // would be 51
  CHECK(reason(d) == RefusalReason::OverStoredCount);
  CHECK(std::get<Refused>(d).message == "offline limit: at most 50 stored payments; forward them first");
}

TEST_CASE("the maximum age refuses new offline payments once the oldest is older than 24 h") {
  const RiskConfig c = RiskConfig::safe_defaults();
  CHECK(allowed(evaluate(c, stored(1, 100, kNow - 24h + 1ms), pay(100))));
  CHECK(allowed(evaluate(c, stored(1, 100, kNow - 24h), pay(100))));  // exactly 24 h: at the cap
  const auto d = evaluate(c, stored(1, 100, kNow - 24h - 1ms), pay(100));
  CHECK(reason(d) == RefusalReason::TooOld);
  CHECK(std::get<Refused>(d).message == "a stored payment is older than 24 h; forward it before storing more");
}

TEST_CASE("card types Stripe never takes offline are refused with their own reason") {
  const RiskConfig c = RiskConfig::safe_defaults();
  CHECK(reason(evaluate(c, {}, pay(100, "interac"))) == RefusalReason::Interac);
  CHECK(reason(evaluate(c, {}, pay(100, "visa", "magnetic_stripe"))) == RefusalReason::Swipe);
  CHECK(reason(evaluate(c, {}, pay(100, "visa", "magnetic_stripe_fallback"))) == RefusalReason::Swipe);
  auto pin = pay(100);
  pin.online_pin_required = true;
  CHECK(reason(evaluate(c, {}, pin)) == RefusalReason::OnlinePin);
  CHECK(reason(evaluate(c, {}, pay(100, "unionpay"))) == RefusalReason::BrandNotAllowed);
  CHECK(std::get<Refused>(evaluate(c, {}, pay(100, "unionpay"))).message == "unionpay cards are not accepted offline");
  CHECK(allowed(evaluate(c, {}, pay(100, "amex", "contactless_emv"))));
  // Before the card is read (empty brand) only the amount caps apply: the pre-check at Charge.
  CHECK(allowed(evaluate(c, {}, pay(100, "", ""))));
  // The flags really switch the rules.
  RiskConfig lax = c;
  lax.refuse_swipe = false;
  CHECK(allowed(evaluate(lax, {}, pay(100, "visa", "magnetic_stripe"))));
}

TEST_CASE("offline disabled or an unconfigured currency refuses everything") {
  RiskConfig off = RiskConfig::safe_defaults();
  off.enabled = false;
  CHECK(reason(evaluate(off, {}, pay(1))) == RefusalReason::Disabled);
  auto kwd = pay(1);
  kwd.currency = "kwd";
  CHECK(reason(evaluate(RiskConfig::safe_defaults(), {}, kwd)) == RefusalReason::CurrencyNotAllowed);
}

TEST_CASE("the amount caps are checked before the card rules, in a documented order") {
  const RiskConfig c = RiskConfig::safe_defaults();
  CHECK(reason(evaluate(c, {}, pay(20'000, "interac", "magnetic_stripe"))) == RefusalReason::OverTransactionMax);
  CHECK(reason(evaluate(c, stored(50, 0), pay(100, "interac"))) == RefusalReason::OverStoredCount);
}

TEST_CASE("headroom reports what is left under the caps and never goes negative") {
  const RiskConfig c = RiskConfig::safe_defaults();
  CHECK(headroom(c, stored(3, 25'000), "usd") == Headroom{"usd", 75'000, 47, 10'000});
  CHECK(headroom(c, stored(60, 250'000), "usd") == Headroom{"usd", 0, 0, 10'000});
  CHECK(headroom(c, {}, "kwd") == Headroom{"kwd", 0, 50, 0});
}

TEST_CASE("refusal reasons have stable names for the audit log") {
  CHECK(to_string(RefusalReason::Disabled) == "disabled");
  CHECK(to_string(RefusalReason::CurrencyNotAllowed) == "currency_not_allowed");
  CHECK(to_string(RefusalReason::OverTransactionMax) == "over_transaction_max");
  CHECK(to_string(RefusalReason::OverStoredTotal) == "over_stored_total");
  CHECK(to_string(RefusalReason::OverStoredCount) == "over_stored_count");
  CHECK(to_string(RefusalReason::TooOld) == "too_old");
  CHECK(to_string(RefusalReason::BrandNotAllowed) == "brand_not_allowed");
  CHECK(to_string(RefusalReason::OnlinePin) == "online_pin");
  CHECK(to_string(RefusalReason::Interac) == "interac");
  CHECK(to_string(RefusalReason::Swipe) == "swipe");
  // A max age that is not whole hours is spelled in minutes.
  RiskConfig c = RiskConfig::safe_defaults();
  c.max_age = 90min;
  CHECK(std::get<Refused>(evaluate(c, stored(1, 100, kNow - 2h), pay(100))).message ==
        "a stored payment is older than 90 min; forward it before storing more");
}
