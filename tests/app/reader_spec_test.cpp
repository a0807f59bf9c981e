// The reader setting (RuntimeConfig::reader, till-kiosk --reader): every accepted form, the
// errors, a round trip through the canonical text for generated specs, and garbage that must be
// refused InvalidArgument (never another kind, never a crash). Then the choice of a smart reader
// among the account's readers.
#include "till/app/reader_spec.hpp"

#include <catch2/catch.hpp>

#include "till/app/server_driven.hpp"
#include "till/base/random.hpp"

using namespace till;
using app::ReaderSpec;
using app::format_reader_spec;
using app::parse_reader_spec;

namespace {

ReaderSpec must_parse(std::string_view text) {
  auto r = parse_reader_spec(text);
  INFO(text << " -> " << (r ? std::string("ok") : r.error().message));
  REQUIRE(r);
  return *r;
}

std::string error_of(std::string_view text) {
  auto r = parse_reader_spec(text);
  INFO(text);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::InvalidArgument);
  return r.error().message;
}

}  // namespace

TEST_CASE("an empty reader setting or sim is the in-process simulated reader") {
  CHECK(must_parse("") == ReaderSpec{});
  CHECK(must_parse("sim") == ReaderSpec{});
  CHECK(must_parse("sim").kind == ReaderSpec::Kind::Simulated);
  CHECK(format_reader_spec(ReaderSpec{}) == "sim");
}

TEST_CASE("HOST:PORT and tcp:HOST:PORT are till-reader-sim over TCP") {
  for (const char* text : {"127.0.0.1:4100", "tcp:127.0.0.1:4100"}) {
    const auto s = must_parse(text);
    CHECK(s.kind == ReaderSpec::Kind::Tcp);
    CHECK(s.host == "127.0.0.1");
    CHECK(s.port == 4100);
    CHECK(format_reader_spec(s) == "tcp:127.0.0.1:4100");
  }
  const auto v6 = must_parse("[::1]:65535");
  CHECK(v6.kind == ReaderSpec::Kind::Tcp);
  CHECK(v6.host == "::1");
  CHECK(v6.port == 65535);
  CHECK(format_reader_spec(v6) == "tcp:[::1]:65535");
  CHECK(must_parse("tcp:[fe80::1]:1").host == "fe80::1");
}

TEST_CASE("a bad TCP reader is refused with what is wrong") {
  CHECK(error_of("127.0.0.1:0").find("port") != std::string::npos);
  CHECK(error_of("127.0.0.1:65536").find("port") != std::string::npos);
  CHECK(error_of("127.0.0.1:").find("port") != std::string::npos);
  CHECK(error_of("127.0.0.1:41x").find("port") != std::string::npos);
  CHECK(error_of("127.0.0.1:-1").find("port") != std::string::npos);
  CHECK(error_of("127.0.0.1:999999").find("port") != std::string::npos);
  CHECK(error_of(":4100").find("host is missing") != std::string::npos);
  CHECK(error_of("localhost:4100").find("no DNS") != std::string::npos);
  CHECK(error_of("256.1.1.1:4100").find("numeric IPv4") != std::string::npos);
  CHECK(error_of("::1:4100").find("brackets") != std::string::npos);
  CHECK(error_of("[127.0.0.1]:4100").find("not an IPv6") != std::string::npos);
  CHECK(error_of("tcp:").find("HOST:PORT") != std::string::npos);
  CHECK(error_of("tcp:127.0.0.1").find("HOST:PORT") != std::string::npos);
}

TEST_CASE("usb and usb:VID:PID[:SERIAL] are the libusb driver, hex ids, default 1209:0001") {
  const auto d = must_parse("usb");
  CHECK(d.kind == ReaderSpec::Kind::Usb);
  CHECK(d.usb_vendor_id == 0x1209);
  CHECK(d.usb_product_id == 0x0001);
  CHECK_FALSE(d.usb_serial);
  CHECK(format_reader_spec(d) == "usb:1209:0001");
  const auto e = must_parse("usb:04B8:0e15");
  CHECK(e.usb_vendor_id == 0x04b8);
  CHECK(e.usb_product_id == 0x0e15);
  CHECK_FALSE(e.usb_serial);
  const auto f = must_parse("usb:1209:1:SIM-0042");
  CHECK(f.usb_product_id == 0x0001);
  REQUIRE(f.usb_serial);
  CHECK(*f.usb_serial == "SIM-0042");
  CHECK(format_reader_spec(f) == "usb:1209:0001:SIM-0042");
}

