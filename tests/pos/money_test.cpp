#include "till/pos/money.hpp"

#include <catch2/catch.hpp>
#include <limits>

#include "till/base/random.hpp"

using namespace till;
using namespace till::pos;

TEST_CASE("currencies carry Stripe's exponents") {
  CHECK(Currency::of("usd").exponent() == 2);
  CHECK(Currency::of("JPY").exponent() == 0);
  CHECK(Currency::of("kwd").exponent() == 3);
  CHECK(Currency::of("xpf").exponent() == 0);
  CHECK_FALSE(Currency::parse("zzz"));
  CHECK_FALSE(Currency::parse("us"));
  CHECK(Currency::parse("u$d").error().kind == ErrorKind::InvalidArgument);
}

TEST_CASE("amounts parse and format in major units per currency") {
  const auto usd = Currency::of("usd");
  CHECK(Money::parse("12.34", usd)->minor() == 1234);
  CHECK(Money::parse("12.3", usd)->minor() == 1230);
  CHECK(Money::parse(".5", usd)->minor() == 50);
  CHECK(Money::parse("-0.05", usd)->minor() == -5);
  CHECK(Money::parse("1000", Currency::of("jpy"))->minor() == 1000);
  CHECK(Money::parse("1.250", Currency::of("kwd"))->minor() == 1250);
  CHECK_FALSE(Money::parse("12.345", usd));  // no silent rounding
  CHECK_FALSE(Money::parse("1.5", Currency::of("jpy")));
  CHECK_FALSE(Money::parse("1,000.00", usd));
  CHECK_FALSE(Money::parse("", usd));
  CHECK_FALSE(Money::parse("1e3", usd));
  CHECK_FALSE(Money::parse("12.", usd));
  CHECK_FALSE(Money::parse("99999999999999999999", usd));
  CHECK(Money(1234, usd).format() == "USD 12.34");
  CHECK(Money(-5, usd).amount_string() == "-0.05");
  CHECK(Money(1000, Currency::of("jpy")).format() == "JPY 1000");
  CHECK(Money(1250, Currency::of("bhd")).amount_string() == "1.250");
}

TEST_CASE("format then parse returns the same amount for random amounts in every currency") {
  SeededRandom rng(2026);
  for (const auto& c : Currency::all()) {
    for (int i = 0; i < 500; ++i) {
      const auto minor = static_cast<std::int64_t>(rng.next_u64() >> 1) * (rng.uniform(2) ? 1 : -1);
      const Money m(minor, c);
      auto back = Money::parse(m.amount_string(), c);
      REQUIRE(back);
      REQUIRE(back->minor() == minor);
    }
  }
}

TEST_CASE("arithmetic overflows and currency mismatches are errors, never wraps") {
  const auto usd = Currency::of("usd");
  const Money big(std::numeric_limits<std::int64_t>::max(), usd);
  CHECK_FALSE(big.plus(Money(1, usd)));
  CHECK_FALSE(big.times(2));
  CHECK_FALSE(Money(std::numeric_limits<std::int64_t>::min(), usd).minus(Money(1, usd)));
  auto mixed = Money(1, usd).plus(Money(1, Currency::of("eur")));
  REQUIRE_FALSE(mixed);
  CHECK(mixed.error().message.find("currency mismatch") != std::string::npos);
  CHECK(Money(150, usd).plus(Money(50, usd))->minor() == 200);
  CHECK(Money(150, usd).times(3)->minor() == 450);
}

TEST_CASE("mul_div_round_half_up rounds halves away from zero") {
  CHECK(*mul_div_round_half_up(5, 1, 2) == 3);     // 2.5 -> 3
  CHECK(*mul_div_round_half_up(-5, 1, 2) == -3);   // -2.5 -> -3
  CHECK(*mul_div_round_half_up(4, 1, 3) == 1);     // 1.33 -> 1
  CHECK(*mul_div_round_half_up(1000, 88'750, 1'000'000) == 89);  // 88.75 -> 89
  CHECK_FALSE(mul_div_round_half_up(1, 1, 0));
  CHECK_FALSE(mul_div_round_half_up(std::numeric_limits<std::int64_t>::max(), 2, 1));
}
