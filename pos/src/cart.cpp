#include "till/pos/cart.hpp"

#include <algorithm>
#include <numeric>

namespace till::pos {
namespace {

// GCC/Clang 128-bit integer keeps the proportional allocation exact; __extension__ tells
// -Wpedantic we know it is an extension.
__extension__ typedef __int128 int128;

tl::unexpected<Error> invalid(std::string why) { return fail(ErrorKind::InvalidArgument, std::move(why)); }

std::string line_label(std::size_t i, const CartLine& l) {
  return "line " + std::to_string(i + 1) + " (" + l.name + ")";
}

// The discount a Discount gives on `base` (>= 0), checked against the rules in cart.hpp.
Result<std::int64_t> discount_on(const Discount& d, std::int64_t base, const std::string& what) {
  switch (d.kind) {
    case Discount::Kind::None: return 0;
    case Discount::Kind::Amount:
      if (d.value < 0) return invalid(what + ": discount must not be negative");
      if (d.value > base) return invalid(what + ": discount is larger than the amount it applies to");
      return d.value;
    case Discount::Kind::Percent:
      if (d.value < 0 || d.value > kPpm) return invalid(what + ": discount percent must be between 0 and 100");
      return mul_div_round_half_up(base, d.value, kPpm);
  }
  return invalid(what + ": unknown discount kind");
}

// Splits `total` over `weights` in proportion, floor per share, remainder to the largest weight
// (spilling to the next largest when a share would exceed its weight). Requires
// 0 <= total <= sum(weights) and weights >= 0. Shares sum to total and share_i <= weight_i.
std::vector<std::int64_t> allocate(std::int64_t total, const std::vector<std::int64_t>& weights, std::int64_t sum) {
  std::vector<std::int64_t> shares(weights.size(), 0);
  if (total == 0 || sum == 0) return shares;
  std::int64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    shares[i] = static_cast<std::int64_t>(static_cast<int128>(total) * weights[i] / sum);
    given += shares[i];
  }
  std::int64_t rest = total - given;
  // Largest weight first; stable so the first of equal lines takes the remainder.
  std::vector<std::size_t> order(weights.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return weights[a] > weights[b]; });
  for (std::size_t i : order) {
    if (rest == 0) break;
    const std::int64_t room = weights[i] - shares[i];
    const std::int64_t take = std::min(room, rest);
    shares[i] += take;
    rest -= take;
  }
  return shares;
}

Status accumulate_into(std::int64_t& acc, std::int64_t value) {
  auto r = checked_add(acc, value);
  if (!r) return fail(r.error());
  acc = *r;
  return ok();
}

}  // namespace

Result<std::int64_t> parse_percent_ppm(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail(ErrorKind::InvalidArgument, "invalid percent '" + std::string(text) + "': " + why);
  };
  std::string_view t = text;
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '%')) t.remove_suffix(1);
  if (t.empty()) return bad("empty");
  std::int64_t whole = 0;
  std::size_t i = 0;
  std::size_t digits = 0;
  for (; i < t.size() && t[i] != '.'; ++i) {
    if (t[i] < '0' || t[i] > '9') return bad("unexpected character");
    if (++digits > 3) return bad("must be between 0 and 100");
    whole = whole * 10 + (t[i] - '0');
  }
  std::int64_t frac = 0;
  int frac_digits = 0;
  if (i < t.size()) {
    ++i;
    if (i == t.size() && digits == 0) return bad("no digits");
    for (; i < t.size(); ++i) {
      if (t[i] < '0' || t[i] > '9') return bad("unexpected character");
      if (++frac_digits > 4) return bad("at most 4 decimal places");
      frac = frac * 10 + (t[i] - '0');
    }
  }
  if (digits == 0 && frac_digits == 0) return bad("no digits");
  for (int k = frac_digits; k < 4; ++k) frac *= 10;
  const std::int64_t ppm = whole * 10'000 + frac;
  if (ppm > kPpm) return bad("must be between 0 and 100");
  return ppm;
}

