// Totals against hand-computed receipts. Each case writes out the arithmetic so a reviewer can
// check it with pencil and paper; the rule is in cart.hpp (per line, half-up; cart discounts
// allocated by floor shares with the remainder to the largest line).
#include "till/pos/cart.hpp"

#include <catch2/catch.hpp>
#include <limits>

#include "till/base/random.hpp"

using namespace till;
using namespace till::pos;

namespace {

constexpr std::int64_t kStd = 88'750;   // 8.875 %
constexpr std::int64_t kRed = 22'500;   // 2.25 %

CartLine line(std::string name, std::int64_t price, std::int64_t qty, std::string code, std::int64_t rate,
              bool inclusive = false, Discount d = Discount::none()) {
  CartLine l;
  l.product_id = name;
  l.sku = name;
  l.name = std::move(name);
  l.unit_price = price;
  l.quantity = qty;
  l.tax_code = std::move(code);
  l.tax_rate_ppm = rate;
  l.tax_inclusive = inclusive;
  l.discount = d;
  return l;
}

struct Expect {
  std::int64_t discount, net, tax, gross;
};

void check_lines(const Totals& t, const std::vector<Expect>& e) {
  REQUIRE(t.lines.size() == e.size());
  for (std::size_t i = 0; i < e.size(); ++i) {
    INFO("line " << i);
    CHECK(t.lines[i].discount == e[i].discount);
    CHECK(t.lines[i].net == e[i].net);
    CHECK(t.lines[i].tax == e[i].tax);
    CHECK(t.lines[i].gross == e[i].gross);
  }
}

}  // namespace

TEST_CASE("receipt 1: two lattes and a croissant, tax-exclusive 8.875 %") {
  // Latte 4.50 x 2 = 9.00; tax 900 x 0.08875 = 79.875 -> 80 (half-up); gross 9.80
  // Croissant 3.25;        tax 325 x 0.08875 = 28.84375 -> 29;          gross 3.54
  // subtotal 12.25, tax 1.09, total 13.34
  Cart c;
  c.lines = {line("Latte", 450, 2, "standard", kStd), line("Croissant", 325, 1, "standard", kStd)};
  auto t = compute_totals(c);
  REQUIRE(t);
  check_lines(*t, {{0, 900, 80, 980}, {0, 325, 29, 354}});
  CHECK(t->subtotal == 1225);
  CHECK(t->tax_total == 109);
  CHECK(t->total == 1334);
  REQUIRE(t->taxes.size() == 1);
  CHECK(t->taxes[0] == TaxLine{"standard", kStd, 1225, 109});
}

