#include "till/pos/receipt.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "till/pos/cart.hpp"
#include "till/pos/money.hpp"

namespace till::pos {
namespace {

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

// Collects the receipt as styled lines of at most `width_` columns. Rows clip their left side so
// the amount always shows; free text that does not fit is wrapped (never cut off: an OFFLINE or
// DECLINED line must be complete on a 32-column printer too).
class Printer {
 public:
  explicit Printer(std::size_t width) : width_(width) {}

  void line(std::string_view text, bool bold = false) {
    for (auto& piece : wrap(text)) push(std::move(piece), false, bold);
  }
  void centered(std::string_view text, bool bold = false) {
    for (auto& piece : wrap(text)) {
      const std::size_t w = width_of(piece);
      std::string padded;
      if (w < width_) padded.append((width_ - w) / 2, ' ');
      padded += piece;
      push(std::move(padded), true, bold);
    }
  }
  // Left text and right-aligned amount on one line. An item's name is clipped to fit (amounts stay
  // aligned); any other label that does not fit goes on a line of its own, above the amount.
  enum class Fit { ClipLabel, KeepLabel };
  void row(std::string_view left, std::string_view right, Fit fit = Fit::KeepLabel, bool bold = false,
           bool total = false) {
    const std::size_t rw = width_of(right);
    const std::size_t room = rw + 1 >= width_ ? 0 : width_ - rw - 1;
    if (room == 0 || (fit == Fit::KeepLabel && width_of(left) > room)) {
      line(left, bold);
      for (auto& piece : wrap(right)) {
        const std::size_t w = width_of(piece);
        push(std::string(w < width_ ? width_ - w : 0, ' ') + piece, false, bold);
      }
      return;
    }
    std::string l = clip(left, room);
    std::string text = l;
    const std::size_t used = width_of(l) + rw;
    if (used < width_) text.append(width_ - used, ' ');
    text += right;
    ReceiptLine& out = push(std::move(text), false, bold);
    out.total = total;
    if (total) {
      out.left = std::string(left);
      out.right = std::string(right);
    }
  }
  void rule(char c = '-') { push(std::string(width_, c), false, false); }
  std::vector<ReceiptLine> take() { return std::move(out_); }

 private:
  ReceiptLine& push(std::string text, bool centered, bool bold) {
    ReceiptLine l;
    l.text = std::move(text);
    l.centered = centered;
    l.bold = bold;
    out_.push_back(std::move(l));
    return out_.back();
  }

  // Pieces of at most width_ code points: breaks after the last space or '-' that fits (a sale id
  // breaks between its groups), else hard; continuation lines keep the leading indent.
  std::vector<std::string> wrap(std::string_view text) const {
    std::vector<std::string> pieces;
    if (width_of(text) <= width_) {
      pieces.emplace_back(text);
      return pieces;
    }
    std::size_t indent = 0;
    while (indent < text.size() && text[indent] == ' ' && indent + 8 < width_) ++indent;
    std::string rest(text);
    bool first = true;
    while (!rest.empty()) {
      const std::string prefix = first ? std::string() : std::string(indent, ' ');
      const std::size_t room = width_ - prefix.size();
      if (width_of(rest) <= room) {
        pieces.push_back(prefix + rest);
        break;
      }
      const std::string head = clip(rest, room);
      std::size_t cut = head.size();
      for (std::size_t i = head.size(); i > indent + 1; --i) {
        if (head[i - 1] == ' ' || head[i - 1] == '-') {
          cut = i;
          break;
        }
      }
      std::string piece = rest.substr(0, cut);
      while (!piece.empty() && piece.back() == ' ') piece.pop_back();
      pieces.push_back(prefix + piece);
      rest.erase(0, cut);
      std::size_t skip = 0;
      while (skip < rest.size() && rest[skip] == ' ') ++skip;
      rest.erase(0, skip);
      first = false;
    }
    return pieces;
  }

