#include "till/ui/views.hpp"

#include <catch2/catch.hpp>

#include "ui_test_support.hpp"

using namespace till;
using namespace till::ui;
using namespace till::ui::test;

TEST_CASE("every screen renders for every model fixture and shows what it is about") {
  struct Fixture {
    const char* name;
    ModelBuilder builder;
    pos::Screen screen;
    const char* must_show;
  };
  std::vector<Fixture> fixtures{
      {"empty", ModelBuilder{}, pos::Screen::Sell, "Cart is empty"},
      {"cart", cart_fixture(), pos::Screen::Sell, "TOTAL"},
      {"collecting", collecting_fixture(), pos::Screen::Payment, "Present card on the reader"},
      {"authorizing", authorizing_fixture(), pos::Screen::Payment, "This cannot be cancelled now"},
      {"declined", declined_fixture(), pos::Screen::Payment, "Insufficient funds"},
      {"in doubt", in_doubt_fixture(), pos::Screen::Payment, pos::kInDoubtText},
      {"approved", approved_fixture(), pos::Screen::Receipt, "APPROVED"},
      {"offline", offline_fixture(), pos::Screen::Sell, "OFFLINE (STAFF ONLY)"},
      {"refused", refused_fixture(), pos::Screen::Payment, "Card refused offline"},
      {"back office", back_office_fixture(), pos::Screen::BackOffice, "Back office"},
  };
  ViewHarness h;
  for (auto& f : fixtures) {
    INFO("fixture " << f.name);
    const pos::Model& m = f.builder.model();
    REQUIRE(m.screen == f.screen);
    h.show(m);
    INFO(h.dump());
    CHECK(h.shows(f.must_show));
    CHECK(ImGui::GetDrawData()->TotalVtxCount > 0);
  }
}

TEST_CASE("tapping a product tile dispatches AddProduct for that product") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  const auto actions = h.tap(m, "Espresso");
  const auto add = first_of<pos::AddProduct>(actions);
  REQUIRE(add.has_value());
  CHECK(add->product_id == "espresso");
  CHECK(add->quantity == 1);
}

TEST_CASE("category tabs and search narrow the product grid") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  REQUIRE(h.find("Espresso") != nullptr);
  h.tap(m, "Bakery");
  h.show(m);
  CHECK(h.find("Espresso") == nullptr);
  CHECK(h.find("Cinnamon Roll") != nullptr);
  h.tap(m, "All");
  h.tap(m, "Search products");
  h.type(m, "mug");
  h.show(m);
  CHECK(h.find("Ceramic Mug") != nullptr);
  CHECK(h.find("Cinnamon Roll") == nullptr);
}

TEST_CASE("Charge card dispatches a charge of the whole balance, and is disabled without a reader") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  const auto actions = h.tap(m, "Charge card (F2)");
  const auto charge = first_of<pos::Charge>(actions);
  REQUIRE(charge.has_value());
  CHECK_FALSE(charge->amount.has_value());

  ModelBuilder no_reader;
  no_reader.then(pos::AddProduct{"latte", 1});
  h.show(no_reader.model());
  const LoggedItem* button = h.find("Charge card (F2)");
  REQUIRE(button != nullptr);
  CHECK_FALSE(button->enabled);
  CHECK(h.shows("No card reader connected: cash only"));
  CHECK(h.tap(no_reader.model(), "Charge card (F2)").empty());
}

TEST_CASE("the F2 shortcut charges the card") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  CHECK(first_of<pos::Charge>(h.key(m, kKeyF2)).has_value());
}

TEST_CASE("a keyboard-wedge scanner's digits and Enter dispatch ScanBarcode when no field has focus") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  h.type(m, "2000000000145");
  h.show(m);
  CHECK(h.shows("Scanner: 2000000000145"));
  const auto actions = h.key(m, ImGui::GetIO().KeyMap[ImGuiKey_Enter]);
  const auto scan = first_of<pos::ScanBarcode>(actions);
  REQUIRE(scan.has_value());
  CHECK(scan->code == "2000000000145");
  CHECK(h.state().sell.wedge.empty());
}

TEST_CASE("a barcode typed into the barcode field is added on Enter") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  h.tap(m, "Barcode + Enter");
  h.type(m, "2000000000039");
  const auto actions = h.key(m, ImGui::GetIO().KeyMap[ImGuiKey_Enter]);
  const auto scan = first_of<pos::ScanBarcode>(actions);
  REQUIRE(scan.has_value());
  CHECK(scan->code == "2000000000039");
}

