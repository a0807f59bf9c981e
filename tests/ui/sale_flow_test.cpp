// Whole sales driven through the views (taps, typing, keys) and the reducer: every sale starts
// from a clean slate, and every screen can be worked from a keyboard, a keyboard-wedge scanner
// and a numeric pad.

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ui_test_support.hpp"

using namespace till;
using namespace till::ui;
using namespace till::ui::test;

namespace {

// A kiosk in a test: what the views dispatch is applied through pos::update at once.
class Counter {
 public:
  Counter() { act(pos::ReaderStatusChanged{true, "Simulated reader SIM-001", ""}); }

  void act(const pos::Action& a) {
    b_.then(a);
    h_.show(b_.model());
  }
  void apply(const std::vector<pos::Action>& actions) {
    for (const auto& a : actions) b_.then(a);
    h_.show(b_.model());
  }
  void tap(const std::string& label) {
    INFO("tap " << label << "\n" << h_.dump());
    REQUIRE(h_.find(label) != nullptr);
    apply(h_.tap(b_.model(), label));
  }
  void type(const std::string& chars) { apply(h_.type(b_.model(), chars)); }
  void key(int index) { apply(h_.key(b_.model(), index)); }
  // The reader's and Stripe's answers for the active card attempt.
  void approve() {
    const std::string id = b_.active();
    act(pos::CardCollected{id, "pm_1", visa(), false});
    act(pos::PaymentApproved{id, "pi_" + id, visa()});
  }
  void decline() {
    const std::string id = b_.active();
    act(pos::CardCollected{id, "pm_1", visa(), false});
    act(pos::PaymentDeclined{id, "insufficient_funds", "Your card has insufficient funds.", "pi_" + id});
  }
  void scroll_products(float wheel) {
    const LoggedItem* grid = nullptr;
    for (const LoggedItem& item : h_.log().items()) {
      if (item.kind == LoggedItem::Kind::Region && item.label == "products") grid = &item;
    }
    REQUIRE(grid != nullptr);
    ImGui::SetCurrentContext(h_.context());
    ImGuiIO& io = ImGui::GetIO();
    io.MousePos = ImVec2((grid->min.x + grid->max.x) / 2, (grid->min.y + grid->max.y) / 2);
    h_.frame(b_.model());
    io.MouseWheel = wheel;
    h_.frame(b_.model());
    io.MouseWheel = 0;
    h_.show(b_.model());
  }
  const pos::Model& model() const { return b_.model(); }
  ViewHarness& harness() { return h_; }

 private:
  ModelBuilder b_;
  ViewHarness h_;
};

// Everything a frame drew (text, buttons, fields, regions: label, place, enabled), as lines.
std::vector<std::string> screen(const FrameLog& log) {
  std::vector<std::string> out;
  for (const LoggedItem& i : log.items()) {
    std::ostringstream s;
    s << static_cast<int>(i.kind) << " '" << i.label << "' " << std::lround(i.min.x) << "," << std::lround(i.min.y) << " "
      << std::lround(i.max.x) << "," << std::lround(i.max.y) << (i.enabled ? "" : " disabled") << " clip "
      << std::lround(i.clip_min.y) << "," << std::lround(i.clip_max.y);
    out.push_back(s.str());
  }
  return out;
}

std::vector<std::string> fresh_start_screen() {
  Counter fresh;
  return screen(fresh.harness().log());
}

void same_as_fresh(Counter& c, const char* after) {
  c.harness().show(c.model());
  const auto now = screen(c.harness().log());
  const auto fresh = fresh_start_screen();
  INFO("the start screen after " << after);
  REQUIRE(c.model().screen == pos::Screen::Sell);
  for (std::size_t i = 0; i < std::max(now.size(), fresh.size()); ++i) {
    const std::string a = i < now.size() ? now[i] : "(nothing)";
    const std::string b = i < fresh.size() ? fresh[i] : "(nothing)";
    INFO("item " << i);
    REQUIRE(a == b);
  }
}

// The headless context maps every ImGuiKey to the KeysDown index of the same value.
int key_index(ImGuiKey key) { return static_cast<int>(key); }

}  // namespace

