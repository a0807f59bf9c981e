// Whole receipts, compared character for character. Amounts are worked out in the comments.
#include "till/pos/receipt.hpp"

#include <catch2/catch.hpp>

#include "till/pos/cart.hpp"

using namespace till;
using namespace till::pos;

namespace {

const Merchant kShop{"Harbour Street Coffee", {"12 Harbour Street", "Portland, ME 04101"}, "+1 207 555 0142"};

CartLine item(std::string name, std::int64_t price, std::int64_t qty, std::string code, std::int64_t rate,
              bool inclusive = false, Discount d = Discount::none()) {
  CartLine l;
  l.product_id = name;
  l.name = std::move(name);
  l.unit_price = price;
  l.quantity = qty;
  l.tax_code = std::move(code);
  l.tax_rate_ppm = rate;
  l.tax_inclusive = inclusive;
  l.discount = d;
  return l;
}

Sale sale_of(const Cart& cart, std::string currency, SaleState state) {
  auto totals = compute_totals(cart);
  REQUIRE(totals);
  Sale s;
  s.id = "6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40";
  s.register_id = "reg-1";
  s.currency = std::move(currency);
  s.state = state;
  apply_totals(s, *totals);
  s.created_at = from_unix_ms(1'790'000'000'000);  // 2026-09-21 14:13:20 UTC
  return s;
}

PaymentAttempt card(AttemptState state, std::int64_t amount) {
  PaymentAttempt a;
  a.tender = TenderKind::Card;
  a.state = state;
  a.amount = amount;
  a.card.brand = "visa";
  a.card.last4 = "4242";
  a.card.read_method = "contactless_emv";
  a.card.application_id = "A0000000031010";
  a.card.application_label = "VISA CREDIT";
  a.card.terminal_verification_results = "0000000000";
  a.card.cardholder_verification = "none";
  return a;
}

// Lattes 2 x 4.50 = 9.00, tax 8.875 % = 0.79875 -> 0.80; croissant 3.25 less 10 % (0.325 -> 0.33)
// = 2.92, tax 2.25 % = 0.0657 -> 0.07; tip 2.00. Total 9.00 + 0.80 + 2.92 + 0.07 + 2.00 = 14.79.
Cart cafe_cart() {
  Cart c;
  c.lines = {item("Latte", 450, 2, "standard", 88'750),
             item("Butter Croissant", 325, 1, "reduced", 22'500, false, Discount::percent_ppm(100'000))};
  c.tip = 200;
  return c;
}

const char* kHeader =
    "          Harbour Street Coffee\n"
    "            12 Harbour Street\n"
    "            Portland, ME 04101\n"
    "           Tel +1 207 555 0142\n"
    "------------------------------------------\n"
    "Sale 6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40\n"
    "Register reg-1\n"
    "2026-09-21 14:13:20 UTC\n";

const char* kCafeItems =
    "2 x Latte                             9.00\n"
    "   @ 4.50\n"
    "Butter Croissant                      3.25\n"
    "   Discount                          -0.33\n"
    "------------------------------------------\n"
    "Subtotal                             11.92\n"
    "Tax 8.875% on 9.00                    0.80\n"
    "Tax 2.25% on 2.92                     0.07\n"
    "Tip                                   2.00\n"
    "TOTAL                            USD 14.79\n"
    "------------------------------------------\n";

}  // namespace

TEST_CASE("an approved card receipt carries the EMV fields, the auth code and the tip") {
  const Sale s = sale_of(cafe_cart(), "usd", SaleState::Paid);
  REQUIRE(s.total == 1479);
  auto a = card(AttemptState::Approved, 1479);
  a.card.authorization_code = "123456";
  const std::string expected = std::string(kHeader) +
                               "------------------------------------------\n" + kCafeItems +
                               "VISA **** 4242                       14.79\n"
                               "  Contactless\n"
                               "  VISA CREDIT\n"
                               "  AID A0000000031010\n"
                               "  TVR 0000000000\n"
                               "  CVM No verification\n"
                               "  AUTH CODE 123456\n"
                               "  APPROVED\n"
                               "------------------------------------------\n"
                               "                Thank you!\n";
  CHECK(render_receipt(ReceiptInput{kShop, s, {a}, 0, 0}) == expected);
}