TEST_CASE("quantity buttons and the line editor dispatch quantity and line discount changes") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  const auto plus = h.tap(m, "+");  // first line: 2 lattes
  const auto q = first_of<pos::SetQuantity>(plus);
  REQUIRE(q.has_value());
  CHECK(q->line == 0);
  CHECK(q->quantity == 3);

  h.tap(m, "line: Latte");  // selects the line and opens its editor
  h.show(m);
  h.tap(m, "Discount");
  h.type(m, "10");
  const auto applied = h.tap(m, "Apply line discount");
  const auto d = first_of<pos::SetLineDiscount>(applied);
  REQUIRE(d.has_value());
  CHECK(d->line == 0);
  CHECK(d->discount == pos::Discount::percent_ppm(100'000));
}

TEST_CASE("a malformed discount is refused on screen and dispatches nothing") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  h.tap(m, "Discount/tip (F3)");
  h.show(m);
  h.tap(m, "Cart discount");
  h.type(m, "ten");
  const auto actions = h.tap(m, "Apply cart discount");
  CHECK(!first_of<pos::SetCartDiscount>(actions).has_value());
  h.show(m);
  CHECK(h.shows("Not a percentage"));
}

TEST_CASE("tip presets dispatch a tip computed from the taxed subtotal") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  h.tap(m, "Discount/tip (F3)");
  h.show(m);
  const auto tip = first_of<pos::SetTip>(h.tap(m, "20%"));
  REQUIRE(tip.has_value());
  // 2 lattes 9.00 + 0.80 tax (8.875 %) + croissant 3.25 + 0.07 tax (2.25 %) = 13.12; 20 % = 2.624
  CHECK(tip->amount == 262);
}

TEST_CASE("Exact cash pays the balance") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  const auto cash = first_of<pos::PayCash>(h.tap(m, "Exact cash (F4)"));
  REQUIRE(cash.has_value());
  CHECK(cash->tendered == pos::balance_due(m));
}

TEST_CASE("cancel is offered while the reader collects, and not while the card is authorized") {
  ViewHarness h;
  const pos::Model collecting = collecting_fixture().model();
  h.show(collecting);
  CHECK(first_of<pos::CancelPayment>(h.tap(collecting, "Cancel payment")).has_value());

  const pos::Model authorizing = authorizing_fixture().model();
  h.show(authorizing);
  CHECK(h.find("Cancel payment") == nullptr);
  CHECK(h.shows("cannot be cancelled"));
}

TEST_CASE("the in-doubt screen says do not retry and offers no retry, cancel, cash or void") {
  ViewHarness h;
  const pos::Model m = in_doubt_fixture().model();
  h.show(m);
  INFO(h.dump());
  CHECK(h.shows(pos::kInDoubtText));
  CHECK(h.shows("Checking with Stripe"));
  for (const char* label : {"Try another card", "Try the card again", "Cancel payment", "Cash (F6)", "Take cash", "Exact cash (F4)",
                            "Void sale", "Charge card for amount", "Charge card for the balance"}) {
    INFO(label);
    CHECK(h.find(label) == nullptr);
  }
  CHECK(h.shows("?? OUTCOME UNKNOWN"));  // a word and a symbol, not just a colour
}

TEST_CASE("the declined screen names an actionable reason and retries with another card") {
  ViewHarness h;
  const pos::Model m = declined_fixture().model();
  h.show(m);
  CHECK(h.shows("X DECLINED"));
  CHECK(h.shows("Insufficient funds: ask for another card or another way to pay"));
  CHECK(first_of<pos::RetryWithAnotherCard>(h.tap(m, "Try another card")).has_value());
  // The declined receipt the reducer printed can be shown on screen.
  REQUIRE_FALSE(m.last_receipt.empty());
  h.tap(m, "Declined receipt (printed)");
  h.show(m);
  CHECK(h.shows("DECLINED"));
  CHECK(h.shows(m.last_receipt));
}

TEST_CASE("a card refused offline shows the policy's reason and nothing was charged") {
  ViewHarness h;
  const pos::Model m = refused_fixture().model();
  h.show(m);
  INFO(h.dump());
  CHECK(h.shows("X REFUSED OFFLINE"));
  CHECK(h.shows("refused offline:"));
  CHECK(h.shows("Nothing was charged"));
  CHECK(h.find("Try another card") != nullptr);
}

