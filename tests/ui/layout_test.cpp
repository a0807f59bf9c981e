// Layout of every screen, headless, from Model fixtures built through the reducer: at 800x600,
// 1024x768 and 1920x1080 no control lies outside the window or is cut off by the fixed layout,
// no two controls overlap, every control is a touch target (48 px at scale 1), the cart shows 8
// lines at 1024x768 with the total visible, and the main controls stay where they are through a
// whole scripted sale.

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ui_test_support.hpp"

using namespace till;
using namespace till::ui;
using namespace till::ui::test;

namespace {

struct Size {
  int width;
  int height;
};
constexpr Size kSizes[] = {{800, 600}, {1024, 768}, {1920, 1080}};

struct Box {
  float x0, y0, x1, y1;
  float w() const { return x1 - x0; }
  float h() const { return y1 - y0; }
  bool empty() const { return w() <= 0.5f || h() <= 0.5f; }
};

Box box(const LoggedItem& i) { return {i.min.x, i.min.y, i.max.x, i.max.y}; }
Box clip(const LoggedItem& i) { return {i.clip_min.x, i.clip_min.y, i.clip_max.x, i.clip_max.y}; }
Box meet(Box a, Box b) { return {std::max(a.x0, b.x0), std::max(a.y0, b.y0), std::min(a.x1, b.x1), std::min(a.y1, b.y1)}; }
bool inside(Box a, Box outer, float slack = 0.5f) {
  return a.x0 >= outer.x0 - slack && a.y0 >= outer.y0 - slack && a.x1 <= outer.x1 + slack && a.y1 <= outer.y1 + slack;
}
bool is_control(const LoggedItem& i) { return i.kind == LoggedItem::Kind::Button || i.kind == LoggedItem::Kind::Input; }

std::string describe(const LoggedItem& i) {
  std::ostringstream s;
  std::string label = i.label.substr(0, i.label.find('\n'));
  s << "'" << label << "' [" << i.min.x << "," << i.min.y << " - " << i.max.x << "," << i.max.y << "]";
  if (!i.region.empty()) s << " in " << i.region;
  if (i.layer > 0) s << " (popup)";
  return s.str();
}

// What is wrong with one frame's layout: controls outside the window, controls of the fixed
// layout cut off by their column, overlapping controls (on the same layer).
std::vector<std::string> layout_problems(const FrameLog& log, Size size) {
  std::vector<std::string> problems;
  const Box window{0, 0, static_cast<float>(size.width), static_cast<float>(size.height)};
  std::vector<const LoggedItem*> controls;
  for (const LoggedItem& item : log.items()) {
    if (!is_control(item)) continue;
    controls.push_back(&item);
    const Box visible = meet(box(item), clip(item));
    if (item.region.empty()) {
      if (!inside(box(item), window)) problems.push_back(describe(item) + " lies outside the window");
      else if (!inside(box(item), clip(item))) problems.push_back(describe(item) + " is cut off by its column");
    } else if (!visible.empty() && !inside(visible, window)) {
      problems.push_back(describe(item) + " shows outside the window");
    }
  }
  for (std::size_t a = 0; a < controls.size(); ++a) {
    for (std::size_t b = a + 1; b < controls.size(); ++b) {
      if (controls[a]->layer != controls[b]->layer) continue;
      const Box va = meet(box(*controls[a]), clip(*controls[a]));
      const Box vb = meet(box(*controls[b]), clip(*controls[b]));
      if (va.empty() || vb.empty()) continue;
      if (!meet(va, vb).empty()) problems.push_back(describe(*controls[a]) + " overlaps " + describe(*controls[b]));
    }
  }
  return problems;
}

// Everything the layout tests draw: each screen and popup from a fixture, with the view state
// that opens it.
struct Screen {
  std::string name;
  std::function<ModelBuilder()> model;
  std::function<void(ViewState&)> open = [](ViewState&) {};
};

std::vector<Screen> every_screen() {
  using P = SellViewState::Popup;
  std::vector<Screen> s;
  s.push_back({"empty sell", [] {
                 ModelBuilder b;
                 b.then(pos::ReaderStatusChanged{true, "Simulated reader SIM-001", ""});
                 return b;
               }});
  s.push_back({"sell with a cart", cart_fixture});
  s.push_back({"sell without a reader", [] {
                 ModelBuilder b;
                 b.then(pos::AddProduct{"latte", 1});
                 return b;
               }});
  s.push_back({"line editor", cart_fixture, [](ViewState& v) {
                 v.sell.popup = P::Line;
                 v.sell.selected_line = 0;
               }});
  s.push_back({"discount and tip", cart_fixture, [](ViewState& v) { v.sell.popup = P::Options; }});
  s.push_back({"discount and tip offline", offline_fixture, [](ViewState& v) { v.sell.popup = P::Options; }});
  s.push_back({"cash", cart_fixture, [](ViewState& v) { v.sell.popup = P::Cash; }});
  s.push_back({"offline sell with stored payments", offline_fixture});
  s.push_back({"storage error and a notice", [] {
                 ModelBuilder b = cart_fixture();
                 b.then(pos::ScanBarcode{"999"}).then(pos::StoreFailed{"disk full: the sale could not be saved"});
                 return b;
               }});
  s.push_back({"database check running", [] {
                 ModelBuilder b = cart_fixture();
                 b.then(pos::StoreCheckStarted{});
                 return b;
               }});
  s.push_back({"manager PIN pad", cart_fixture, [](ViewState& v) { v.back_office.pin_prompt_open = true; }});
  s.push_back({"payment collecting", collecting_fixture});
  s.push_back({"payment authorizing", authorizing_fixture});
  s.push_back({"payment declined", declined_fixture});
  s.push_back({"payment in doubt", in_doubt_fixture});
  s.push_back({"payment refused offline", refused_fixture});
  s.push_back({"payment with a balance", [] {
                 ModelBuilder b = cart_fixture();
                 b.then(pos::PayCash{500});
                 return b;
               }});
  s.push_back({"receipt approved", approved_fixture});
  s.push_back({"receipt with change, offline", [] {
                 ModelBuilder b = offline_fixture();
                 b.then(pos::PayCash{5000});
                 return b;
               }});
  for (int tab = 0; tab < 6; ++tab) {
    s.push_back({"back office tab " + std::to_string(tab), full_back_office_fixture,
                 [tab](ViewState& v) { v.back_office.tab = tab; }});
  }
  return s;
}

// Draws a screen: the popup or tab is opened through the view state, then two frames settle it.
void show(ViewHarness& h, const Screen& screen, const pos::Model& m) {
  h.state() = ViewState{};
  screen.open(h.state());
  h.show(m);
  h.show(m);
}

DisplayConfig display(Size size) {
  DisplayConfig d;
  d.width = size.width;
  d.height = size.height;
  return d;
}

}  // namespace

