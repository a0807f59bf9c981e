#include <catch2/catch.hpp>

#include <cctype>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "../terminal/reader_harness.hpp"
#include "till/hwsim/console.hpp"
#include "till/hwsim/scenario.hpp"
#include "till/hwsim/test_cards.hpp"

using namespace till;
using namespace till::terminal::testing;

TEST_CASE("test cards are found by name or number and carry Stripe's decline codes") {
  REQUIRE(hwsim::test_cards().size() == 13);
  const auto* v = hwsim::find_test_card("VISA");
  REQUIRE(v != nullptr);
  CHECK(v->last4() == "4242");
  CHECK(hwsim::find_test_card("4000-0000-0000-9995")->decline_code == "insufficient_funds");
  CHECK(hwsim::find_test_card("4001 0003 6000 0005")->pin == hwsim::PinKind::Online);
  CHECK(hwsim::find_test_card("4111111111111111") == nullptr);
  CHECK(hwsim::amount_decline_code(1001) == "call_issuer");
  CHECK(hwsim::amount_decline_code(175) == "pin_try_exceeded");
  CHECK(hwsim::amount_decline_code(1000).empty());
  CHECK(hwsim::amount_decline_code(1010).empty());
}

TEST_CASE("scenario parsing rejects malformed files with the file and JSON path") {
  auto err = [](std::string_view text) {
    auto r = hwsim::parse_scenario(text, "x.json");
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::InvalidArgument);
    return r.error().message;
  };
  CHECK_THAT(err("{"), Catch::Contains("x.json: not valid JSON"));
  CHECK_THAT(err("[]"), Catch::Contains("top level"));
  CHECK_THAT(err(R"({"name":"a"})"), Catch::Contains("$.steps"));
  CHECK_THAT(err(R"({"name":"a","steps":[{"card":"visa"}]})"), Catch::Contains("steps[0].expect: is required"));
  CHECK_THAT(err(R"({"name":"a","steps":[{"card":"vissa","expect":"approved"}]})"),
             Catch::Contains("steps[0].card: unknown test card"));
  CHECK_THAT(err(R"({"name":"a","steps":[{"fault":"meteor","expect":"approved"}]})"),
             Catch::Contains("unknown fault \"meteor\""));
  CHECK_THAT(err(R"({"name":"a","steps":[{"expect":"maybe"}]})"), Catch::Contains("steps[0].expect: must be"));
  CHECK_THAT(err(R"({"name":"a","steps":[{"amount":0,"expect":"approved"}]})"),
             Catch::Contains("steps[0].amount: must be in 1..99999999"));
  CHECK_THAT(err(R"({"name":"a","steps":[{"amount":"10","expect":"approved"}]})"),
             Catch::Contains("steps[0].amount: must be an integer"));
  CHECK_THAT(err(R"({"name":"a","colour":"red","steps":[{"expect":"approved"}]})"),
             Catch::Contains("$: unknown key \"colour\""));
  CHECK_THAT(err(R"({"name":"a","reader":{"battery":101},"steps":[{"expect":"approved"}]})"),
             Catch::Contains("reader.battery: must be in 0..100"));
  CHECK_THAT(err(R"({"name":"a","steps":[{"method":"telepathy","expect":"approved"}]})"),
             Catch::Contains("steps[0].method"));

  auto ok = hwsim::parse_scenario(
      R"({"name":"n","seed":9,"reader":{"online":false,"offline_capacity":3},
          "steps":[{"card":"visa","method":"tap","fault":"card_removed","garbage_frames":2,"expect":"error:unavailable"}]})",
      "y.json");
  REQUIRE(ok);
  CHECK(ok->reader.seed == 9);
  CHECK_FALSE(ok->reader.online);
  CHECK(ok->reader.offline_capacity == 3);
  REQUIRE(ok->steps.size() == 1);
  CHECK(ok->steps[0].payment.method == hwsim::ReadMethod::Contactless);
  CHECK(ok->steps[0].payment.fault == hwsim::Fault::CardRemovedMidRead);
  CHECK(ok->steps[0].payment.garbage_frames == 2);
}

TEST_CASE("the same seed gives the same tokens and a different seed different ones") {
  auto tokens = [](std::uint64_t seed) {
    hwsim::DeviceConfig cfg;
    cfg.seed = seed;
    SimHarness h(cfg);
    REQUIRE(h.connect());
    std::vector<std::string> out;
    for (int i = 0; i < 3; ++i) {
      h.device.queue_payment(hwsim::scripted_card("visa"));
      auto r = h.collect(1000);
      REQUIRE(r);
      out.push_back(std::get<terminal::ApprovedToForward>(*r).payment_method);
    }
    return out;
  };
  const auto a = tokens(5), b = tokens(5), c = tokens(6);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a[0] != a[1]);
}