TEST_CASE("split tender: a part amount on card dispatches a charge of that amount") {
  ModelBuilder b = cart_fixture();
  b.then(pos::PayCash{500});  // 5.00 cash of 13.12: the payment screen shows the balance
  const pos::Model m = b.model();
  REQUIRE(m.screen == pos::Screen::Payment);
  ViewHarness h;
  h.show(m);
  CHECK(h.shows("Balance due USD 8.12"));
  h.tap(m, "Card amount");
  h.type(m, "3.30");
  const auto charge = first_of<pos::Charge>(h.tap(m, "Charge card for amount"));
  REQUIRE(charge.has_value());
  REQUIRE(charge->amount.has_value());
  CHECK(*charge->amount == 330);
}

TEST_CASE("the receipt screen shows the receipt text and starts a new sale") {
  ViewHarness h;
  const pos::Model m = approved_fixture().model();
  h.show(m);
  CHECK(h.shows("OK PAID"));
  CHECK(h.shows("**** 4242"));
  CHECK(first_of<pos::NewSale>(h.tap(m, "New sale (F5)")).has_value());
}

TEST_CASE("the offline banner shows stored count, amount, oldest age and headroom for staff") {
  ViewHarness h;
  const pos::Model m = offline_fixture().model();
  h.show(m);
  INFO(h.dump());
  CHECK(h.shows("OFFLINE (STAFF ONLY)"));
  CHECK(h.shows("3 payments stored"));
  CHECK(h.shows("oldest 2 h 10 min"));
  CHECK(h.shows("USD 45.00 in 3 stored"));
  CHECK(h.shows("Headroom USD 955.00 / 47 more payments"));
}

TEST_CASE("the offline banner is not drawn when online with nothing stored") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  CHECK_FALSE(h.shows("STAFF ONLY"));
}

TEST_CASE("the manager PIN pad dispatches OpenBackOffice with the typed PIN and forgets it") {
  ViewHarness h;
  const pos::Model m = cart_fixture().model();
  h.show(m);
  SECTION("typed: the PIN field has focus when the pad opens") {
    h.tap(m, "Manager (F9)");
    h.show(m);
    REQUIRE(h.find("OK") != nullptr);
    h.type(m, "1234");
    const auto open = first_of<pos::OpenBackOffice>(h.tap(m, "OK"));
    REQUIRE(open.has_value());
    CHECK(open->pin == "1234");
  }
  SECTION("tapped on the keypad") {
    h.tap(m, "Manager (F9)");
    h.show(m);
    for (const char* digit : {"4", "3", "2", "1"}) h.tap(m, digit);
    const auto open = first_of<pos::OpenBackOffice>(h.tap(m, "OK"));
    REQUIRE(open.has_value());
    CHECK(open->pin == "4321");
  }
  CHECK(h.state().back_office.pin[0] == '\0');
  CHECK(h.state().sell.wedge.empty());  // PIN digits never reach the barcode scanner
  h.show(m);
  CHECK(h.find("OK") == nullptr);  // the pad closed
}

TEST_CASE("the back office lists dead and in-doubt items with error and request id, retry only for dead") {
  ViewHarness h;
  const pos::Model m = back_office_fixture().model();
  h.show(m);
  h.tap(m, "Needs attention (2)");
  h.show(m);
  INFO(h.dump());
  CHECK(h.shows("X DEAD"));
  CHECK(h.shows("?? IN DOUBT"));
  CHECK(h.shows("Stripe request id: req_dead_123"));
  CHECK(h.shows("Stripe request id: req_doubt_456"));
  const auto retry = first_of<pos::RetryOperation>(h.tap(m, "Retry (same key)"));
  REQUIRE(retry.has_value());
  CHECK(retry->operation_id == 7);
  // Exactly one retry button: the in-doubt item is left to the resolver.
  h.show(m);
  int retries = 0;
  const std::string dump = h.dump();
  for (std::size_t p = dump.find("Retry (same key)"); p != std::string::npos; p = dump.find("Retry (same key)", p + 1)) ++retries;
  CHECK(retries == 1);
}

TEST_CASE("mark handled requires a note and sends it") {
  ViewHarness h;
  const pos::Model m = back_office_fixture().model();
  h.show(m);
  h.tap(m, "Needs attention (2)");
  h.show(m);
  CHECK(!first_of<pos::MarkHandled>(h.tap(m, "Mark handled")).has_value());
  h.show(m);
  CHECK(h.shows("Write a note first"));
  h.tap(m, "Note for 'Mark handled' (required)");
  h.type(m, "refunded by phone");
  const auto handled = first_of<pos::MarkHandled>(h.tap(m, "Mark handled"));
  REQUIRE(handled.has_value());
  CHECK(handled->operation_id == 7);
  CHECK(handled->note == "refunded by phone");
}