TEST_CASE("two different sales back to back each leave a start screen identical to a fresh start") {
  Counter c;
  // Sale 1: by touch, a search left typed, a category, a line discount, a cart discount typed but
  // not applied, a tip, scanner digits without Enter, a declined card, a split amount typed, then
  // another card; an email address typed on the receipt but not sent.
  c.tap("Search products");
  c.type("lat");
  c.tap("Latte");
  c.tap("Coffee");
  c.tap("line: Latte");
  c.tap("Discount");
  c.type("10");
  c.tap("Apply line discount");
  c.tap("Done");
  c.tap("Discount/tip (F3)");
  c.tap("Cart discount");
  c.type("5");
  c.tap("15%");
  c.tap("Done");
  c.type("123");
  REQUIRE(c.harness().shows("Scanner: 123"));
  c.tap("Charge card (F2)");
  REQUIRE(c.model().screen == pos::Screen::Payment);
  c.decline();
  c.tap("Card amount");
  c.type("1.00");
  c.tap("Declined receipt (printed)");
  c.tap("Try another card");
  c.approve();
  REQUIRE(c.model().screen == pos::Screen::Receipt);
  c.tap("Customer email");
  c.type("ada@example.com");
  c.tap("New sale (F5)");
  same_as_fresh(c, "a card sale");

  // Sale 2: a category, a scrolled product grid, a barcode typed in its field, a tip typed, cash
  // with change.
  c.tap("Bakery");
  c.tap("Cinnamon Roll");
  c.tap("All");
  c.scroll_products(-20.0f);
  c.tap("Barcode + Enter");
  c.type("2000000000039");
  c.key(key_index(ImGuiKey_Enter));
  REQUIRE(c.model().cart.lines.size() == 2);
  c.tap("Discount/tip (F3)");
  c.tap("Tip");
  c.type("1.00");
  c.tap("Set tip");
  c.tap("Done");
  REQUIRE(c.model().totals.tip == 100);
  c.tap("Cash (F6)");
  c.type("50");
  c.tap("Take cash");
  REQUIRE(c.model().screen == pos::Screen::Receipt);
  REQUIRE(c.model().change_due > 0);
  c.tap("New sale (F5)");
  same_as_fresh(c, "a cash sale with change");

}

// The reducer keeps its last notice until another replaces it (pos/src/checkout.cpp: notice() is
// never cleared but by reset_checkout(), and VoidSale sets "Sale voided" after the reset). So a
// message about the last sale is still on screen while the next customer's items are rung up:
// after a void, or when the answer to the last sale's email arrives after New sale. The fix
// belongs in pos/ (not edited here): clear the notice when the first line of a new cart is added
// (AddProduct / ScanBarcode on an empty cart with no sale). Until then this case fails, which
// [!shouldfail] turns into a pass; when pos/ is fixed it passes, Catch reports that as a
// failure, and the tag must go.
TEST_CASE("a message about the last sale is gone once the next sale's first item is rung up", "[!shouldfail]") {
  auto fresh_with_espresso = [] {
    Counter fresh;
    fresh.tap("Espresso");
    return screen(fresh.harness().log());
  };
  Counter c;
  SECTION("after a void") {
    c.tap("Espresso");
    c.tap("Charge card (F2)");
    c.tap("Cancel payment");
    c.act(pos::CollectCanceled{c.model().attempts.back().id});
    REQUIRE(c.harness().find("Void sale") != nullptr);
    c.tap("Void sale");
    REQUIRE(c.model().screen == pos::Screen::Sell);
  }
  SECTION("after the last sale's email was queued") {
    c.tap("Latte");
    c.tap("Exact cash (F4)");
    c.tap("Customer email");
    c.type("ada@example.com");
    c.tap("Email receipt");
    c.tap("New sale (F5)");
    c.act(pos::EmailQueued{true, ""});  // the store's answer arrives after New sale
  }
  c.tap("Espresso");
  const auto now = screen(c.harness().log());
  const auto fresh = fresh_with_espresso();
  INFO(c.harness().dump());
  CHECK(now == fresh);
}

