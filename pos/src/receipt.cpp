#include "till/pos/receipt.hpp"

#include <chrono>
#include <cstdio>

#include "till/pos/cart.hpp"
#include "till/pos/money.hpp"

namespace till::pos {
namespace {

constexpr std::size_t kWidth = kReceiptWidth;

// Display width in code points (UTF-8 continuation bytes do not count), so "Café" lines up.
std::size_t width_of(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

// The first `cols` code points of s.
std::string clip(std::string_view s, std::size_t cols) {
  std::size_t n = 0;
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (n == cols) break;
      ++n;
    }
  }
  return std::string(s.substr(0, i));
}

class Printer {
 public:
  void line(std::string_view text) {
    out_ += clip(text, kWidth);
    out_ += '\n';
  }
  void centered(std::string_view text) {
    const std::size_t w = width_of(text);
    if (w < kWidth) out_.append((kWidth - w) / 2, ' ');
    line(text);
  }
  // Left text and right-aligned amount on one line; the left side is clipped to fit.
  void row(std::string_view left, std::string_view right) {
    const std::size_t rw = width_of(right);
    const std::size_t room = rw + 1 >= kWidth ? 0 : kWidth - rw - 1;
    std::string l = clip(left, room);
    out_ += l;
    out_.append(kWidth - width_of(l) - rw, ' ');
    out_ += right;
    out_ += '\n';
  }
  void rule(char c = '-') {
    out_.append(kWidth, c);
    out_ += '\n';
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

struct Amounts {
  bool known = false;
  Currency currency = Currency::of("usd");
  std::string code;

  std::string operator()(std::int64_t minor) const {
    if (known) return Money(minor, currency).amount_string();
    return Money(minor, Currency::of("usd")).amount_string();  // 2 decimals for an unknown code
  }
};

std::string timestamp_text(Timestamp t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<seconds>(t - day)};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02lld:%02lld:%02lld UTC", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(hms.hours().count()), static_cast<long long>(hms.minutes().count()),
                static_cast<long long>(hms.seconds().count()));
  return buf;
}

std::string upper(std::string s) {
  for (auto& ch : s) ch = static_cast<char>((ch >= 'a' && ch <= 'z') ? ch - 'a' + 'A' : ch);
  return s;
}

// Only ever the last four characters, whatever a driver hands over: a PAN never gets printed.
std::string masked_last4(const std::string& last4) {
  std::string digits;
  for (char c : last4) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.size() > 4) digits = digits.substr(digits.size() - 4);
  return "**** " + digits;
}

std::string read_method_text(const std::string& m) {
  if (m == "contact_emv") return "Chip";
  if (m == "contactless_emv") return "Contactless";
  if (m == "contactless_magstripe_mode") return "Contactless (magstripe mode)";
  if (m == "magnetic_stripe") return "Swiped";
  if (m == "magnetic_stripe_fallback") return "Swiped (chip fallback)";
  return m;
}

std::string cvm_text(const std::string& c) {
  if (c == "offline_pin") return "PIN verified (offline)";
  if (c == "online_pin") return "PIN verified (online)";
  if (c == "signature") return "Signature";
  if (c == "none") return "No verification";
  return c;
}

void card_tender(Printer& p, const Amounts& money, const PaymentAttempt& a) {
  const CardDetails& c = a.card;
  std::string brand = c.brand.empty() ? std::string("CARD") : upper(c.brand);
  std::string label = brand;
  if (!c.last4.empty()) label += " " + masked_last4(c.last4);
  p.row(label, money(a.amount));
  if (!c.read_method.empty()) p.line("  " + read_method_text(c.read_method));
  if (!c.application_label.empty()) p.line("  " + c.application_label);
  if (!c.application_id.empty()) p.line("  AID " + c.application_id);
  if (!c.terminal_verification_results.empty()) p.line("  TVR " + c.terminal_verification_results);
  if (!c.cardholder_verification.empty()) p.line("  CVM " + cvm_text(c.cardholder_verification));
  switch (a.state) {
    case AttemptState::Approved:
      if (!c.authorization_code.empty()) p.line("  AUTH CODE " + c.authorization_code);
      p.line("  APPROVED");
      break;
    case AttemptState::StoredOffline:
      p.line("  OFFLINE: STORED, AUTHORIZATION PENDING");
      break;
    case AttemptState::Declined:
    case AttemptState::DeclinedAfterForward:
      p.line("  DECLINED " + (a.decline_code.empty() ? std::string("card_declined") : a.decline_code));
      break;
    default:
      p.line("  " + upper(std::string(to_string(a.state))));
      break;
  }
}

}  // namespace

