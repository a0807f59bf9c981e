#include "till/ui/kiosk.hpp"

#include <filesystem>
#include <map>
#include <set>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "till/ui/input_parse.hpp"
#include "till/ui/script.hpp"
#include "ui_test_support.hpp"

using namespace till;
using namespace till::ui;

namespace {

class RecordingEffectSink final : public EffectSink {
 public:
  void run(std::vector<pos::Effect> effects) override { lists.push_back(std::move(effects)); }
  std::vector<std::vector<pos::Effect>> lists;
};

// A world that only records what the script asked of it (for the script's own failure tests).
class RecordingWorld final : public ScriptWorld {
 public:
  Status present_card(const std::string& card) override { return record("card " + card); }
  Status queue_card(const std::string& card) override { return record("queue-card " + card); }
  Status set_outage(bool down) override { return record(down ? "offline" : "online"); }
  Status set_lost_answers(bool lost) override { return record(lost ? "lose-answers" : "answers"); }
  Status set_reader_unplugged(bool unplugged) override { return record(unplugged ? "unplug" : "plug"); }
  std::vector<std::string> sync_summary(const std::vector<std::string>& sales) override {
    return {std::to_string(sales.size()) + " sales"};
  }
  std::vector<std::string> calls;

 private:
  Status record(std::string call) {
    calls.push_back(std::move(call));
    return ok();
  }
};

template <class T>
std::size_t count_of(const std::vector<pos::Effect>& effects) {
  std::size_t n = 0;
  for (const auto& e : effects) n += std::holds_alternative<T>(e) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("the kiosk applies posted actions through the reducer and hands each effect list to the sink") {
  FakeClock clock;
  SeededRandom random(7);
  RecordingEffectSink sink;
  Kiosk kiosk(test::test_config(), clock, random, &sink);
  kiosk.post(pos::ReaderStatusChanged{true, "reader", ""});
  kiosk.post(pos::AddProduct{"latte", 1});
  kiosk.post(pos::Charge{});
  CHECK(kiosk.process_inbox() == 3);
  CHECK(kiosk.model().screen == pos::Screen::Payment);
  CHECK(kiosk.model().phase == pos::PaymentPhase::Collecting);
  REQUIRE(sink.lists.size() == 1);  // only Charge produced effects
  const auto& effects = sink.lists[0];
  REQUIRE(effects.size() == 3);
  CHECK(std::holds_alternative<pos::PersistSale>(effects[0]));
  CHECK(std::holds_alternative<pos::CreateAttempt>(effects[1]));
  CHECK(std::holds_alternative<pos::StartCollect>(effects[2]));
  CHECK(kiosk.process_inbox() == 0);
}

TEST_CASE("actions dispatched by the views are applied at the next frame, not during drawing") {
  FakeClock clock;
  SeededRandom random(7);
  RecordingEffectSink sink;
  Kiosk kiosk(test::test_config(), clock, random, &sink);
  HeadlessContext ctx;
  FrameLog log;
  auto frame = [&] {
    ctx.new_frame();
    log.clear();
    kiosk.frame(ctx.fonts(), &log);
    ctx.end_frame();
  };
  frame();
  frame();
  const LoggedItem* tile = nullptr;
  for (const auto& item : log.items()) {
    if (item.label.rfind("Latte\n", 0) == 0) tile = &item;
  }
  REQUIRE(tile != nullptr);
  ImGui::GetIO().MousePos = ImVec2((tile->min.x + tile->max.x) / 2, (tile->min.y + tile->max.y) / 2);
  frame();
  ImGui::GetIO().MouseDown[0] = true;
  frame();
  ImGui::GetIO().MouseDown[0] = false;
  frame();  // the release dispatches AddProduct into the inbox
  CHECK(kiosk.model().cart.lines.empty());
  CHECK_FALSE(kiosk.inbox().empty());
  frame();  // drained at the start of the next frame
  REQUIRE(kiosk.model().cart.lines.size() == 1);
  CHECK(kiosk.model().cart.lines[0].product_id == "latte");
}

TEST_CASE("the inbox accepts actions from other threads") {
  Inbox inbox;
  std::thread a([&] {
    for (int i = 0; i < 500; ++i) inbox.post(pos::SetTip{i});
  });
  std::thread b([&] {
    for (int i = 0; i < 500; ++i) inbox.post(pos::ClearCart{});
  });
  std::size_t drained = 0;
  while (drained < 1000) drained += inbox.drain().size();
  a.join();
  b.join();
  CHECK(drained == 1000);
  CHECK(inbox.empty());
}

TEST_CASE("the demo script runs headless end to end on the real runtime: four sales reach Stripe once each") {
  const auto dir = std::filesystem::temp_directory_path() / ("till_ui_demo_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  SeededRandom random(11);
  Kiosk kiosk(test::test_config(), SystemClock::instance(), random, nullptr);
  app::RuntimeConfig rc;
  rc.data_dir = dir.string();
  app::SimulatedWorldOptions so;
  so.customer_presents_demo_card = false;  // the script presents each card itself
  auto simulators = app::SimulatedWorld::plug_into(rc, so);
  auto runtime = app::Runtime::start(rc, [&kiosk](pos::Action a) { kiosk.post(std::move(a)); });
  REQUIRE(runtime);
  RuntimeSink sink(**runtime);
  kiosk.set_sink(&sink);
  kiosk.set_account((*runtime)->account_id(), (*runtime)->mode());
  kiosk.set_register((*runtime)->register_id(), (*runtime)->register_name());
  RuntimeWorld world(**runtime, *simulators);
  auto steps = parse_script(demo_script());
  REQUIRE(steps);
  std::vector<std::string> sales;
  auto out = run_script_headless(std::move(*steps), kiosk, world, std::chrono::seconds(30), &sales);
  INFO((out ? std::string() : out.error().message));
  REQUIRE(out);
  // Approved; declined then another card; in doubt then approved; stored offline then forwarded.
  REQUIRE(sales.size() == 4);
  const auto summary = (*runtime)->sync_summary(sales);
  (*runtime)->stop();
  std::map<std::string, int> payments_per_sale;
  int refunds = 0;
  for (const auto& line : summary) {
    INFO(line);
    if (line.rfind("refund ", 0) == 0) {
      // The back office refunded 1.00 of the first sale (a past sale found by its receipt number).
      CHECK(line.find("sale=" + sales.at(0)) != std::string::npos);
      CHECK(line.find(" done re_") != std::string::npos);
      ++refunds;
      continue;
    }
    CHECK(line.rfind("create_payment_intent", 0) == 0);  // the reader declined the first card itself: no PI
    CHECK(line.find(" done pi_") != std::string::npos);
    for (const auto& sale : sales) payments_per_sale[sale] += line.find("sale=" + sale) != std::string::npos ? 1 : 0;
  }
  CHECK(refunds == 1);
  // The in-doubt sale was charged once (one keyed operation), and so was every other sale.
  for (const auto& sale : sales) CHECK(payments_per_sale[sale] == 1);
  bool printed_receipt = false;
  for (const auto& line : *out) printed_receipt = printed_receipt || line.find("APPROVED") != std::string::npos;
  CHECK(printed_receipt);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a script step that expects the wrong screen fails after the step timeout and names the line") {
  FakeClock clock;
  SeededRandom random(3);
  Kiosk kiosk(test::test_config(), clock, random, nullptr);
  RecordingWorld world;
  auto steps = parse_script("card visa\nexpect screen receipt\n");
  REQUIRE(steps);
  auto out = run_script_headless(std::move(*steps), kiosk, world, std::chrono::milliseconds(100));
  REQUIRE_FALSE(out);
  CHECK(out.error().message.find("script line 2") != std::string::npos);
  CHECK(world.calls == std::vector<std::string>{"card visa"});
}

TEST_CASE("tapping a button that never appears fails the script instead of passing silently") {
  FakeClock clock;
  SeededRandom random(3);
  Kiosk kiosk(test::test_config(), clock, random, nullptr);
  RecordingWorld world;
  auto steps = parse_script("tap Try another card\n");
  REQUIRE(steps);
  auto out = run_script_headless(std::move(*steps), kiosk, world, std::chrono::milliseconds(100));
  REQUIRE_FALSE(out);
  CHECK(out.error().message.find("no button 'Try another card'") != std::string::npos);
}

TEST_CASE("script world verbs reach the world in order") {
  FakeClock clock;
  SeededRandom random(3);
  Kiosk kiosk(test::test_config(), clock, random, nullptr);
  RecordingWorld world;
  auto steps = parse_script("offline\nqueue-card amex\nstripe lose-answers\nstripe answers\nreader unplug\n"
                            "reader plug\nonline\nprint sync\n");
  REQUIRE(steps);
  auto out = run_script_headless(std::move(*steps), kiosk, world, std::chrono::milliseconds(500));
  REQUIRE(out);
  CHECK(world.calls == std::vector<std::string>{"offline", "queue-card amex", "lose-answers", "answers", "unplug",
                                                "plug", "online"});
  REQUIRE(out->size() == 2);
  CHECK((*out)[1] == "  0 sales");
}

TEST_CASE("the script parser rejects unknown verbs and missing arguments with the line number") {
  auto unknown = parse_script("# ok\nfly away\n");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("line 2") != std::string::npos);
  auto missing = parse_script("card\n");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("'card' needs 1") != std::string::npos);
}

TEST_CASE("amount, percent and quantity fields parse exactly and refuse junk") {
  const auto usd = pos::Currency::of("usd");
  const auto jpy = pos::Currency::of("jpy");
  CHECK(parse_amount("12.34", usd).value() == 1234);
  CHECK(parse_amount(" 5 ", usd).value() == 500);
  CHECK(parse_amount("1500", jpy).value() == 1500);
  CHECK_FALSE(parse_amount("1.234", usd));
  CHECK_FALSE(parse_amount("-1", usd));
  CHECK_FALSE(parse_amount("", usd));
  CHECK_FALSE(parse_amount("abc", usd));
  CHECK(parse_percent_ppm("10").value() == 100'000);
  CHECK(parse_percent_ppm("12.5%").value() == 125'000);
  CHECK(parse_percent_ppm("100").value() == 1'000'000);
  CHECK(parse_percent_ppm("0.0001").value() == 1);
  CHECK_FALSE(parse_percent_ppm("100.01"));
  CHECK_FALSE(parse_percent_ppm("1.00001"));
  CHECK_FALSE(parse_percent_ppm("ten"));
  CHECK(parse_discount("", true, usd).value() == pos::Discount::none());
  CHECK(parse_discount("2.50", false, usd).value() == pos::Discount::amount(250));
  CHECK(parse_quantity("3").value() == 3);
  CHECK_FALSE(parse_quantity("0"));
  CHECK_FALSE(parse_quantity("99999"));
  CHECK_FALSE(parse_quantity("2.5"));
}

TEST_CASE("a double tap on Charge starts one card collection, not two") {
  FakeClock clock;
  SeededRandom random(5);
  RecordingEffectSink sink;
  Kiosk kiosk(test::test_config(), clock, random, &sink);
  kiosk.post(pos::ReaderStatusChanged{true, "reader", ""});
  kiosk.post(pos::AddProduct{"mocha", 1});
  kiosk.post(pos::Charge{});
  kiosk.post(pos::Charge{});  // the second tap lands before the first one's effects came back
  kiosk.process_inbox();
  std::size_t collects = 0;
  std::size_t attempts = 0;
  for (const auto& list : sink.lists) {
    collects += count_of<pos::StartCollect>(list);
    attempts += count_of<pos::CreateAttempt>(list);
  }
  CHECK(collects == 1);
  CHECK(attempts == 1);
  CHECK(kiosk.model().attempts.size() == 1);
  CHECK(kiosk.model().notice.text == "A card payment is already in progress");
}
