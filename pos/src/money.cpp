#include "till/pos/money.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace till::pos {

struct CurrencyTable {
  static constexpr Currency make(const char (&c)[4], int e) { return Currency({c[0], c[1], c[2]}, e); }
};

namespace {
constexpr Currency make(const char (&c)[4], int e) { return CurrencyTable::make(c, e); }
// Zero- and three-decimal lists are Stripe's (stripe.md §4); the rest are two-decimal.
constexpr std::array kAll = {
      // zero-decimal
      make("bif", 0), make("clp", 0), make("djf", 0), make("gnf", 0), make("jpy", 0),
      make("kmf", 0), make("krw", 0), make("mga", 0), make("pyg", 0), make("rwf", 0),
      make("ugx", 0), make("vnd", 0), make("vuv", 0), make("xaf", 0), make("xof", 0),
      make("xpf", 0),
      // three-decimal
      make("bhd", 3), make("jod", 3), make("kwd", 3), make("omr", 3), make("tnd", 3),
      // two-decimal (the ones in-person payments are offered in, plus common neighbours)
      make("usd", 2), make("cad", 2), make("eur", 2), make("gbp", 2), make("aud", 2),
      make("nzd", 2), make("chf", 2), make("sek", 2), make("nok", 2), make("dkk", 2),
      make("pln", 2), make("czk", 2), make("ron", 2), make("sgd", 2), make("hkd", 2),
      make("myr", 2), make("mxn", 2), make("brl", 2), make("inr", 2), make("zar", 2),
      make("aed", 2), make("thb", 2), make("ils", 2), make("try", 2), make("bgn", 2),
};
// GCC's 128-bit integer keeps the tax arithmetic exact; __extension__ tells -Wpedantic we know.
__extension__ typedef __int128 int128;
}  // namespace

Result<Currency> Currency::parse(std::string_view code) {
  if (code.size() != 3) return fail(ErrorKind::InvalidArgument, "currency must be a 3-letter ISO code");
  std::array<char, 3> lower{};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto c = static_cast<unsigned char>(code[i]);
    if (!std::isalpha(c)) return fail(ErrorKind::InvalidArgument, "currency must be a 3-letter ISO code");
    lower[i] = static_cast<char>(std::tolower(c));
  }
  for (const auto& c : kAll) {
    if (c.code_ == lower) return c;
  }
  return fail(ErrorKind::InvalidArgument, "unsupported currency '" + std::string(code) + "'");
}

Currency Currency::of(std::string_view code) {
  auto c = parse(code);
  if (!c) {
    std::fprintf(stderr, "till: unknown currency literal '%.*s'\n", static_cast<int>(code.size()), code.data());
    std::abort();
  }
  return *c;
}

std::string Currency::upper() const {
  std::string s(code());
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

std::int64_t Currency::minor_per_major() const noexcept {
  std::int64_t f = 1;
  for (int i = 0; i < exponent_; ++i) f *= 10;
  return f;
}

std::span<const Currency> Currency::all() { return kAll; }

Result<std::int64_t> checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return fail(ErrorKind::InvalidArgument, "amount overflow");
  return r;
}

Result<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return fail(ErrorKind::InvalidArgument, "amount overflow");
  return r;
}

Result<std::int64_t> mul_div_round_half_up(std::int64_t a, std::int64_t num, std::int64_t den) {
  if (den <= 0) return fail(ErrorKind::InvalidArgument, "division by a non-positive number");
  const int128 p = static_cast<int128>(a) * num;
  const bool negative = p < 0;
  const int128 mag = negative ? -p : p;
  int128 q = mag / den;
  if ((mag % den) * 2 >= den) ++q;  // half away from zero
  const int128 r = negative ? -q : q;
  if (r > std::numeric_limits<std::int64_t>::max() || r < std::numeric_limits<std::int64_t>::min()) {
    return fail(ErrorKind::InvalidArgument, "amount overflow");
  }
  return static_cast<std::int64_t>(r);
}

namespace {
Status same_currency(const Money& a, const Money& b) {
  if (!(a.currency() == b.currency())) {
    return fail(ErrorKind::InvalidArgument, "currency mismatch: " + std::string(a.currency().code()) +
                                                " vs " + std::string(b.currency().code()));
  }
  return ok();
}
}  // namespace

Result<Money> Money::plus(const Money& o) const {
  if (auto s = same_currency(*this, o); !s) return fail(s.error());
  auto r = checked_add(minor_, o.minor_);
  if (!r) return fail(r.error());
  return Money(*r, currency_);
}

Result<Money> Money::minus(const Money& o) const {
  if (auto s = same_currency(*this, o); !s) return fail(s.error());
  std::int64_t r = 0;
  if (__builtin_sub_overflow(minor_, o.minor_, &r)) return fail(ErrorKind::InvalidArgument, "amount overflow");
  return Money(r, currency_);
}

Result<Money> Money::times(std::int64_t factor) const {
  auto r = checked_mul(minor_, factor);
  if (!r) return fail(r.error());
  return Money(*r, currency_);
}

Money Money::negated() const { return Money(-minor_, currency_); }

Result<Money> Money::parse(std::string_view text, Currency currency) {
  auto bad = [&](std::string why) {
    return fail(ErrorKind::InvalidArgument, "invalid amount '" + std::string(text) + "': " + why);
  };
  if (text.empty()) return bad("empty");
  bool negative = false;
  std::size_t i = 0;
  if (text[0] == '-') {
    negative = true;
    i = 1;
  }
  std::int64_t major = 0;
  std::size_t int_digits = 0;
  for (; i < text.size() && text[i] != '.'; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return bad("unexpected character");
    auto m = checked_mul(major, 10);
    if (!m) return bad("too large");
    auto a = checked_add(*m, c - '0');
    if (!a) return bad("too large");
    major = *a;
    ++int_digits;
  }
  std::int64_t frac = 0;
  int frac_digits = 0;
  if (i < text.size()) {  // at '.'
    ++i;
    if (i == text.size()) return bad("no digits after the decimal point");
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (c < '0' || c > '9') return bad("unexpected character");
      if (++frac_digits > currency.exponent()) {
        return bad(currency.upper() + " has " + std::to_string(currency.exponent()) + " decimal places");
      }
      frac = frac * 10 + (c - '0');
    }
  }
  if (int_digits == 0 && frac_digits == 0) return bad("no digits");
  for (int k = frac_digits; k < currency.exponent(); ++k) frac *= 10;
  auto scaled = checked_mul(major, currency.minor_per_major());
  if (!scaled) return bad("too large");
  auto total = checked_add(*scaled, frac);
  if (!total) return bad("too large");
  return Money(negative ? -*total : *total, currency);
}

std::string Money::amount_string() const {
  const std::int64_t f = currency_.minor_per_major();
  // Work in unsigned magnitude so INT64_MIN formats correctly too.
  const bool negative = minor_ < 0;
  const std::uint64_t mag = negative ? (0 - static_cast<std::uint64_t>(minor_)) : static_cast<std::uint64_t>(minor_);
  std::string out = negative ? "-" : "";
  out += std::to_string(mag / static_cast<std::uint64_t>(f));
  if (currency_.exponent() > 0) {
    std::string frac = std::to_string(mag % static_cast<std::uint64_t>(f));
    out += '.';
    out.append(static_cast<std::size_t>(currency_.exponent()) - frac.size(), '0');
    out += frac;
  }
  return out;
}

std::string Money::format() const { return currency_.upper() + " " + amount_string(); }

}  // namespace till::pos