std::string render_receipt(const ReceiptInput& in) {
  Printer p;
  Amounts money;
  money.code = in.sale.currency;
  if (auto c = Currency::parse(in.sale.currency)) {
    money.known = true;
    money.currency = *c;
  }
  const Sale& sale = in.sale;
  bool declined = false;
  for (const auto& t : in.tenders) {
    if (t.state == AttemptState::Declined || t.state == AttemptState::DeclinedAfterForward) declined = true;
  }

  if (!in.merchant.name.empty()) p.centered(in.merchant.name);
  for (const auto& l : in.merchant.address_lines) p.centered(l);
  if (!in.merchant.phone.empty()) p.centered("Tel " + in.merchant.phone);
  p.rule();
  p.line("Sale " + sale.id);
  if (!sale.register_id.empty()) p.line("Register " + sale.register_id);
  p.line(timestamp_text(sale.created_at));
  if (declined) {
    p.rule('*');
    p.centered("CARD PAYMENT DECLINED");
    p.rule('*');
  } else {
    p.rule();
  }

  // Items at shelf price (net for tax-exclusive lines, gross for inclusive ones).
  for (const auto& l : sale.lines) {
    std::int64_t base = 0;
    // compute_totals checked this product; a hand-made record that overflows prints the net.
    if (__builtin_mul_overflow(l.unit_price, l.quantity, &base)) base = (l.tax_inclusive ? l.gross : l.net) + l.discount;
    p.row(l.quantity == 1 ? l.name : std::to_string(l.quantity) + " x " + l.name, money(base));
    if (l.quantity != 1) p.line("   @ " + money(l.unit_price));
    if (l.discount != 0) p.row("   Discount", money(-l.discount));
  }
  p.rule();
  // Subtotal in shelf-price terms, so the printed lines add up: sum(base - discount).
  std::int64_t shelf = 0;
  for (const auto& l : sale.lines) shelf += l.tax_inclusive ? l.gross : l.net;
  p.row("Subtotal", money(shelf));
  for (const auto& t : sale.taxes) {
    std::int64_t excl_net = 0, excl_tax = 0, incl_tax = 0, incl_net = 0;
    for (const auto& l : sale.lines) {
      if (l.tax_code != t.tax_code || l.tax_rate_ppm != t.tax_rate_ppm) continue;
      (l.tax_inclusive ? incl_tax : excl_tax) += l.tax;
      (l.tax_inclusive ? incl_net : excl_net) += l.net;
    }
    const std::string rate = format_percent_ppm(t.tax_rate_ppm);
    if (excl_net != 0 || excl_tax != 0) p.row("Tax " + rate + " on " + money(excl_net), money(excl_tax));
    if (incl_net != 0 || incl_tax != 0) p.row("(incl. tax " + rate + " on " + money(incl_net) + ")", money(incl_tax));
  }
  if (sale.tip != 0) p.row("Tip", money(sale.tip));
  p.row("TOTAL", upper(money.code) + " " + money(sale.total));
  p.rule();

  for (const auto& t : in.tenders) {
    if (t.tender == TenderKind::Cash) {
      p.row("CASH", money(t.amount));
    } else {
      card_tender(p, money, t);
    }
  }
  if (in.cash_tendered != 0) {
    p.row("Cash tendered", money(in.cash_tendered));
    p.row("CHANGE", money(in.change));
  }
  if (declined) {
    p.line("This card was not charged.");
  }
  p.rule();
  p.centered(declined ? "Customer copy - not a proof of payment" : "Thank you!");
  return p.take();
}

}  // namespace till::pos