TEST_CASE("at 800x600, 1024x768 and 1920x1080 no control of any screen lies outside the window or overlaps another") {
  for (Size size : kSizes) {
    ViewHarness h(test_config(), display(size));
    for (const Screen& screen : every_screen()) {
      const ModelBuilder b = screen.model();
      show(h, screen, b.model());
      INFO(size.width << "x" << size.height << " " << screen.name << "\n" << h.dump());
      const auto problems = layout_problems(h.log(), size);
      for (const auto& p : problems) FAIL_CHECK(p);
      CHECK(problems.empty());
    }
  }
}

TEST_CASE("the layout check itself finds a control outside the window and two overlapping controls") {
  FrameLog log;
  LoggedItem a;
  a.kind = LoggedItem::Kind::Button;
  a.label = "A";
  a.min = {10, 10};
  a.max = {100, 60};
  a.clip_min = {0, 0};
  a.clip_max = {800, 600};
  LoggedItem b = a;
  b.label = "B";
  b.min = {90, 50};
  b.max = {150, 100};
  LoggedItem c = a;
  c.label = "C";
  c.min = {700, 580};
  c.max = {820, 630};
  LoggedItem hidden = b;  // scrolled out of its region: neither outside nor overlapping
  hidden.label = "D";
  hidden.region = "cart";
  hidden.clip_min = {200, 200};
  hidden.clip_max = {300, 300};
  for (const auto& i : {a, b, c, hidden}) log.add(i);
  const auto problems = layout_problems(log, {800, 600});
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("'C'") != std::string::npos);
  CHECK(problems[0].find("outside the window") != std::string::npos);
  CHECK(problems[1].find("'A'") != std::string::npos);
  CHECK(problems[1].find("overlaps 'B'") != std::string::npos);
}