std::string format_percent_ppm(std::int64_t ppm) {
  std::string out = ppm < 0 ? "-" : "";
  const std::uint64_t mag = ppm < 0 ? 0 - static_cast<std::uint64_t>(ppm) : static_cast<std::uint64_t>(ppm);
  out += std::to_string(mag / 10'000);
  std::string frac = std::to_string(mag % 10'000);
  if (frac != "0") {
    frac.insert(0, 4 - frac.size(), '0');
    while (frac.back() == '0') frac.pop_back();
    out += '.' + frac;
  }
  return out + "%";
}

Result<CartLine> make_line(const Catalog& catalog, const Product& product, std::int64_t quantity) {
  const TaxClass* tax = catalog.tax_class(product.tax_class);
  if (tax == nullptr) return fail(ErrorKind::NotFound, "unknown tax class '" + product.tax_class + "'");
  CartLine line;
  line.product_id = product.id;
  line.sku = product.sku;
  line.name = product.name;
  line.unit_price = product.price;
  line.tax_code = tax->code;
  line.tax_rate_ppm = tax->rate_ppm;
  line.tax_inclusive = product.tax_inclusive;
  line.quantity = quantity;
  return line;
}

Result<Totals> compute_totals(const Cart& cart) {
  Totals t;
  const std::size_t n = cart.lines.size();
  std::vector<std::int64_t> after(n, 0);  // base after the line discount
  std::vector<std::int64_t> line_discount(n, 0);
  std::int64_t sum_after = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const CartLine& l = cart.lines[i];
    const std::string what = line_label(i, l);
    if (l.quantity < 1) return invalid(what + ": quantity must be at least 1");
    if (l.unit_price < 0) return invalid(what + ": price must not be negative");
    if (l.tax_rate_ppm < 0 || l.tax_rate_ppm > kPpm) return invalid(what + ": tax rate must be between 0 and 100 %");
    auto base = checked_mul(l.unit_price, l.quantity);
    if (!base) return fail(base.error());
    auto d = discount_on(l.discount, *base, what);
    if (!d) return fail(d.error());
    line_discount[i] = *d;
    after[i] = *base - *d;
    auto s = checked_add(sum_after, after[i]);
    if (!s) return fail(s.error());
    sum_after = *s;
  }
  auto cart_d = discount_on(cart.cart_discount, sum_after, "cart");
  if (!cart_d) return fail(cart_d.error());
  const auto shares = allocate(*cart_d, after, sum_after);

  for (std::size_t i = 0; i < n; ++i) {
    const CartLine& l = cart.lines[i];
    SaleLine s;
    s.product_id = l.product_id;
    s.sku = l.sku;
    s.name = l.name;
    s.quantity = l.quantity;
    s.unit_price = l.unit_price;
    s.discount = line_discount[i] + shares[i];  // cannot overflow: both <= base
    s.tax_code = l.tax_code;
    s.tax_rate_ppm = l.tax_rate_ppm;
    s.tax_inclusive = l.tax_inclusive;
    const std::int64_t amount = after[i] - shares[i];  // >= 0 by allocate()'s contract
    if (l.tax_inclusive) {
      auto tax = mul_div_round_half_up(amount, l.tax_rate_ppm, kPpm + l.tax_rate_ppm);
      if (!tax) return fail(tax.error());
      s.gross = amount;
      s.tax = *tax;
      s.net = amount - *tax;
    } else {
      auto tax = mul_div_round_half_up(amount, l.tax_rate_ppm, kPpm);
      if (!tax) return fail(tax.error());
      auto gross = checked_add(amount, *tax);
      if (!gross) return fail(gross.error());
      s.net = amount;
      s.tax = *tax;
      s.gross = *gross;
    }
    if (auto st = accumulate_into(t.subtotal, s.net); !st) return fail(st.error());
    if (auto st = accumulate_into(t.tax_total, s.tax); !st) return fail(st.error());
    if (auto st = accumulate_into(t.discount_total, s.discount); !st) return fail(st.error());
    auto it = std::find_if(t.taxes.begin(), t.taxes.end(), [&](const TaxLine& x) {
      return x.tax_code == s.tax_code && x.tax_rate_ppm == s.tax_rate_ppm;
    });
    if (it == t.taxes.end()) {
      t.taxes.push_back(TaxLine{s.tax_code, s.tax_rate_ppm, 0, 0});
      it = t.taxes.end() - 1;
    }
    // Bounded by subtotal / tax_total, which did not overflow.
    it->net += s.net;
    it->tax += s.tax;
    t.lines.push_back(std::move(s));
  }
  if (cart.tip < 0) return invalid("tip must not be negative");
  t.tip = cart.tip;
  auto total = checked_add(t.subtotal, t.tax_total);
  if (!total) return fail(total.error());
  total = checked_add(*total, t.tip);
  if (!total) return fail(total.error());
  t.total = *total;
  return t;
}

void apply_totals(Sale& sale, const Totals& totals) {
  sale.lines = totals.lines;
  sale.taxes = totals.taxes;
  sale.subtotal = totals.subtotal;
  sale.discount_total = totals.discount_total;
  sale.tax_total = totals.tax_total;
  sale.tip = totals.tip;
  sale.total = totals.total;
}

}  // namespace till::pos