TEST_CASE("a declined receipt says DECLINED with the code and that the card was not charged") {
  const Sale s = sale_of(cafe_cart(), "usd", SaleState::Tendering);
  auto a = card(AttemptState::Declined, 1479);
  a.decline_code = "insufficient_funds";
  a.card.cardholder_verification = "offline_pin";
  a.card.read_method = "contact_emv";
  const std::string expected = std::string(kHeader) +
                               "******************************************\n"
                               "          CARD PAYMENT DECLINED\n"
                               "******************************************\n" +
                               kCafeItems +
                               "VISA **** 4242                       14.79\n"
                               "  Chip\n"
                               "  VISA CREDIT\n"
                               "  AID A0000000031010\n"
                               "  TVR 0000000000\n"
                               "  CVM PIN verified (offline)\n"
                               "  DECLINED insufficient_funds\n"
                               "This card was not charged.\n"
                               "------------------------------------------\n"
                               "  Customer copy - not a proof of payment\n";
  CHECK(render_receipt(ReceiptInput{kShop, s, {a}, 0, 0}) == expected);
}

TEST_CASE("an offline-stored payment is marked OFFLINE, and included tax is shown but not added") {
  // Sandwich 5.99 incl. 20 %: tax 99.83 -> 1.00, net 4.99. Coffee 2.50 x 3 = 7.50 incl. 10 %:
  // tax 68.18 -> 0.68, net 6.82. The customer pays 13.49.
  Cart c;
  c.lines = {item("Sandwich", 599, 1, "standard", 200'000, true), item("Coffee", 250, 3, "reduced", 100'000, true)};
  const Sale s = sale_of(c, "eur", SaleState::Paid);
  auto a = card(AttemptState::StoredOffline, 1349);
  a.card.brand = "mastercard";
  a.card.last4 = "4444";
  a.card.application_id = "";
  a.card.application_label = "";
  a.card.terminal_verification_results = "";
  a.card.cardholder_verification = "";
  a.offline = true;
  const Merchant cafe{"Café Zürich", {}, ""};
  const std::string expected =
      "               Café Zürich\n"
      "------------------------------------------\n"
      "Sale 6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40\n"
      "Register reg-1\n"
      "2026-09-21 14:13:20 UTC\n"
      "------------------------------------------\n"
      "Sandwich                              5.99\n"
      "3 x Coffee                            7.50\n"
      "   @ 2.50\n"
      "------------------------------------------\n"
      "Subtotal                             13.49\n"
      "(incl. tax 20% on 4.99)               1.00\n"
      "(incl. tax 10% on 6.82)               0.68\n"
      "TOTAL                            EUR 13.49\n"
      "------------------------------------------\n"
      "MASTERCARD **** 4444                 13.49\n"
      "  Contactless\n"
      "  OFFLINE: STORED, AUTHORIZATION PENDING\n"
      "------------------------------------------\n"
      "                Thank you!\n";
  CHECK(render_receipt(ReceiptInput{cafe, s, {a}, 0, 0}) == expected);
}