TEST_CASE("the settings tab shows the API key only masked") {
  KioskConfig config = test_config();
  const std::string key = "sk_live_" "51HxYzAbCdEfGhIjKlMnOpQrStUv9876";
  config.api_key = Secret(key);
  ViewHarness h(config);
  const pos::Model m = back_office_fixture().model();
  h.show(m);
  h.tap(m, "Settings");
  h.show(m);
  INFO(h.dump());
  CHECK(h.shows("API key"));
  CHECK(h.shows("sk_live_...9876"));
  CHECK_FALSE(h.dump().find(key) != std::string::npos);
  CHECK_FALSE(h.shows("51HxYz"));
}

TEST_CASE("a refund of the current sale's approved payment is requested in full") {
  ModelBuilder b = approved_fixture();
  b.then(pos::OpenBackOffice{"1234"});
  const pos::Model m = b.model();
  ViewHarness h;
  h.show(m);
  h.tap(m, "Refunds");
  h.show(m);
  const auto refund = first_of<pos::RequestRefund>(h.tap(m, "Refund in full"));
  REQUIRE(refund.has_value());
  CHECK(refund->payment_intent_id == "pi_approved_1");
  CHECK(refund->amount == m.sale->total);
  CHECK(refund->currency == "usd");
}

TEST_CASE("the Charge button stays on screen at 1920x1080 and with large text") {
  for (auto [w, hgt, scale] : {std::tuple{1280, 800, 1.0f}, std::tuple{1920, 1080, 1.0f}, std::tuple{1280, 800, 1.25f}}) {
    DisplayConfig display;
    display.width = w;
    display.height = hgt;
    display.font_scale = scale;
    ViewHarness h(test_config(), display);
    const pos::Model m = cart_fixture().model();
    h.show(m);
    const LoggedItem* charge = h.find("Charge card (F2)");
    INFO(w << "x" << hgt << " scale " << scale);
    REQUIRE(charge != nullptr);
    CHECK(charge->max.x <= static_cast<float>(w));
    CHECK(charge->max.y <= static_cast<float>(hgt));
    CHECK(charge->max.y - charge->min.y >= 40.0f);  // a touch target, not a text link
  }
}

TEST_CASE("age text reads in the largest sensible units") {
  using namespace std::chrono;
  CHECK(age_text(seconds(45)) == "45 s");
  CHECK(age_text(minutes(5)) == "5 min");
  CHECK(age_text(minutes(130)) == "2 h 10 min");
  CHECK(age_text(hours(49)) == "2 d 1 h");
  CHECK(age_text(seconds(-5)) == "0 s");
}

TEST_CASE("the readers tab shows connection, battery, firmware and offline capability and dispatches reader commands") {
  ModelBuilder b = back_office_fixture();
  pos::ReaderDetails d;
  d.connection = "connected";
  d.battery_percent = 12;
  d.firmware_version = "1.4.0";
  d.update_required = true;
  d.offline_capable = true;
  d.offline_stored = 1;
  d.offline_capacity = 5;
  b.then(pos::ReaderDetailsUpdated{d});
  const pos::Model m = b.model();
  ViewHarness h;
  h.show(m);
  h.tap(m, "Readers");
  h.show(m);
  INFO(h.dump());
  CHECK(h.shows("OK CONNECTED"));
  CHECK(h.shows("12 %  ! LOW"));  // a word, not only a colour
  CHECK(h.shows("1.4.0"));
  CHECK(h.shows("! REQUIRED: install before the next payment"));
  CHECK(h.shows("~ capable: 1 of 5 stored on the reader"));
  CHECK(first_of<pos::ManageReader>(h.tap(m, "Install update"))->command == pos::ReaderCommandKind::InstallUpdate);
  CHECK(first_of<pos::ManageReader>(h.tap(m, "Disconnect reader"))->command == pos::ReaderCommandKind::Disconnect);
  CHECK(first_of<pos::ManageReader>(h.tap(m, "Refresh status"))->command == pos::ReaderCommandKind::RefreshStatus);
  CHECK(h.find("Connect reader") == nullptr);

  ModelBuilder off = back_office_fixture();
  off.then(pos::ReaderStatusChanged{false, "Till SimReader S1", "disconnected by a manager"});
  const pos::Model m2 = off.model();
  h.show(m2);
  CHECK(h.shows("X DISCONNECTED"));
  CHECK(first_of<pos::ManageReader>(h.tap(m2, "Connect reader"))->command == pos::ReaderCommandKind::Connect);
  CHECK(h.find("Install update") == nullptr);
}