TEST_CASE("receipt 2: tax is rounded per line, so three 0.10 items at 5 % carry 0.03 tax") {
  // Each line: 10 x 0.05 = 0.5 -> 1 (half-up, per line). Three lines: tax 3.
  // (Rounding the total instead would give 30 x 0.05 = 1.5 -> 2: the rule is per line.)
  Cart c;
  c.lines = {line("A", 10, 1, "vat5", 50'000), line("B", 10, 1, "vat5", 50'000), line("C", 10, 1, "vat5", 50'000)};
  auto t = compute_totals(c);
  REQUIRE(t);
  check_lines(*t, {{0, 10, 1, 11}, {0, 10, 1, 11}, {0, 10, 1, 11}});
  CHECK(t->tax_total == 3);
  CHECK(t->total == 33);
  CHECK(t->taxes == std::vector<TaxLine>{{"vat5", 50'000, 30, 3}});
}

TEST_CASE("receipt 3: percent and amount line discounts under two tax rates") {
  // Mug 14.00, 10 % off: discount 140, net 1260; tax 1260 x 0.08875 = 111.825 -> 112; gross 1372
  // Beans 16.00 x 2 = 3200, 1.50 off: net 3050; tax 3050 x 0.0225 = 68.625 -> 69; gross 3119
  // subtotal 43.10, discounts 2.90, tax 1.81, total 44.91
  Cart c;
  c.lines = {line("Mug", 1400, 1, "standard", kStd, false, Discount::percent_ppm(100'000)),
             line("Beans", 1600, 2, "reduced", kRed, false, Discount::amount(150))};
  auto t = compute_totals(c);
  REQUIRE(t);
  check_lines(*t, {{140, 1260, 112, 1372}, {150, 3050, 69, 3119}});
  CHECK(t->subtotal == 4310);
  CHECK(t->discount_total == 290);
  CHECK(t->tax_total == 181);
  CHECK(t->total == 4491);
  CHECK(t->taxes == std::vector<TaxLine>{{"standard", kStd, 1260, 112}, {"reduced", kRed, 3050, 69}});
}

TEST_CASE("receipt 4: a 1.00 cart discount is allocated in proportion, remainder to the largest line") {
  // Bases A 10.00 (std), B 5.00 (reduced), C 2.50 (std); sum 1750; D = 100.
  // Shares: A floor(100x1000/1750) = 57, B floor(100x500/1750) = 28, C floor(100x250/1750) = 14;
  // 57+28+14 = 99, remainder 1 -> A (largest): 58.
  // Nets: A 942, B 472, C 236. Tax: A 942 x 0.08875 = 83.6025 -> 84; B 472 x 0.0225 = 10.62 -> 11;
  // C 236 x 0.08875 = 20.945 -> 21. Subtotal 16.50, tax 1.16, total 17.66.
  Cart c;
  c.lines = {line("A", 1000, 1, "standard", kStd), line("B", 500, 1, "reduced", kRed),
             line("C", 250, 1, "standard", kStd)};
  c.cart_discount = Discount::amount(100);
  auto t = compute_totals(c);
  REQUIRE(t);
  check_lines(*t, {{58, 942, 84, 1026}, {28, 472, 11, 483}, {14, 236, 21, 257}});
  CHECK(t->subtotal == 1650);
  CHECK(t->discount_total == 100);
  CHECK(t->tax_total == 116);
  CHECK(t->total == 1766);
  CHECK(t->taxes == std::vector<TaxLine>{{"standard", kStd, 1178, 105}, {"reduced", kRed, 472, 11}});
}

TEST_CASE("receipt 5: a 15 % cart discount with a tip, which is not taxed") {
  // Latte 4.50 x 2 = 900 (std), Croissant 325 (reduced); sum 1225; D = 1225 x 0.15 = 183.75 -> 184.
  // Shares: latte floor(184x900/1225) = 135, croissant floor(184x325/1225) = 48; remainder 1 -> latte 136.
  // Nets 764 and 277. Tax: 764 x 0.08875 = 67.805 -> 68; 277 x 0.0225 = 6.2325 -> 6.
  // Subtotal 10.41 + tax 0.74 + tip 2.00 = 13.15.
  Cart c;
  c.lines = {line("Latte", 450, 2, "standard", kStd), line("Croissant", 325, 1, "reduced", kRed)};
  c.cart_discount = Discount::percent_ppm(150'000);
  c.tip = 200;
  auto t = compute_totals(c);
  REQUIRE(t);
  check_lines(*t, {{136, 764, 68, 832}, {48, 277, 6, 283}});
  CHECK(t->subtotal == 1041);
  CHECK(t->tax_total == 74);
  CHECK(t->tip == 200);
  CHECK(t->total == 1315);
}

TEST_CASE("receipt 6: tax-inclusive EUR prices at 20 % and 10 %") {
  // Sandwich 5.99 incl. 20 %: tax = 599 x 0.2/1.2 = 99.833 -> 100; net 499.
  // Coffee 2.50 x 3 = 7.50 incl. 10 %: tax = 750 x 0.1/1.1 = 68.18 -> 68; net 682.
  // Customer pays 5.99 + 7.50 = 13.49 = subtotal(net) 11.81 + tax 1.68.
  Cart c;
  c.lines = {line("Sandwich", 599, 1, "standard", 200'000, true), line("Coffee", 250, 3, "reduced", 100'000, true)};
  auto t = compute_totals(c);
  REQUIRE(t);
  check_lines(*t, {{0, 499, 100, 599}, {0, 682, 68, 750}});
  CHECK(t->subtotal == 1181);
  CHECK(t->tax_total == 168);
  CHECK(t->total == 1349);
}

TEST_CASE("receipt 7: zero-decimal JPY, consumption tax included at 8 % and 10 %") {
  // Bento 864 incl. 8 %: 864 x 0.08/1.08 = 64 exactly; net 800.
  // Beer 330 x 2 = 660 incl. 10 %: 660 x 0.1/1.1 = 60; net 600.
  // Onigiri 150 incl. 8 %: 150 x 0.08/1.08 = 11.11 -> 11; net 139.
  // Total 1674 yen; tax lines: 8 % net 939 tax 75, 10 % net 600 tax 60.
  Cart c;
  c.lines = {line("Bento", 864, 1, "reduced", 80'000, true), line("Beer", 330, 2, "standard", 100'000, true),
             line("Onigiri", 150, 1, "reduced", 80'000, true)};
  auto t = compute_totals(c);
  REQUIRE(t);
  check_lines(*t, {{0, 800, 64, 864}, {0, 600, 60, 660}, {0, 139, 11, 150}});
  CHECK(t->total == 1674);
  CHECK(t->taxes == std::vector<TaxLine>{{"reduced", 80'000, 939, 75}, {"standard", 100'000, 600, 60}});
  CHECK(Money(t->total, Currency::of("jpy")).format() == "JPY 1674");
}

TEST_CASE("receipt 8: zero-decimal JPY, tax-exclusive with a 10 % line discount") {
  // Set meal 1280, 10 % off: 128 off, net 1152; tax 10 % = 115.2 -> 115; gross 1267.
  // Juice 98 x 3 = 294 at 8 %: 23.52 -> 24; gross 318. Total 1585 yen.
  Cart c;
  c.lines = {line("Set meal", 1280, 1, "standard", 100'000, false, Discount::percent_ppm(100'000)),
             line("Juice", 98, 3, "reduced", 80'000)};
  auto t = compute_totals(c);
  REQUIRE(t);
  check_lines(*t, {{128, 1152, 115, 1267}, {0, 294, 24, 318}});
  CHECK(t->discount_total == 128);
  CHECK(t->total == 1585);
}

TEST_CASE("receipt 9: three-decimal KWD with a 0.100 cart discount") {
  // Item 1.250 x 3 = 3750 fils, item 0.475 = 475; sum 4225; D = 100.
  // Shares: floor(100x3750/4225) = 88, floor(100x475/4225) = 11; remainder 1 -> first: 89.
  // Nets 3661 and 464. Tax 5 %: 183.05 -> 183; 23.2 -> 23. Total 4.125 + 0.206 = KWD 4.331.
  Cart c;
  c.lines = {line("Dates", 1250, 3, "vat", 50'000), line("Water", 475, 1, "vat", 50'000)};
  c.cart_discount = Discount::amount(100);
  auto t = compute_totals(c);
  REQUIRE(t);
  check_lines(*t, {{89, 3661, 183, 3844}, {11, 464, 23, 487}});
  CHECK(t->subtotal == 4125);
  CHECK(t->tax_total == 206);
  CHECK(Money(t->total, Currency::of("kwd")).format() == "KWD 4.331");
}

TEST_CASE("receipt 10: a remainder larger than the largest line spills to the next largest") {
  // Three 0.01 lines, cart discount 0.02: floor shares 0, 0, 0; remainder 2 -> line 1 takes 1
  // (all it has), line 2 takes 1. Each line's discount never exceeds its amount.
  Cart c;
  c.lines = {line("A", 1, 1, "zero", 0), line("B", 1, 1, "zero", 0), line("C", 1, 1, "zero", 0)};
  c.cart_discount = Discount::amount(2);
  auto t = compute_totals(c);
  REQUIRE(t);
  check_lines(*t, {{1, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 1}});
  CHECK(t->total == 1);
}

TEST_CASE("overflow anywhere in the totals is an error, never a wrap") {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max() / 2 + 1;
  Cart qty;
  qty.lines = {line("A", big, 2, "zero", 0)};
  CHECK(compute_totals(qty).error().message == "amount overflow");
  Cart sum;
  sum.lines = {line("A", big, 1, "zero", 0), line("B", big, 1, "zero", 0)};
  CHECK(compute_totals(sum).error().message == "amount overflow");
  Cart tax;
  tax.lines = {line("A", std::numeric_limits<std::int64_t>::max() - 10, 1, "full", kPpm)};
  CHECK(compute_totals(tax).error().message == "amount overflow");
  Cart tip;
  tip.lines = {line("A", big, 1, "zero", 0)};
  tip.tip = big;
  CHECK(compute_totals(tip).error().message == "amount overflow");
  CHECK(compute_totals(tip).error().kind == ErrorKind::InvalidArgument);
}

TEST_CASE("invalid carts are refused with a reason naming the line") {
  Cart c;
  c.lines = {line("Latte", 450, 0, "standard", kStd)};
  CHECK(compute_totals(c).error().message == "line 1 (Latte): quantity must be at least 1");
  c.lines = {line("Latte", 450, 1, "standard", kStd, false, Discount::amount(451))};
  CHECK(compute_totals(c).error().message == "line 1 (Latte): discount is larger than the amount it applies to");
  c.lines = {line("Latte", 450, 1, "standard", kStd, false, Discount::percent_ppm(1'000'001))};
  CHECK(compute_totals(c).error().message == "line 1 (Latte): discount percent must be between 0 and 100");
  c.lines = {line("Latte", 450, 1, "standard", kStd, false, Discount::amount(-1))};
  CHECK(compute_totals(c).error().message == "line 1 (Latte): discount must not be negative");
  c.lines = {line("Latte", 450, 1, "standard", kStd)};
  c.cart_discount = Discount::amount(451);
  CHECK(compute_totals(c).error().message == "cart: discount is larger than the amount it applies to");
  c.cart_discount = Discount::none();
  c.tip = -1;
  CHECK(compute_totals(c).error().message == "tip must not be negative");
  c.tip = 0;
  c.lines[0].tax_rate_ppm = -5;
  CHECK_FALSE(compute_totals(c));
  CHECK(compute_totals(Cart{})->total == 0);  // an empty cart is valid and costs nothing
}

TEST_CASE("for random carts the totals always add up and discounts never exceed their lines") {
  SeededRandom rng(42);
  const std::int64_t rates[] = {0, 50'000, kStd, kRed, 200'000, 80'000};
  for (int i = 0; i < 2000; ++i) {
    Cart c;
    const auto n = 1 + rng.uniform(6);
    for (std::uint64_t k = 0; k < n; ++k) {
      const auto price = static_cast<std::int64_t>(rng.uniform(100'000));
      const auto qty = static_cast<std::int64_t>(1 + rng.uniform(20));
      Discount d;
      if (rng.uniform(3) == 0) d = Discount::percent_ppm(static_cast<std::int64_t>(rng.uniform(kPpm + 1)));
      if (rng.uniform(4) == 0) d = Discount::amount(static_cast<std::int64_t>(rng.uniform(static_cast<std::uint64_t>(price * qty) + 1)));
      c.lines.push_back(line("P" + std::to_string(k), price, qty, "r" + std::to_string(k % 3),
                             rates[rng.uniform(std::size(rates))], rng.uniform(2) == 0, d));
    }
    if (rng.uniform(2) == 0) c.cart_discount = Discount::percent_ppm(static_cast<std::int64_t>(rng.uniform(500'001)));
    c.tip = static_cast<std::int64_t>(rng.uniform(1000));
    auto t = compute_totals(c);
    REQUIRE(t);
    std::int64_t gross = 0, tax = 0, net = 0, disc = 0, tax_lines = 0, tax_net = 0;
    for (std::size_t k = 0; k < t->lines.size(); ++k) {
      const auto& l = t->lines[k];
      CHECK(l.discount <= c.lines[k].unit_price * c.lines[k].quantity);
      CHECK(l.net >= 0);
      CHECK(l.tax >= 0);
      CHECK(l.gross == l.net + l.tax);
      gross += l.gross;
      tax += l.tax;
      net += l.net;
      disc += l.discount;
    }
    for (const auto& tl : t->taxes) {
      tax_lines += tl.tax;
      tax_net += tl.net;
    }
    CHECK(t->total == gross + c.tip);
    CHECK(t->tax_total == tax);
    CHECK(t->subtotal == net);
    CHECK(t->discount_total == disc);
    CHECK(tax_lines == tax);
    CHECK(tax_net == net);
  }
}

TEST_CASE("percent text typed by a cashier becomes ppm exactly, and ppm prints back") {
  CHECK(parse_percent_ppm("10").value() == 100'000);
  CHECK(parse_percent_ppm("12.5").value() == 125'000);
  CHECK(parse_percent_ppm("8.875%").value() == 88'750);
  CHECK(parse_percent_ppm(" 100 ").value() == kPpm);
  CHECK(parse_percent_ppm(".5").value() == 5'000);
  CHECK(parse_percent_ppm("0.0001").value() == 1);
  CHECK_FALSE(parse_percent_ppm("0.00001"));
  CHECK_FALSE(parse_percent_ppm("100.01"));
  CHECK_FALSE(parse_percent_ppm("1000"));
  CHECK_FALSE(parse_percent_ppm("-5"));
  CHECK_FALSE(parse_percent_ppm("1e2"));
  CHECK_FALSE(parse_percent_ppm(""));
  CHECK_FALSE(parse_percent_ppm("."));
  CHECK(parse_percent_ppm("abc").error().message == "invalid percent 'abc': unexpected character");
  CHECK(format_percent_ppm(88'750) == "8.875%");
  CHECK(format_percent_ppm(200'000) == "20%");
  CHECK(format_percent_ppm(5'000) == "0.5%");
  CHECK(format_percent_ppm(1) == "0.0001%");
  CHECK(format_percent_ppm(0) == "0%");
  for (std::int64_t ppm : {0, 1, 99, 100, 22'500, 88'750, 999'999, 1'000'000}) {
    CHECK(parse_percent_ppm(format_percent_ppm(ppm)).value() == ppm);
  }
}