TEST_CASE("a split tender in JPY lists cash with change and the card, with no decimals") {
  // Set meal 1280 at 10 % exclusive: tax 128. Total 1408 yen: 1000 cash + 408 card.
  // The customer handed over 1000 yen for the cash part: no change.
  Cart c;
  c.lines = {item("Set meal", 1280, 1, "standard", 100'000)};
  Sale s = sale_of(c, "jpy", SaleState::Paid);
  REQUIRE(s.total == 1408);
  PaymentAttempt cash;
  cash.tender = TenderKind::Cash;
  cash.state = AttemptState::Approved;
  cash.amount = 1000;
  auto a = card(AttemptState::Approved, 408);
  a.card.authorization_code = "A1";
  a.card.application_label = "";
  a.card.terminal_verification_results = "";
  a.card.cardholder_verification = "signature";
  const std::string expected =
      "MERCHANT\n"
      "------------------------------------------\n"
      "Sale 6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40\n"
      "Register reg-1\n"
      "2026-09-21 14:13:20 UTC\n"
      "------------------------------------------\n"
      "Set meal                              1280\n"
      "------------------------------------------\n"
      "Subtotal                              1280\n"
      "Tax 10% on 1280                        128\n"
      "TOTAL                             JPY 1408\n"
      "------------------------------------------\n"
      "CASH                                  1000\n"
      "VISA **** 4242                         408\n"
      "  Contactless\n"
      "  AID A0000000031010\n"
      "  CVM Signature\n"
      "  AUTH CODE A1\n"
      "  APPROVED\n"
      "Cash tendered                         1000\n"
      "CHANGE                                   0\n"
      "------------------------------------------\n"
      "                Thank you!\n";
  const std::string got = render_receipt(ReceiptInput{Merchant{"", {}, ""}, s, {cash, a}, 1000, 0});
  CHECK(got == std::string(expected).substr(std::string("MERCHANT\n").size()));
}

TEST_CASE("a three-decimal KWD cash sale prints fils and the change") {
  // 1.250 x 2 = 2.500 at 0 %: total KWD 2.500; 5.000 tendered, 2.500 change.
  Cart c;
  c.lines = {item("Dates 500g", 1250, 2, "zero", 0)};
  const Sale s = sale_of(c, "kwd", SaleState::Paid);
  PaymentAttempt cash;
  cash.tender = TenderKind::Cash;
  cash.state = AttemptState::Approved;
  cash.amount = 2500;
  const std::string got = render_receipt(ReceiptInput{Merchant{"Souq Stall", {}, ""}, s, {cash}, 5000, 2500});
  const std::string expected =
      "                Souq Stall\n"
      "------------------------------------------\n"
      "Sale 6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40\n"
      "Register reg-1\n"
      "2026-09-21 14:13:20 UTC\n"
      "------------------------------------------\n"
      "2 x Dates 500g                       2.500\n"
      "   @ 1.250\n"
      "------------------------------------------\n"
      "Subtotal                             2.500\n"
      "Tax 0% on 2.500                      0.000\n"
      "TOTAL                            KWD 2.500\n"
      "------------------------------------------\n"
      "CASH                                 2.500\n"
      "Cash tendered                        5.000\n"
      "CHANGE                               2.500\n"
      "------------------------------------------\n"
      "                Thank you!\n";
  CHECK(got == expected);
}

TEST_CASE("a receipt never prints more than the last four digits of a card number") {
  const Sale s = sale_of(cafe_cart(), "usd", SaleState::Paid);
  auto a = card(AttemptState::Approved, 1479);
  a.card.last4 = "4242424242424242";  // a misbehaving driver handing over a PAN
  const std::string r = render_receipt(ReceiptInput{kShop, s, {a}, 0, 0});
  CHECK_THAT(r, Catch::Contains("VISA **** 4242 "));
  CHECK(r.find("42424242") == std::string::npos);
}

TEST_CASE("long item names are clipped so amounts stay aligned at 42 columns") {
  Cart c;
  c.lines = {item("Single Origin Ethiopia Yirgacheffe Beans 250g Bag", 1950, 1, "reduced", 22'500)};
  const Sale s = sale_of(c, "usd", SaleState::Paid);
  const std::string r = render_receipt(ReceiptInput{kShop, s, {}, 0, 0});
  CHECK_THAT(r, Catch::Contains("\nSingle Origin Ethiopia Yirgacheffe B 19.50\n"));
  std::size_t start = 0;
  while (start < r.size()) {
    const std::size_t end = r.find('\n', start);
    CHECK(end - start <= 42);
    start = end + 1;
  }
}