TEST_CASE("the sell screen works from the keyboard: search and Enter, scanner digits and Enter, F3 discount, F6 cash, F2 charge") {
  Counter c;
  // Tab reaches the search field; Enter adds the one product that matches.
  c.key(key_index(ImGuiKey_Tab));
  c.type("mug");
  c.key(key_index(ImGuiKey_Enter));
  REQUIRE(c.model().cart.lines.size() == 1);
  CHECK(c.model().cart.lines[0].product_id == "mug");
  // A keyboard-wedge scanner (or a numeric pad) with no field focused.
  c.key(key_index(ImGuiKey_Escape));
  c.type("2000000000145");
  c.key(key_index(ImGuiKey_KeyPadEnter));
  REQUIRE(c.model().cart.lines.size() == 2);
  // F3: the discount field has the focus; Enter applies; Esc closes.
  c.key(kKeyF3);
  c.type("10");
  c.key(key_index(ImGuiKey_Enter));
  CHECK(c.model().cart.cart_discount == pos::Discount::percent_ppm(100'000));
  c.key(key_index(ImGuiKey_Escape));
  CHECK(c.harness().find("Apply cart discount") == nullptr);
  // F6: cash entry has the focus; Enter takes it.
  c.key(kKeyF6);
  c.type("5");
  c.key(key_index(ImGuiKey_Enter));
  CHECK(c.model().screen == pos::Screen::Payment);
  CHECK(pos::amount_paid(c.model()) == 500);
}

TEST_CASE("the payment and receipt screens work from the keyboard: Esc cancels, Tab and Enter split and email, F4 and F5") {
  Counter c;
  c.act(pos::AddProduct{"latte", 2});
  c.key(kKeyF2);
  REQUIRE(c.model().phase == pos::PaymentPhase::Collecting);
  c.key(key_index(ImGuiKey_Escape));
  REQUIRE(c.model().phase == pos::PaymentPhase::Canceling);
  c.act(pos::CollectCanceled{c.model().attempts.back().id});
  c.act(pos::PayCash{100});
  REQUIRE(c.model().screen == pos::Screen::Payment);
  // Tab reaches the card amount; Enter charges it.
  c.key(key_index(ImGuiKey_Tab));
  c.type("2.00");
  c.key(key_index(ImGuiKey_Enter));
  REQUIRE(c.model().phase == pos::PaymentPhase::Collecting);
  REQUIRE(c.model().attempts.back().amount == 200);
  c.approve();
  c.key(kKeyF4);  // exact cash for the rest
  REQUIRE(c.model().screen == pos::Screen::Receipt);
  c.key(key_index(ImGuiKey_Tab));
  c.type("ada@example.com");
  const auto sent = first_of<pos::EmailReceipt>(c.harness().key(c.model(), key_index(ImGuiKey_Enter)));
  REQUIRE(sent.has_value());
  CHECK(sent->address == "ada@example.com");
  c.key(kKeyF5);
  CHECK(c.model().screen == pos::Screen::Sell);
  CHECK(c.model().cart.lines.empty());
}

TEST_CASE("the manager PIN pad and the back office work from the keyboard: F9, digits, Enter, 1-6 for tabs, Esc") {
  Counter c;
  c.key(kKeyF9);
  c.type("1234");
  c.key(key_index(ImGuiKey_KeyPadEnter));
  REQUIRE(c.model().screen == pos::Screen::BackOffice);
  c.type("5");
  CHECK(c.harness().state().back_office.tab == 4);
  CHECK(c.harness().shows("Reader's own network"));
  c.type("6");
  CHECK(c.harness().shows("API key"));
  c.key(key_index(ImGuiKey_Escape));
  CHECK(c.model().screen == pos::Screen::Sell);
}