TEST_CASE("a bad usb reader is refused with what is wrong") {
  CHECK(error_of("usb:").find("hex") != std::string::npos);
  CHECK(error_of("usb:1209").find("hex") != std::string::npos);
  CHECK(error_of("usb:12345:0001").find("hex") != std::string::npos);
  CHECK(error_of("usb:12g9:0001").find("hex") != std::string::npos);
  CHECK(error_of("usb:1209:0001:").find("empty serial") != std::string::npos);
  CHECK(error_of("usbx").find("unknown reader") != std::string::npos);
}

TEST_CASE("stripe and stripe:tmr_... are a smart reader of the account") {
  const auto any = must_parse("stripe");
  CHECK(any.kind == ReaderSpec::Kind::Stripe);
  CHECK(any.stripe_reader_id.empty());
  CHECK(format_reader_spec(any) == "stripe");
  const auto one = must_parse("stripe:tmr_FDOt2wlRZEdpd7");
  CHECK(one.kind == ReaderSpec::Kind::Stripe);
  CHECK(one.stripe_reader_id == "tmr_FDOt2wlRZEdpd7");
  CHECK(format_reader_spec(one) == "stripe:tmr_FDOt2wlRZEdpd7");
  CHECK(error_of("stripe:").find("tmr_") != std::string::npos);
  CHECK(error_of("stripe:tmr_").find("tmr_") != std::string::npos);
  CHECK(error_of("stripe:rdr_123").find("tmr_") != std::string::npos);
  CHECK(error_of("stripe:tmr_a b").find("letters") != std::string::npos);
}

TEST_CASE("an unknown reader names the accepted forms") {
  for (const char* text : {"bluetooth", "SIM", "Stripe", " sim", "sim ", "serial:/dev/ttyUSB0"}) {
    const std::string e = error_of(text);
    CHECK(e.find(app::kReaderSpecForms) != std::string::npos);
  }
}

