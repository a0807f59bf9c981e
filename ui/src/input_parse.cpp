#include "till/ui/input_parse.hpp"

#include <string>

namespace till::ui {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::int64_t> parse_amount(std::string_view text, const pos::Currency& currency) {
  text = trim(text);
  if (text.empty()) return fail(ErrorKind::InvalidArgument, "Enter an amount");
  auto money = pos::Money::parse(text, currency);
  if (!money) {
    return fail(ErrorKind::InvalidArgument,
                "Not an amount: '" + std::string(text) + "' (use digits like 12.34)");
  }
  if (money->is_negative()) return fail(ErrorKind::InvalidArgument, "The amount must not be negative");
  return money->minor();
}

Result<std::int64_t> parse_percent_ppm(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.back() == '%') text = trim(text.substr(0, text.size() - 1));
  const auto bad = [&] {
    return fail(ErrorKind::InvalidArgument,
                "Not a percentage: '" + std::string(text) + "' (0 to 100, like 12.5)");
  };
  if (text.empty()) return bad();
  std::int64_t whole = 0;
  std::int64_t frac = 0;
  int frac_digits = 0;
  bool dot = false;
  for (char c : text) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (c >= '0' && c <= '9') {
      if (dot) {
        if (++frac_digits > 4) return bad();
        frac = frac * 10 + (c - '0');
      } else {
        if (whole > 100) return bad();
        whole = whole * 10 + (c - '0');
      }
    } else {
      return bad();
    }
  }
  for (int i = frac_digits; i < 4; ++i) frac *= 10;
  const std::int64_t ppm = whole * 10'000 + frac;  // 1 % = 10'000 ppm
  if (ppm > pos::kPpm) return bad();
  return ppm;
}

Result<pos::Discount> parse_discount(std::string_view text, bool percent, const pos::Currency& currency) {
  if (trim(text).empty()) return pos::Discount::none();
  if (percent) {
    auto ppm = parse_percent_ppm(text);
    if (!ppm) return fail(ppm.error());
    return *ppm == 0 ? pos::Discount::none() : pos::Discount::percent_ppm(*ppm);
  }
  auto amount = parse_amount(text, currency);
  if (!amount) return fail(amount.error());
  return *amount == 0 ? pos::Discount::none() : pos::Discount::amount(*amount);
}

Result<std::int64_t> parse_quantity(std::string_view text) {
  text = trim(text);
  std::int64_t q = 0;
  if (text.empty() || text.size() > 4) {
    return fail(ErrorKind::InvalidArgument, "Quantity must be a whole number from 1 to 9999");
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return fail(ErrorKind::InvalidArgument, "Quantity must be a whole number from 1 to 9999");
    }
    q = q * 10 + (c - '0');
  }
  if (q < 1) return fail(ErrorKind::InvalidArgument, "Quantity must be a whole number from 1 to 9999");
  return q;
}

}  // namespace till::ui
