#pragma once
// Money is an int64 count of minor units plus a currency. No floating point anywhere in money
// paths; every operation that could overflow returns an error instead of wrapping.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "till/base/result.hpp"

namespace till::pos {

// An ISO 4217 currency Till knows, with its exponent as Stripe uses it (stripe.md §4):
// 0 for zero-decimal currencies (JPY, KRW, ...), 3 for BHD/JOD/KWD/OMR/TND, 2 otherwise.
class Currency {
 public:
  // Case-insensitive lookup in the currency table; unknown codes are InvalidArgument.
  static Result<Currency> parse(std::string_view code);
  // For code that names a currency literally ("usd"); aborts on an unknown code (a bug).
  static Currency of(std::string_view code);

  std::string_view code() const noexcept { return {code_.data(), 3}; }  // lowercase, "usd"
  std::string upper() const;                                            // "USD"
  int exponent() const noexcept { return exponent_; }
  std::int64_t minor_per_major() const noexcept;  // 10^exponent

  bool operator==(const Currency& o) const noexcept { return code_ == o.code_; }

  // Every currency in the table (for property tests and settings screens).
  static std::span<const Currency> all();

 private:
  constexpr Currency(std::array<char, 3> code, int exponent) : code_(code), exponent_(exponent) {}
  friend struct CurrencyTable;
  std::array<char, 3> code_{};
  int exponent_ = 2;
};

class Money {
 public:
  Money(std::int64_t minor, Currency currency) : minor_(minor), currency_(currency) {}
  static Money zero(Currency c) { return Money(0, c); }

  std::int64_t minor() const noexcept { return minor_; }
  Currency currency() const noexcept { return currency_; }
  bool is_zero() const noexcept { return minor_ == 0; }
  bool is_negative() const noexcept { return minor_ < 0; }

  // Same-currency arithmetic; a currency mismatch or an overflow is InvalidArgument.
  Result<Money> plus(const Money& o) const;
  Result<Money> minus(const Money& o) const;
  Result<Money> times(std::int64_t factor) const;
  Money negated() const;  // INT64_MIN cannot be constructed by parse, so this cannot overflow

  // Parses a decimal amount in major units for display/entry: "12.34", "-0.5", "1000".
  // At most exponent() fraction digits (no silent rounding), no exponent notation,
  // optional leading '-'; grouping separators are rejected.
  static Result<Money> parse(std::string_view text, Currency currency);

  // "12.34", "-0.50", "1000" (JPY), "1.250" (KWD). No currency code.
  std::string amount_string() const;
  // "USD 12.34": what receipts and screens show.
  std::string format() const;

  bool operator==(const Money&) const = default;

 private:
  std::int64_t minor_;
  Currency currency_;
};

// Checked helpers for the tax and discount code. All return InvalidArgument on overflow.
Result<std::int64_t> checked_add(std::int64_t a, std::int64_t b);
Result<std::int64_t> checked_mul(std::int64_t a, std::int64_t b);
// round(a * num / den) with halves rounded away from zero (commercial "half-up"); den > 0.
Result<std::int64_t> mul_div_round_half_up(std::int64_t a, std::int64_t num, std::int64_t den);

}  // namespace till::pos
