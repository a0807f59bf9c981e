#pragma once
// The cart and its totals. Totals are computed once, here, from integers (lesson 13); the
// store, the sync engine and the receipt all use these numbers and never recompute them.
//
// ROUNDING RULE (also in pos/README.md). Amounts are int64 minor units; no floating point.
//  1. Line base = unit_price x quantity (checked; overflow is an error).
//  2. Line discount: an amount (minor units) or a percent in ppm of the base, rounded half-up
//     (halves away from zero) to a minor unit. It may not exceed the base.
//  3. Cart discount: an amount, or a percent (ppm) of the sum of the lines' bases after their
//     line discounts, rounded half-up, giving one total D. D is allocated across lines in
//     proportion to each line's base-after-line-discount: each share is floor(D x base / sum),
//     and the remainder (fewer minor units than there are lines) goes to the largest line
//     (the first one on a tie). Shares therefore always add up to D exactly.
//  4. Tax per line, rounded half-up to a minor unit:
//       exclusive price: net = base - discounts; tax = round(net x rate / 1e6); gross = net + tax
//       inclusive price: gross = base - discounts; tax = round(gross x rate / (1e6 + rate));
//                        net = gross - tax
//  5. Totals per tax rate are sums of the lines' rounded net and tax (no second rounding), so
//     the receipt's tax lines always add up to the tax total.
//  6. Tip is added after tax and is not taxed. total = subtotal(net) + tax_total + tip.
//  Any overflow at any step is InvalidArgument("amount overflow"), never a wrap.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "till/base/result.hpp"
#include "till/pos/catalog.hpp"
#include "till/pos/money.hpp"
#include "till/pos/records.hpp"

namespace till::pos {

inline constexpr std::int64_t kPpm = 1'000'000;  // 100 % in parts per million

struct Discount {
  enum class Kind {
    None,     // no discount
    Amount,   // value is minor units of the sale currency
    Percent,  // value is parts per million of the base: 10 % = 100'000, 12.5 % = 125'000
  };
  Kind kind = Kind::None;
  std::int64_t value = 0;

  static Discount none() { return {}; }
  static Discount amount(std::int64_t minor) { return {Kind::Amount, minor}; }
  static Discount percent_ppm(std::int64_t ppm) { return {Kind::Percent, ppm}; }
  bool operator==(const Discount&) const = default;
};

// A rung-up line. The product's price and tax class are copied in when the line is added, so a
// catalog reload mid-sale cannot change what the customer was quoted.
struct CartLine {
  std::string product_id;
  std::string sku;
  std::string name;
  std::int64_t unit_price = 0;  // minor units, net or gross per tax_inclusive
  std::string tax_code;
  std::int64_t tax_rate_ppm = 0;
  bool tax_inclusive = false;
  std::int64_t quantity = 1;    // >= 1
  Discount discount;
  bool operator==(const CartLine&) const = default;
};

struct Cart {
  std::vector<CartLine> lines;
  Discount cart_discount;
  std::int64_t tip = 0;  // minor units, >= 0, untaxed
  bool operator==(const Cart&) const = default;
};

// "12.5" or "12.5%" -> 125'000 ppm: what a cashier types for a percent discount, parsed
// without floating point. At most 4 decimal places, 0..100 %. InvalidArgument otherwise.
// Pure; any thread.
Result<std::int64_t> parse_percent_ppm(std::string_view text);
// 88'750 -> "8.875%", 200'000 -> "20%". Pure; any thread; never fails.
std::string format_percent_ppm(std::int64_t ppm);

// A cart line built from a catalog product (price and tax class copied). Fails with NotFound
// when the product's tax class is missing (cannot happen for a validated Catalog).
Result<CartLine> make_line(const Catalog& catalog, const Product& product, std::int64_t quantity);

// Everything a receipt and the store need, computed by the rule above.
struct Totals {
  std::vector<SaleLine> lines;  // one per cart line, in order, with discount/net/tax/gross
  std::vector<TaxLine> taxes;   // one per (tax_code, rate), in order of first appearance
  std::int64_t subtotal = 0;        // sum of line net
  std::int64_t discount_total = 0;  // line + cart discounts
  std::int64_t tax_total = 0;
  std::int64_t tip = 0;
  std::int64_t total = 0;           // subtotal + tax_total + tip
  bool operator==(const Totals&) const = default;
};

// Computes the totals. InvalidArgument for: quantity < 1, negative price or tip, a discount
// that is negative or larger than what it applies to, a percent outside 0..100 %, a tax rate
// outside 0..100 %, or any overflow. Pure; any thread.
Result<Totals> compute_totals(const Cart& cart);

// Copies totals into a sale record (lines, taxes and the amount fields).
void apply_totals(Sale& sale, const Totals& totals);

}  // namespace till::pos