TEST_CASE("tokens are pm_test_<card name>_<letters> so the card's outcome reaches till-stripe-sim") {
  hwsim::DeviceConfig cfg;
  cfg.online = false;  // stored offline: even decline cards get a token
  cfg.offline_capacity = 20;
  SimHarness h(cfg);
  REQUIRE(h.connect());
  const std::pair<const char*, const char*> cases[] = {
      {"visa", "visa"},
      {"mastercard", "mastercard"},
      {"declined", "chargeDeclined"},
      {"insufficient_funds", "insufficientFunds"},
      {"lost_card", "lostCard"},
      {"stolen_card", "stolenCard"},
      {"expired_card", "expiredCard"},
      {"processing_error", "processingError"},
      {"offline_pin", "offlinePin"},
  };
  terminal::CollectOptions offline;
  offline.offline_allowed = true;
  for (const auto& [card, name] : cases) {
    INFO(card);
    h.device.queue_payment(hwsim::scripted_card(card));
    auto r = h.collect(1000, offline);
    REQUIRE(r);
    const auto& token = std::get<terminal::ApprovedToForward>(*r).payment_method;
    const std::string prefix = std::string("pm_test_") + name + "_";
    REQUIRE(token.rfind(prefix, 0) == 0);
    const std::string tail = token.substr(prefix.size());
    CHECK(tail.size() == 20);
    // Letters only after the prefix: a token never looks like (or carries) a card number.
    for (char c : token) CHECK_FALSE(std::isdigit(static_cast<unsigned char>(c)));
  }
}

TEST_CASE("the console drives the simulated customer and never echoes a card number") {
  SimHarness h;
  REQUIRE(h.connect());
  std::optional<Result<terminal::CollectOutcome>> got;
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), {}, [&](auto r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return h.device.waiting_for_card(); }));

  CHECK_FALSE(hwsim::run_console_command(h.device, "pin"));  // nothing asks for a PIN yet
  auto unknown = hwsim::run_console_command(h.device, "card 4111 1111 1111 1111");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().kind == ErrorKind::NotFound);
  CHECK_THAT(unknown.error().message, !Catch::Contains("4111"));
  auto r = hwsim::run_console_command(h.device, "card 4242 4242 4242 4242 tap");
  REQUIRE(r);
  CHECK(*r == "presented visa ending 4242 (contactless)");
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  CHECK(std::holds_alternative<terminal::ApprovedToForward>(**got));

  CHECK(*hwsim::run_console_command(h.device, "battery 30") == "battery 30%");
  CHECK_FALSE(hwsim::run_console_command(h.device, "battery 130"));
  CHECK(hwsim::run_console_command(h.device, "update-required on"));
  CHECK(h.device.config().update_required);
  CHECK(hwsim::run_console_command(h.device, "online off"));
  CHECK_FALSE(h.device.config().online);
  CHECK_THAT(*hwsim::run_console_command(h.device, "status"), Catch::Contains("battery 30%"));
  CHECK_THAT(*hwsim::run_console_command(h.device, "cards"), Catch::Contains("insufficient_funds"));
  CHECK_THAT(*hwsim::run_console_command(h.device, "cards"), !Catch::Contains("4000000000009995"));
  CHECK_FALSE(hwsim::run_console_command(h.device, "dance"));
  CHECK(*hwsim::run_console_command(h.device, "unplug") == "unplugged");
  REQUIRE(h.run_until([&] { return h.saw(terminal::ReaderEventKind::Disconnected); }));
  CHECK_FALSE(h.device.plugged());
}

TEST_CASE("the tcp front end lets one host hold the reader at a time") {
  TcpHarness h;
  REQUIRE(h.connect());
  // A second host connects to the same port: it is refused (closed) while the first holds it.
  boost::asio::ip::tcp::socket other(h.io);
  bool connected = false;
  other.async_connect({boost::asio::ip::make_address("127.0.0.1"), h.server->port()},
                      [&](auto ec) { connected = !ec; });
  REQUIRE(h.run_until([&] { return h.server->connections_refused() == 1; }));
  CHECK(connected);
  CHECK(h.server->connections_accepted() == 1);
  h.device.queue_payment(hwsim::scripted_card("visa"));
  CHECK(h.collect(1000));
}