TEST_CASE("reader commands are disabled while the reader takes a payment") {
  ModelBuilder b = collecting_fixture();
  b.then(pos::OpenBackOffice{"1234"});
  const pos::Model m = b.model();
  ViewHarness h;
  h.show(m);
  h.tap(m, "Readers");
  h.show(m);
  const LoggedItem* disconnect = h.find("Disconnect reader");
  REQUIRE(disconnect != nullptr);
  CHECK_FALSE(disconnect->enabled);
  CHECK(h.tap(m, "Disconnect reader").empty());
  CHECK(h.shows("The reader is taking a payment: reader commands wait until it is done."));
}

TEST_CASE("the end-of-day tab shows the report the app built from the store and can refresh it") {
  ModelBuilder b = back_office_fixture();
  pos::DaySummary day;
  day.day = "2026-09-21";
  day.currencies.push_back({"usd", 4, 4'000, 3'700, 300, 150, 0, 1, 0});
  day.tenders.push_back({"card", "usd", 3, 3'500});
  day.tenders.push_back({"card_stored_offline", "usd", 1, 500});
  day.tax_rates.push_back({"usd", "standard", 88'750, 3'380, 300});
  day.refunds.push_back({"usd", 1, 100, 0});
  day.declined = 1;
  b.then(pos::DayReportLoaded{day});
  const pos::Model m = b.model();
  ViewHarness h;
  h.show(m);
  h.tap(m, "End of day");
  h.show(m);
  INFO(h.dump());
  CHECK(h.shows("End of day 2026-09-21"));
  CHECK(h.shows("Sales 4"));
  CHECK(h.shows("USD 40.00"));
  CHECK(h.shows("Card stored offline (not yet authorized) (1)"));
  CHECK(h.shows("Tax standard 8.875% on USD 33.80"));
  CHECK(h.shows("Refunds confirmed (1)"));
  CHECK(first_of<pos::LoadDayReport>(h.tap(m, "Refresh report")).has_value());
}

TEST_CASE("the receipt screen prints again and emails the receipt, forgetting the typed address") {
  ViewHarness h;
  const pos::Model m = approved_fixture().model();
  h.show(m);
  CHECK(first_of<pos::ReprintReceipt>(h.tap(m, "Print again")).has_value());
  // Without an address nothing is dispatched and the screen says why.
  CHECK_FALSE(first_of<pos::EmailReceipt>(h.tap(m, "Email receipt")).has_value());
  h.show(m);
  CHECK(h.shows("! Type the customer's email address first"));
  h.tap(m, "Customer email");
  h.type(m, "ada@example.com");
  const auto email = first_of<pos::EmailReceipt>(h.tap(m, "Email receipt"));
  REQUIRE(email.has_value());
  CHECK(email->address == "ada@example.com");
  CHECK(h.state().receipt.email[0] == '\0');
}

TEST_CASE("a past sale is found by receipt number and refunded in part or for the rest from the back office") {
  ModelBuilder b = back_office_fixture();
  pos::PastSale past;
  past.sale.id = "0f3a9c1e-1111-4222-8333-444455556666";
  past.sale.currency = "usd";
  past.sale.total = 1312;
  past.sale.state = pos::SaleState::Paid;
  pos::PastSale::Payment pay;
  pay.attempt_id = "att_past";
  pay.brand = "visa";
  pay.last4 = "4242";
  pay.payment_intent_id = "pi_past";
  pay.captured = 1312;
  pay.refunded = 300;
  pay.refundable = 1012;
  past.payments.push_back(pay);
  past.refundable = 1012;
  b.then(pos::SaleForRefundFound{past});
  const pos::Model m = b.model();
  ViewHarness h;
  h.show(m);
  h.tap(m, "Refunds");
  h.show(m);
  INFO(h.dump());
  CHECK(h.shows("refundable USD 10.12"));
  CHECK(h.shows("visa **** 4242  captured USD 13.12  refunded USD 3.00"));
  h.tap(m, "Receipt number (sale id, 8+ characters)");
  h.type(m, "0f3a9c1e");
  const auto find = first_of<pos::FindSaleForRefund>(h.tap(m, "Find sale"));
  REQUIRE(find.has_value());
  CHECK(find->receipt_number == "0f3a9c1e");
  const auto rest = first_of<pos::RequestRefund>(h.tap(m, "Refund the rest"));
  REQUIRE(rest.has_value());
  CHECK(rest->amount == 1012);
  CHECK(rest->payment_intent_id == "pi_past");
  h.tap(m, "Amount");
  h.type(m, "2.50");
  const auto part = first_of<pos::RequestRefund>(h.tap(m, "Refund amount"));
  REQUIRE(part.has_value());
  CHECK(part->amount == 250);
  CHECK(part->attempt_id == "att_past");
}
