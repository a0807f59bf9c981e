// ESC/POS receipts compared byte for byte, the code page tables checked against glibc's iconv, and
// a property test: whatever the input, the output is only printable text and the commands listed
// in escpos.hpp, and a card number never reaches it.
#include "till/pos/escpos.hpp"

#include <iconv.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "till/base/random.hpp"

using namespace till;
using namespace till::pos;

namespace {

const std::string kInit = "\x1b@\x1bt\x13";  // ESC @, ESC t 19 (PC858, the default)
const std::string kCenter = "\x1b" "a\x01";
const std::string kLeft = "\x1b" "a" + std::string(1, '\0');
const std::string kBoldOn = "\x1b" "E\x01";
const std::string kBoldOff = "\x1b" "E" + std::string(1, '\0');
const std::string kLarge = "\x1d!\x11";
const std::string kTall = "\x1d!\x01";
const std::string kNormalSize = "\x1d!" + std::string(1, '\0');
const std::string kPartialCut = "\x1dV\x42" + std::string(1, '\0');
const std::string kRule42 = std::string(42, '-') + "\n";

// Tea 2.50 at 10 % exclusive: tax 0.25, total 2.75.
Sale tea_sale(SaleState state) {
  Sale s;
  s.id = "6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40";
  s.register_id = "reg-1";
  s.currency = "usd";
  s.state = state;
  SaleLine l;
  l.product_id = "tea";
  l.name = "Tea";
  l.quantity = 1;
  l.unit_price = 250;
  l.tax_code = "standard";
  l.tax_rate_ppm = 100'000;
  l.net = 250;
  l.tax = 25;
  l.gross = 275;
  s.lines = {l};
  s.taxes = {TaxLine{"standard", 100'000, 250, 25}};
  s.subtotal = 250;
  s.tax_total = 25;
  s.total = 275;
  s.created_at = from_unix_ms(1'790'000'000'000);  // 2026-09-21 14:13:20 UTC
  return s;
}

PaymentAttempt visa(AttemptState state) {
  PaymentAttempt a;
  a.tender = TenderKind::Card;
  a.state = state;
  a.amount = 275;
  a.card.brand = "visa";
  a.card.last4 = "4242";
  a.card.read_method = "contactless_emv";
  return a;
}

const Merchant kCorner{"Corner Shop", {}, ""};

const std::string kTeaHeader =
    "Sale 6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40\n"
    "Register reg-1\n"
    "2026-09-21 14:13:20 UTC\n";

const std::string kTeaItems42 =
    "Tea                                   2.50\n" + kRule42 +
    "Subtotal                              2.50\n"
    "Tax 10% on 2.50                       0.25\n";

}  // namespace

TEST_CASE("an approved receipt becomes ESC/POS with a centred bold header, a large total and a partial cut") {
  auto a = visa(AttemptState::Approved);
  a.card.authorization_code = "123456";
  const std::string expected = kInit +                                             //
                               kCenter + kBoldOn + "Corner Shop\n" +               //
                               kLeft + kBoldOff + kRule42 + kTeaHeader + kRule42 +  //
                               kTeaItems42 +                                       //
                               kBoldOn + kLarge + "TOTAL        USD 2.75\n" +      // 21 columns at double width
                               kBoldOff + kNormalSize + kRule42 +                  //
                               "VISA **** 4242                        2.75\n"
                               "  Contactless\n"
                               "  AUTH CODE 123456\n" +
                               kBoldOn + "  APPROVED\n" +  //
                               kBoldOff + kRule42 +        //
                               kCenter + "Thank you!\n" +  //
                               kLeft + kPartialCut;
  CHECK(escpos_receipt(ReceiptInput{kCorner, tea_sale(SaleState::Paid), {a}, 0, 0}) == expected);
}

TEST_CASE("a declined receipt prints the DECLINED banner and code in bold, and says the card was not charged") {
  auto a = visa(AttemptState::Declined);
  a.decline_code = "insufficient_funds";
  EscPosOptions o;
  o.cut = Cut::Full;
  o.large_total = false;
  const std::string stars = std::string(42, '*') + "\n";
  const std::string expected = kInit +                                                         //
                               kCenter + kBoldOn + "Corner Shop\n" +                           //
                               kLeft + kBoldOff + kRule42 + kTeaHeader + stars +               //
                               kCenter + kBoldOn + "CARD PAYMENT DECLINED\n" +                 //
                               kLeft + kBoldOff + stars + kTeaItems42 +                        //
                               kBoldOn + "TOTAL                             USD 2.75\n" +      // bold only
                               kBoldOff + kRule42 +                                            //
                               "VISA **** 4242                        2.75\n"
                               "  Contactless\n" +
                               kBoldOn + "  DECLINED insufficient_funds\n" +  //
                               kBoldOff + "This card was not charged.\n" + kRule42 +
                               kCenter + "Customer copy - not a proof of payment\n" +  //
                               kLeft + "\x1dV\x41" + std::string(1, '\0');             // GS V 65 0: full cut
  CHECK(escpos_receipt(ReceiptInput{kCorner, tea_sale(SaleState::Tendering), {a}, 0, 0}, o) == expected);
}

TEST_CASE("an offline-stored receipt at 32 columns wraps the OFFLINE marker and the sale id instead of cutting them") {
  auto a = visa(AttemptState::StoredOffline);
  a.offline = true;
  a.card.brand = "mastercard";
  a.card.last4 = "4444";
  a.card.read_method = "";
  EscPosOptions o;
  o.width = kNarrowReceiptWidth;
  o.code_page = CodePage::Wpc1252;
  o.cut = Cut::None;
  const std::string rule = std::string(32, '-') + "\n";
  const std::string expected = std::string("\x1b@\x1bt\x10") +             // ESC t 16: WPC1252
                               kCenter + kBoldOn + "Caf\xe9 Z\xfcrich\n" +  // transcoded
                               kLeft + kBoldOff + rule +                    //
                               "Sale 6f1c2a9e-0b7d-4c1e-9a55-\n"
                               "3d2f8e7b1c40\n"
                               "Register reg-1\n"
                               "2026-09-21 14:13:20 UTC\n" +
                               rule +                                  //
                               "Tea                         2.50\n" +  //
                               rule +                                  //
                               "Subtotal                    2.50\n"
                               "Tax 10% on 2.50             0.25\n" +
                               kBoldOn + kLarge + "TOTAL   USD 2.75\n" +  // 16 columns at double width
                               kBoldOff + kNormalSize + rule +            //
                               "MASTERCARD **** 4444        2.75\n" +     //
                               kBoldOn + "  OFFLINE: STORED,\n" + "  AUTHORIZATION PENDING\n" +  //
                               kBoldOff + rule +                                                 //
                               kCenter + "Thank you!\n" +                                        //
                               kLeft + "\x1b" "d\x04";                                           // ESC d 4: feed, no cutter
  const Merchant cafe{"Café Zürich", {}, ""};
  CHECK(escpos_receipt(ReceiptInput{cafe, tea_sale(SaleState::Paid), {a}, 0, 0}, o) == expected);

  // The plain-text layout at 32 columns is the same lines, none wider than 32.
  for (const auto& l : layout_receipt(ReceiptInput{cafe, tea_sale(SaleState::Paid), {a}, 0, 0}, 32)) {
    std::size_t cols = 0;
    for (unsigned char c : l.text) cols += (c & 0xC0) != 0x80;
    CHECK(cols <= 32);
  }
}

TEST_CASE("the plain text of a PrintReceipt effect becomes ESC/POS line by line") {
  const std::string text = render_receipt(ReceiptInput{kCorner, tea_sale(SaleState::Paid), {}, 0, 0});
  std::string body;
  for (char c : text) body += c;  // already one '\n' per line
  CHECK(escpos_from_text(text) == kInit + body + kPartialCut);
  CHECK(escpos_from_text("no newline at the end") == kInit + "no newline at the end\n" + kPartialCut);
  CHECK(escpos_from_text("") == kInit + kPartialCut);
}

TEST_CASE("the cash drawer pulse is ESC p 0 25 250") {
  CHECK(escpos_open_cash_drawer() == std::string("\x1bp") + '\0' + "\x19\xfa");
}

TEST_CASE("text is transcoded to the code page and control bytes never reach the printer") {
  CHECK(encode_for_code_page("Café Zürich €5", CodePage::Pc858) == "Caf\x82 Z\x81rich \xd5" "5");
  CHECK(encode_for_code_page("Café Zürich €5", CodePage::Wpc1252) == "Caf\xe9 Z\xfcrich \x80" "5");
  CHECK(encode_for_code_page("Café €5", CodePage::Pc437) == "Caf\x82 EUR5");
  CHECK(encode_for_code_page("“quoted” – dash…", CodePage::Pc437) == "\"quoted\" - dash...");
  CHECK(encode_for_code_page("寿司", CodePage::Pc858) == "??");
  // ESC i (cut), GS V, ESC p (drawer), DEL, a C1 control and malformed UTF-8.
  CHECK(encode_for_code_page("a\x1bi\x1dV\x01\x1bp\x7f\xc2\x85\xff\xc3(b\tc", CodePage::Pc858) ==
        "a?i?V??p???" "?(b c");
}

TEST_CASE("the code page tables agree with glibc's iconv for every byte") {
  struct Page {
    CodePage page;
    const char* iconv_name;
  };
  for (const Page p : {Page{CodePage::Pc437, "CP437"}, Page{CodePage::Pc858, "CP858"},
                       Page{CodePage::Wpc1252, "CP1252"}}) {
    iconv_t cd = iconv_open("UTF-8", p.iconv_name);
    REQUIRE(cd != reinterpret_cast<iconv_t>(-1));
    int checked = 0;
    for (int b = 0xA1; b <= 0xFF; ++b) {
      char in[1] = {static_cast<char>(b)};
      char out[8] = {};
      char* ip = in;
      char* op = out;
      std::size_t il = 1, ol = sizeof out;
      if (iconv(cd, &ip, &il, &op, &ol) == static_cast<std::size_t>(-1)) continue;  // undefined in glibc
      const std::string utf8(out, static_cast<std::size_t>(op - out));
      if (utf8 == "\xc2\xa0" || utf8 == "\xc2\xad") continue;  // NBSP and SHY print as ' ' and '-'
      INFO(p.iconv_name << " byte " << b);
      CHECK(encode_for_code_page(utf8, p.page) == std::string(1, static_cast<char>(b)));
      ++checked;
    }
    iconv_close(cd);
    CHECK(checked > 80);
  }
}

TEST_CASE("card numbers are masked to the last four wherever they appear, and EMV fields stay intact") {
  // A product name holding a full card number is masked on the plain-text receipt as well.
  Sale s = tea_sale(SaleState::Paid);
  s.lines[0].name = "Gift card 4242424242424242";
  const std::string text = render_receipt(ReceiptInput{kCorner, s, {}, 0, 0});
  CHECK_THAT(text, Catch::Contains("Gift card **** 4242 "));
  CHECK(text.find("424242424242") == std::string::npos);

  CHECK(mask_card_numbers("4242424242424242") == "**** 4242");
  CHECK(mask_card_numbers("card 4242 4242 4242 4242 thanks") == "card **** 4242 thanks");
  CHECK(mask_card_numbers("Amex 3782-822463-10005.") == "Amex **** 0005.");
  CHECK(mask_card_numbers("x004242424242424242") == "x**** 4242");  // leading zeros do not hide it
  // Fails the Luhn check, and no 13-19 digit part of it passes.
  CHECK(mask_card_numbers("4000000000000001") == "4000000000000001");
  CHECK(mask_card_numbers("Tel +49 30 1234 5678 9012") == "Tel +49 30 1234 5678 9012");  // a phone number
  CHECK(mask_card_numbers("EAN 12 4242424242424242") == "EAN **** 4242");  // glued to other digits
  CHECK(mask_card_numbers("  AID A0000000031010") == "  AID A0000000031010");
  CHECK(mask_card_numbers("  TVR 0000000000") == "  TVR 0000000000");
  CHECK(mask_card_numbers("2026-09-21 14:13:20 UTC") == "2026-09-21 14:13:20 UTC");
  CHECK(mask_card_numbers("Sale 6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40") == "Sale 6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40");
}

namespace {

// A random Luhn-valid 16-digit number starting with 4 (Visa-like).
std::string random_pan(Random& r) {
  std::string p = "4";
  while (p.size() < 15) p += static_cast<char>('0' + r.uniform(10));
  for (char check = '0'; check <= '9'; ++check) {
    int sum = 0;
    bool twice = true;  // the check digit is appended at the right
    for (auto it = p.rbegin(); it != p.rend(); ++it) {
      int d = *it - '0';
      if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
      twice = !twice;
    }
    if ((sum + (check - '0')) % 10 == 0) return p + check;
  }
  return p + "0";
}

// Text a hostile or broken catalog could hold: printable ASCII, Latin-1 letters, CJK, control
// bytes (ESC, GS, DLE, NUL), malformed UTF-8, and sometimes a full card number.
std::string random_text(Random& r, std::vector<std::string>& pans) {
  static const char* kPieces[] = {"Latte", " ", "Café", "Zürich", "寿司", "€", "–", "\x1b", "\x1d", "\x10",
                                  "" /* NUL, below */, "\xff", "\xc3", "\x1bi", "\x1dV\x01", "\t",
                                  "\r", "\n", "\x7f", "\xc2\x85", "12", "-", "0000"};
  std::string s;
  const auto n = r.uniform(8);
  for (std::uint64_t i = 0; i < n; ++i) {
    if (r.uniform(12) == 0) {
      pans.push_back(random_pan(r));
      s += (r.uniform(2) == 0 ? " " : "") + pans.back() + " ";
    } else {
      const auto k = r.uniform(sizeof kPieces / sizeof kPieces[0]);
      s += k == 10 ? std::string(1, '\0') : std::string(kPieces[k]);
    }
  }
  return s;
}

// Walks the bytes: every one must be printable text of the page, LF, or a listed command.
// Returns an empty string when the output is clean, else what was found where.
std::string check_stream(const std::string& out, CodePage page) {
  const std::string start = std::string("\x1b@\x1bt") + static_cast<char>(static_cast<std::uint8_t>(page));
  if (out.rfind(start, 0) != 0) return "does not start with ESC @ ESC t";
  std::size_t i = start.size();
  const auto arg = [&](std::size_t k) { return static_cast<unsigned char>(out[i + k]); };
  while (i < out.size()) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (c == 0x0A || (c >= 0x20 && c <= 0x7E)) {
      ++i;
    } else if (c >= 0x80) {
      // 0x81, 0x8D, 0x8F, 0x90, 0x9D have no character in WPC1252.
      if (page == CodePage::Wpc1252 && (c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D))
        return "undefined WPC1252 byte at " + std::to_string(i);
      ++i;
    } else if (c == 0x1B && i + 2 < out.size() + 1 && i + 1 < out.size()) {
      const char cmd = out[i + 1];
      if ((cmd == 'a' && i + 2 < out.size() && arg(2) <= 1) || (cmd == 'E' && i + 2 < out.size() && arg(2) <= 1) ||
          (cmd == 'd' && i + 2 < out.size())) {
        i += 3;
      } else {
        return "unknown ESC command at " + std::to_string(i);
      }
    } else if (c == 0x1D && i + 2 < out.size()) {
      if (out[i + 1] == '!' && (arg(2) == 0x00 || arg(2) == 0x01 || arg(2) == 0x11)) {
        i += 3;
      } else if (out[i + 1] == 'V' && i + 3 < out.size() && (arg(2) == 65 || arg(2) == 66)) {
        i += 4;
        if (i != out.size()) return "bytes after the cut";
      } else {
        return "unknown GS command at " + std::to_string(i);
      }
    } else {
      return "control byte " + std::to_string(c) + " at " + std::to_string(i);
    }
  }
  return {};
}

std::string digits_only(const std::string& s) {
  std::string d;
  for (char c : s) {
    if (c >= '0' && c <= '9') d += c;
  }
  return d;
}

}  // namespace

TEST_CASE("no input makes ESC/POS output anything but printable text and known commands, or a card number") {
  SeededRandom r(20260921);
  int with_pan = 0;
  for (int round = 0; round < 600; ++round) {
    std::vector<std::string> pans;
    Sale s = tea_sale(r.uniform(2) == 0 ? SaleState::Paid : SaleState::Tendering);
    s.id = new_uuid_v4(r);
    s.register_id = random_text(r, pans);
    s.currency = r.uniform(5) == 0 ? random_text(r, pans) : "eur";
    s.lines.clear();
    const auto lines = r.uniform(5);
    for (std::uint64_t i = 0; i < lines; ++i) {
      SaleLine l;
      l.name = random_text(r, pans);
      l.quantity = 1 + static_cast<std::int64_t>(r.uniform(5));
      l.unit_price = static_cast<std::int64_t>(r.uniform(100'000));
      l.discount = static_cast<std::int64_t>(r.uniform(3)) * 10;
      l.tax_code = "standard";
      l.tax_rate_ppm = 100'000;
      l.net = l.quantity * l.unit_price - l.discount;
      l.tax = l.net / 10;
      l.gross = l.net + l.tax;
      l.tax_inclusive = r.uniform(3) == 0;
      s.lines.push_back(l);
    }
    s.tip = static_cast<std::int64_t>(r.uniform(500));
    s.total = static_cast<std::int64_t>(r.uniform(1'000'000));
    ReceiptInput in;
    in.merchant = Merchant{random_text(r, pans), {random_text(r, pans)}, random_text(r, pans)};
    in.sale = s;
    const auto tenders = r.uniform(3);
    for (std::uint64_t t = 0; t < tenders; ++t) {
      PaymentAttempt a;
      a.tender = r.uniform(4) == 0 ? TenderKind::Cash : TenderKind::Card;
      static const AttemptState kStates[] = {AttemptState::Approved, AttemptState::Declined,
                                             AttemptState::StoredOffline, AttemptState::DeclinedAfterForward,
                                             AttemptState::InDoubt};
      a.state = kStates[r.uniform(5)];
      a.amount = static_cast<std::int64_t>(r.uniform(1'000'000));
      // A misbehaving driver: sometimes the whole number in last4.
      if (r.uniform(3) == 0) {
        pans.push_back(random_pan(r));
        a.card.last4 = pans.back();
      } else {
        a.card.last4 = "4242";
      }
      a.card.brand = random_text(r, pans);
      a.card.application_label = random_text(r, pans);
      a.card.application_id = r.uniform(2) == 0 ? "A0000000031010" : random_text(r, pans);
      a.card.authorization_code = random_text(r, pans);
      a.card.read_method = "contact_emv";
      a.decline_code = random_text(r, pans);
      in.tenders.push_back(a);
    }
    EscPosOptions o;
    o.width = 20 + static_cast<int>(r.uniform(60));  // also outside the clamp range
    static const CodePage kPages[] = {CodePage::Pc437, CodePage::Pc858, CodePage::Wpc1252};
    o.code_page = kPages[r.uniform(3)];
    o.cut = r.uniform(2) == 0 ? Cut::Partial : Cut::Full;
    o.large_total = r.uniform(2) == 0;

    const std::string model_out = escpos_receipt(in, o);
    const std::string text_out = escpos_from_text(render_receipt(in), o);
    INFO("round " << round);
    CHECK(check_stream(model_out, o.code_page) == "");
    CHECK(check_stream(text_out, o.code_page) == "");
    // The text form carries every printed line, so the total is there.
    CHECK(text_out.find("TOTAL") != std::string::npos);
    for (const auto& pan : pans) {
      ++with_pan;
      // Not even its first ten digits, however the output's digits are run together.
      CHECK(digits_only(model_out).find(pan.substr(0, 10)) == std::string::npos);
      CHECK(digits_only(text_out).find(pan.substr(0, 10)) == std::string::npos);
    }
  }
  CHECK(with_pan > 100);  // the property was exercised
}