TEST_CASE("generated reader specs survive a round trip through their canonical text") {
  SeededRandom rng(20260);
  auto pick = [&](std::uint64_t n) { return rng.next_u64() % n; };
  for (int i = 0; i < 2000; ++i) {
    ReaderSpec s;
    switch (pick(4)) {
      case 0: break;
      case 1: {
        s.kind = ReaderSpec::Kind::Tcp;
        s.port = static_cast<std::uint16_t>(1 + pick(65535));
        if (pick(2) == 0) {
          s.host = std::to_string(pick(256)) + "." + std::to_string(pick(256)) + "." + std::to_string(pick(256)) +
                   "." + std::to_string(pick(256));
        } else {
          s.host = pick(2) == 0 ? "::1" : "fd00::" + std::to_string(1 + pick(9999));
        }
        break;
      }
      case 2: {
        s.kind = ReaderSpec::Kind::Usb;
        s.usb_vendor_id = static_cast<std::uint16_t>(pick(65536));
        s.usb_product_id = static_cast<std::uint16_t>(pick(65536));
        if (pick(2) == 0) s.usb_serial = "SER:" + std::to_string(pick(100000));  // a colon inside the serial too
        break;
      }
      default: {
        s.kind = ReaderSpec::Kind::Stripe;
        if (pick(2) == 0) s.stripe_reader_id = "tmr_" + std::to_string(pick(1'000'000'000));
        break;
      }
    }
    const std::string text = format_reader_spec(s);
    INFO(text);
    auto back = parse_reader_spec(text);
    REQUIRE(back);
    CHECK(*back == s);
  }
}

TEST_CASE("random text never parses into something else than InvalidArgument or a spec that formats back") {
  SeededRandom rng(77);
  const std::string alphabet = "usbtcpimre:[]0123456789abcdefABCDEF_.-x ";
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    const auto n = rng.next_u64() % 24;
    for (std::uint64_t k = 0; k < n; ++k) text += alphabet[rng.next_u64() % alphabet.size()];
    INFO(text);
    auto r = parse_reader_spec(text);
    if (!r) {
      CHECK(r.error().kind == ErrorKind::InvalidArgument);
      CHECK_FALSE(r.error().message.empty());
      continue;
    }
    // Whatever was accepted means the same thing once written canonically.
    auto again = parse_reader_spec(format_reader_spec(*r));
    REQUIRE(again);
    CHECK(*again == *r);
  }
}

// ---- which smart reader --------------------------------------------------------------------

namespace {
sync::Reader smart(std::string id, std::string status, std::string location = "tml_1", std::string label = "") {
  sync::Reader r;
  r.id = std::move(id);
  r.status = std::move(status);
  r.location = std::move(location);
  r.label = std::move(label);
  return r;
}
}  // namespace

TEST_CASE("stripe alone takes the one online reader of the account or location") {
  const std::vector<sync::Reader> readers{smart("tmr_a", "offline"), smart("tmr_b", "online", "tml_1", "Counter"),
                                          smart("tmr_c", "online", "tml_2")};
  auto at1 = app::choose_smart_reader(readers, "", "tml_1");
  REQUIRE(at1);
  CHECK(at1->id == "tmr_b");
  auto at2 = app::choose_smart_reader(readers, "", "tml_2");
  REQUIRE(at2);
  CHECK(at2->id == "tmr_c");
}

TEST_CASE("stripe alone with several online readers is refused and names them") {
  const std::vector<sync::Reader> readers{smart("tmr_b", "online", "tml_1", "Counter"), smart("tmr_c", "online", "tml_2")};
  auto r = app::choose_smart_reader(readers, "", "");
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::FailedPrecondition);
  CHECK(r.error().message.find("tmr_b 'Counter'") != std::string::npos);
  CHECK(r.error().message.find("tmr_c") != std::string::npos);
  CHECK(r.error().message.find("stripe:tmr_") != std::string::npos);
}

TEST_CASE("stripe alone with no reader, or none online, is refused with the reason") {
  auto none = app::choose_smart_reader({}, "", "");
  REQUIRE_FALSE(none);
  CHECK(none.error().kind == ErrorKind::NotFound);
  CHECK(none.error().message.find("no smart reader is registered on this account") != std::string::npos);
  auto elsewhere = app::choose_smart_reader({smart("tmr_a", "online", "tml_9")}, "", "tml_1");
  REQUIRE_FALSE(elsewhere);
  CHECK(elsewhere.error().kind == ErrorKind::NotFound);
  CHECK(elsewhere.error().message.find("at location tml_1") != std::string::npos);
  auto offline = app::choose_smart_reader({smart("tmr_a", "offline"), smart("tmr_b", "offline")}, "", "");
  REQUIRE_FALSE(offline);
  CHECK(offline.error().kind == ErrorKind::Unavailable);
  CHECK(offline.error().message.find("2 registered, all offline") != std::string::npos);
}

TEST_CASE("stripe:tmr_... takes that reader, whatever the location, and only when it is online") {
  const std::vector<sync::Reader> readers{smart("tmr_a", "offline"), smart("tmr_b", "online", "tml_2")};
  auto b = app::choose_smart_reader(readers, "tmr_b", "tml_1");
  REQUIRE(b);
  CHECK(b->id == "tmr_b");
  auto a = app::choose_smart_reader(readers, "tmr_a", "");
  REQUIRE_FALSE(a);
  CHECK(a.error().kind == ErrorKind::Unavailable);
  auto z = app::choose_smart_reader(readers, "tmr_z", "");
  REQUIRE_FALSE(z);
  CHECK(z.error().kind == ErrorKind::NotFound);
}