  std::size_t width_;
  std::vector<ReceiptLine> out_;
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
  if (!c.last4.empty()) {
    // Appended in two steps: `" " + std::string&&` trips GCC 12's -Wrestrict false positive at -O3.
    label += ' ';
    label += masked_last4(c.last4);
  }
  p.row(label, money(a.amount));
  if (!c.read_method.empty()) p.line("  " + read_method_text(c.read_method));
  if (!c.application_label.empty()) p.line("  " + c.application_label);
  if (!c.application_id.empty()) p.line("  AID " + c.application_id);
  if (!c.terminal_verification_results.empty()) p.line("  TVR " + c.terminal_verification_results);
  if (!c.cardholder_verification.empty()) p.line("  CVM " + cvm_text(c.cardholder_verification));
  switch (a.state) {
    case AttemptState::Approved:
      if (!c.authorization_code.empty()) p.line("  AUTH CODE " + c.authorization_code);
      p.line("  APPROVED", true);
      break;
    case AttemptState::StoredOffline:
      p.line("  OFFLINE: STORED, AUTHORIZATION PENDING", true);
      break;
    case AttemptState::Declined:
    case AttemptState::DeclinedAfterForward:
      p.line("  DECLINED " + (a.decline_code.empty() ? std::string("card_declined") : a.decline_code), true);
      break;
    default:
      p.line("  " + upper(std::string(to_string(a.state))));
      break;
  }
}

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

// True when `digits` (leading zeros ignored) is, or contains, a Luhn-valid number of 13 to 19
// digits not starting with 0. A longer number containing one is masked whole: a card number glued
// to other digits is still a card number.
bool holds_card_number(std::string_view digits) {
  std::size_t lead = 0;
  while (lead < digits.size() && digits[lead] == '0') ++lead;
  const std::string_view rest = digits.substr(lead);
  if (rest.size() < 13) return false;
  if (rest.size() <= 19 && luhn_valid(rest)) return true;
  for (std::size_t start = 0; start + 13 <= rest.size(); ++start) {
    if (rest[start] == '0') continue;
    for (std::size_t len = 13; len <= 19 && start + len <= rest.size(); ++len) {
      if (luhn_valid(rest.substr(start, len))) return true;
    }
  }
  return false;
}

// The input with every printed text field passed through mask_card_numbers.
ReceiptInput masked(const ReceiptInput& in) {
  ReceiptInput m = in;
  const auto mask = [](std::string& s) { s = mask_card_numbers(s); };
  mask(m.merchant.name);
  for (auto& l : m.merchant.address_lines) mask(l);
  mask(m.merchant.phone);
  mask(m.sale.id);
  mask(m.sale.register_id);
  mask(m.sale.currency);
  for (auto& l : m.sale.lines) mask(l.name);
  for (auto& t : m.tenders) {
    mask(t.card.brand);
    mask(t.card.exp_month_year);
    mask(t.card.read_method);
    mask(t.card.application_id);
    mask(t.card.application_label);
    mask(t.card.authorization_code);
    mask(t.card.terminal_verification_results);
    mask(t.card.cardholder_verification);
    mask(t.decline_code);
  }
  return m;
}

}  // namespace

std::string mask_card_numbers(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) {
      out += text[i++];
      continue;
    }
    // The maximal run of digit groups joined by single spaces or dashes.
    std::size_t end = i;
    std::string digits;
    while (end < text.size()) {
      if (is_digit(text[end])) {
        digits += text[end++];
      } else if ((text[end] == ' ' || text[end] == '-') && end + 1 < text.size() && is_digit(text[end + 1])) {
        ++end;
      } else {
        break;
      }
    }
    const bool phone = i > 0 && text[i - 1] == '+';
    if (!phone && holds_card_number(digits)) {
      out += "**** ";
      out += digits.substr(digits.size() - 4);
    } else {
      out.append(text.substr(i, end - i));
    }
    i = end;
  }
  return out;
}

std::vector<ReceiptLine> layout_receipt(const ReceiptInput& raw, int width) {
  const ReceiptInput in = masked(raw);
  Printer p(static_cast<std::size_t>(std::clamp(width, kMinReceiptWidth, kMaxReceiptWidth)));
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

  if (!in.merchant.name.empty()) p.centered(in.merchant.name, true);
  for (const auto& l : in.merchant.address_lines) p.centered(l);
  if (!in.merchant.phone.empty()) p.centered("Tel " + in.merchant.phone);
  p.rule();
  p.line("Sale " + sale.id);
  if (!sale.register_id.empty()) p.line("Register " + sale.register_id);
  p.line(timestamp_text(sale.created_at));
  if (declined) {
    p.rule('*');
    p.centered("CARD PAYMENT DECLINED", true);
    p.rule('*');
  } else {
    p.rule();
  }

  // Items at shelf price (net for tax-exclusive lines, gross for inclusive ones).
  for (const auto& l : sale.lines) {
    std::int64_t base = 0;
    // compute_totals checked this product; a hand-made record that overflows prints the net.
    if (__builtin_mul_overflow(l.unit_price, l.quantity, &base)) base = (l.tax_inclusive ? l.gross : l.net) + l.discount;
    p.row(l.quantity == 1 ? l.name : std::to_string(l.quantity) + " x " + l.name, money(base),
          Printer::Fit::ClipLabel);
    if (l.quantity != 1) p.line("   @ " + money(l.unit_price));
    if (l.discount != 0) p.row("   Discount", money(-l.discount), Printer::Fit::ClipLabel);
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
  p.row("TOTAL", upper(money.code) + " " + money(sale.total), Printer::Fit::KeepLabel, true, true);
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

std::string render_receipt(const ReceiptInput& in) {
  std::string out;
  for (const auto& l : layout_receipt(in, kReceiptWidth)) {
    out += l.text;
    out += '\n';
  }
  return out;
}

}  // namespace till::pos