TEST_CASE("every control of every screen is a touch target at least 48 px high and wide at scale 1") {
  for (Size size : kSizes) {
    ViewHarness h(test_config(), display(size));
    for (const Screen& screen : every_screen()) {
      const ModelBuilder b = screen.model();
      show(h, screen, b.model());
      for (const LoggedItem& item : h.log().items()) {
        if (!is_control(item)) continue;
        INFO(size.width << "x" << size.height << " " << screen.name << ": " << describe(item));
        CHECK(box(item).w() >= kTouchPx - 0.5f);
        CHECK(box(item).h() >= kTouchPx - 0.5f);
      }
    }
  }
}

TEST_CASE("at 1024x768 the cart shows at least 8 whole lines with the total and Charge visible, and the total stays visible with more") {
  ModelBuilder b;
  b.then(pos::ReaderStatusChanged{true, "Simulated reader SIM-001", ""});
  const auto& products = b.config().catalog.products();
  REQUIRE(products.size() >= 12);
  ViewHarness h(test_config(), display({1024, 768}));
  const Box window{0, 0, 1024, 768};
  for (std::size_t n = 1; n <= 12; ++n) {
    b.then(pos::AddProduct{products[n - 1].id, 1});
    h.show(b.model());
    INFO(n << " lines\n" << h.dump());
    int whole = 0;
    Box cart{};
    const LoggedItem* total = nullptr;
    for (const LoggedItem& item : h.log().items()) {
      if (item.kind == LoggedItem::Kind::Region && item.label == "cart") cart = box(item);
      // A line is wholly visible when the cart's clip leaves all of its touch height.
      if (item.kind == LoggedItem::Kind::Button && item.label.rfind("line: ", 0) == 0 &&
          meet(box(item), clip(item)).h() >= kTouchPx - 0.5f) {
        ++whole;
      }
      if (item.kind == LoggedItem::Kind::Text && item.label == "TOTAL") total = &item;
    }
    REQUIRE(total != nullptr);
    CHECK(inside(box(*total), window));
    CHECK(box(*total).y0 >= cart.y1);  // below the cart, never scrolled with it
    const LoggedItem* charge = h.find("Charge card (F2)");
    REQUIRE(charge != nullptr);
    CHECK(inside(box(*charge), window));
    CHECK(whole >= static_cast<int>(std::min<std::size_t>(n, 8)));
  }
}

namespace {

// Where the main controls are on one frame: every button, field and scrolling region by label
// (and occurrence, for the cart's repeated "+" and "-"), the TOTAL line. Product tiles and the
// product region are left out of "main": the staff offline banner shortens the product region
// from below by design (the tiles themselves do not move, and are compared as buttons).
using Places = std::map<std::string, Box>;

Places places(const FrameLog& log) {
  Places out;
  std::map<std::string, int> seen;
  for (const LoggedItem& item : log.items()) {
    const bool region = item.kind == LoggedItem::Kind::Region && item.label != "products";
    const bool total = item.kind == LoggedItem::Kind::Text && item.label == "TOTAL";
    if (!is_control(item) && !region && !total) continue;
    std::string key = std::to_string(item.layer) + "|" + item.label;
    key += "#" + std::to_string(seen[key]++);
    out[key] = box(item);
  }
  return out;
}

float moved(Box a, Box b) {
  return std::max({std::abs(a.x0 - b.x0), std::abs(a.y0 - b.y0), std::abs(a.x1 - b.x1), std::abs(a.y1 - b.y1)});
}

}  // namespace

TEST_CASE("through a whole scripted sale no main control moves more than 2 px on the same screen") {
  for (Size size : kSizes) {
    ModelBuilder b;
    ViewHarness h(test_config(), display(size));
    std::map<pos::Screen, Places> first;  // where each control was the first time on each screen
    std::vector<std::string> moves;
    int step = 0;
    auto frame = [&](const pos::Action& a, const char* what) {
      b.then(a);
      h.show(b.model());
      ++step;
      Places& known = first[b.model().screen];
      for (const auto& [key, place] : places(h.log())) {
        auto it = known.find(key);
        if (it == known.end()) {
          known.emplace(key, place);
        } else if (moved(it->second, place) > 2.0f) {
          std::ostringstream s;
          s << size.width << "x" << size.height << " step " << step << " (" << what << "): '" << key << "' moved from ["
            << it->second.x0 << "," << it->second.y0 << "," << it->second.x1 << "," << it->second.y1 << "] to ["
            << place.x0 << "," << place.y0 << "," << place.x1 << "," << place.y1 << "]";
          moves.push_back(s.str());
        }
      }
    };
    const pos::CardDetails card = visa();
    frame(pos::ReaderStatusChanged{true, "Simulated reader SIM-001", ""}, "reader connects");
    frame(pos::StoreCheckStarted{}, "database check starts");
    frame(pos::StoreChecked{true, ""}, "database check passes");
    frame(pos::AddProduct{"latte", 1}, "a latte");
    frame(pos::AddProduct{"latte", 1}, "another latte");
    frame(pos::ScanBarcode{"2000000000145"}, "a croissant scanned");
    frame(pos::ScanBarcode{"999"}, "an unknown barcode: an error notice");
    frame(pos::SetLineDiscount{0, pos::Discount::percent_ppm(100'000)}, "line discount");
    frame(pos::SetCartDiscount{pos::Discount::amount(50)}, "cart discount");
    frame(pos::SetTip{200}, "tip");
    frame(pos::ReaderStatusChanged{false, "", "unplugged"}, "reader unplugged");
    frame(pos::ReaderStatusChanged{true, "Simulated reader SIM-001", ""}, "reader back");
    frame(pos::ConnectivityChanged{false}, "offline: the staff banner appears");
    frame(pos::ConnectivityChanged{true}, "online again");
    frame(pos::Charge{}, "charge");
    const std::string first_attempt = b.active();
    frame(pos::ReaderPrompt{first_attempt, pos::ReaderPromptKind::Other, "Insert, tap or swipe"}, "reader prompt");
    frame(pos::CardCollected{first_attempt, "pm_1", card, false}, "card read: authorizing");
    frame(pos::PaymentDeclined{first_attempt, "insufficient_funds", "Your card has insufficient funds.", "pi_1"}, "declined");
    frame(pos::RetryWithAnotherCard{}, "another card");
    const std::string second_attempt = b.active();
    frame(pos::CardCollected{second_attempt, "pm_2", card, false}, "authorizing");
    frame(pos::PaymentApproved{second_attempt, "pi_2", card}, "approved: receipt");
    frame(pos::ReprintReceipt{}, "print again");
    frame(pos::EmailQueued{true, ""}, "email queued: a notice");
    frame(pos::PrintFailed{"printer out of paper"}, "a print failure notice");
    frame(pos::NewSale{}, "new sale");
    frame(pos::AddProduct{"espresso", 2}, "two espressos");
    frame(pos::PayCash{300}, "part cash: payment with a balance");
    frame(pos::PayCash{1000}, "the rest in cash: change due");
    frame(pos::NewSale{}, "new sale");
    INFO(size.width << "x" << size.height);
    for (const auto& m : moves) FAIL_CHECK(m);
    CHECK(moves.empty());
    // The comparison saw the screens it is about.
    CHECK(first.count(pos::Screen::Sell) == 1);
    CHECK(first.count(pos::Screen::Payment) == 1);
    CHECK(first.count(pos::Screen::Receipt) == 1);
    CHECK(first[pos::Screen::Sell].count("0|Charge card (F2)#0") == 1);
    CHECK(first[pos::Screen::Payment].count("0|Cancel payment#0") == 1);
    CHECK(first[pos::Screen::Receipt].count("0|New sale (F5)#0") == 1);
  }
}
