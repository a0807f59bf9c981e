// The usb driver through real libusb-1.0 against hardware-sim's UsbFunction behind umockdev
// (tier 1 of usb-testing.md), beyond the shared contract suite: hotplug and polling arrival,
// claim retries, endpoint addresses from descriptors, unplug mid-payment (by the reader and by
// the bus), replug with reconnect, bulk timeouts, stalls, close with transfers in flight, serial
// matching, and the soak. CTest runs this binary under umockdev-wrapper.
#include <catch2/catch.hpp>

// (The harness first: protocol/device.hpp says `Status` meaning till::Status, which
// protocol/messages.hpp's Status message would shadow if it came first.)
#include "usb_harness.hpp"
#include "till/terminal/protocol/messages.hpp"

using namespace till;
using namespace till::terminal;
using namespace till::terminal::testing;
using hwsim::Fault;
using hwsim::scripted_card;

namespace {

template <class T>
const T* as(const Result<CollectOutcome>& r) {
  if (!r) return nullptr;
  return std::get_if<T>(&*r);
}

std::string show(const Result<CollectOutcome>& r) { return r ? describe(*r) : "error " + r.error().describe(); }

// Lets the io_context run for `d` (timers, libusb completions) without a condition.
void idle(HarnessBase& h, std::chrono::milliseconds d) {
  bool fired = false;
  boost::asio::steady_timer t(h.io, d);
  t.async_wait([&](auto) { fired = true; });
  h.run_until([&] { return fired; }, d + 5s);
}

CollectOptions with_deadline(std::chrono::milliseconds d) {
  CollectOptions o;
  o.deadline = d;
  return o;
}

UsbHarnessOptions unplugged_start() {
  UsbHarnessOptions u;
  u.plug_at_start = false;
  u.auto_replug = false;  // the test plugs the reader in itself
  return u;
}

}  // namespace

TEST_CASE("usb: a reader plugged in after connect started is opened on hotplug arrival") {
  UsbHarness h({}, fast_options(), unplugged_start());
  REQUIRE(h.usb->stats().hotplug);
  std::optional<Result<ReaderInfo>> got;
  h.reader->async_connect({}, 3s, [&](auto r) { got = std::move(r); });
  idle(h, 50ms);
  REQUIRE_FALSE(got.has_value());  // still waiting for the device
  REQUIRE(h.front_end->plug());
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  INFO((*got ? std::string("ok") : got->error().describe()));
  REQUIRE(*got);
  CHECK((*got)->driver == "usb");
  CHECK(h.usb->stats().arrivals >= 1);
  CHECK(h.usb->stats().opens == 1);
  h.device.queue_payment(scripted_card("visa"));
  CHECK(as<ApprovedToForward>(h.collect(1000)) != nullptr);
}

TEST_CASE("usb: without hotplug the driver finds a late reader by polling") {
  UsbHarnessOptions u = unplugged_start();
  u.usb.force_polling = true;
  UsbHarness h({}, fast_options(), u);
  REQUIRE_FALSE(h.usb->stats().hotplug);
  std::optional<Result<ReaderInfo>> got;
  h.reader->async_connect({}, 3s, [&](auto r) { got = std::move(r); });
  idle(h, 40ms);
  REQUIRE_FALSE(got.has_value());
  REQUIRE(h.front_end->plug());
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  REQUIRE(*got);
  CHECK(h.usb->stats().arrivals == 0);
}

TEST_CASE("usb: connect with no reader on the bus fails Unavailable at its deadline") {
  UsbHarness h({}, fast_options(), unplugged_start());
  std::optional<Result<ReaderInfo>> got;
  h.reader->async_connect({}, 100ms, [&](auto r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  REQUIRE_FALSE(*got);
  CHECK(got->error().kind == ErrorKind::Unavailable);
  CHECK(h.usb->stats().transfers_in_flight == 0);
}

TEST_CASE("usb: the claim is retried while the device is not configured yet, then succeeds") {
  UsbHarness h;
  h.front_end->fail_next_claims(4);  // ENOENT, as a kernel right after the hotplug event
  REQUIRE(h.connect());
  CHECK(h.usb->stats().claim_retries >= 4);
  CHECK(h.front_end->stats().claims_failed == 4);
  h.device.queue_payment(scripted_card("visa"));
  CHECK(as<ApprovedToForward>(h.collect(1000)) != nullptr);
}

TEST_CASE("usb: a claim that keeps failing ends the connect with Unavailable") {
  UsbHarness h;
  h.front_end->fail_next_claims(1'000'000, EBUSY);
  std::optional<Result<ReaderInfo>> got;
  h.reader->async_connect({}, 3s, [&](auto r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  REQUIRE_FALSE(*got);
  CHECK(got->error().kind == ErrorKind::Unavailable);
  CHECK_THAT(got->error().message, Catch::Contains("claimed"));
  CHECK(h.usb->stats().transfers_in_flight == 0);
}

TEST_CASE("usb: endpoint addresses are read from the descriptors") {
  UsbHarnessOptions u;
  u.function.bulk_in_endpoint = 0x85;
  u.function.bulk_out_endpoint = 0x07;
  UsbHarness h({}, fast_options(), u);
  REQUIRE(h.connect());
  h.device.queue_payment(scripted_card("mastercard"));
  CHECK(as<ApprovedToForward>(h.collect(1000)) != nullptr);
  CHECK(h.function->stats().bytes_out > 0);
  CHECK(h.function->stats().bytes_in > 0);
}

TEST_CASE("usb: the reader is matched by serial when one is configured") {
  SECTION("the right serial") {
    UsbHarnessOptions u;
    u.match.serial = "SIM-0001";
    UsbHarness h({}, fast_options(), u);
    auto c = h.connect();
    REQUIRE(c);
    CHECK(c->serial == "SIM-0001");
  }
  SECTION("another serial is never opened") {
    UsbHarnessOptions u;
    u.match.serial = "SIM-9999";
    UsbHarness h({}, fast_options(), u);
    std::optional<Result<ReaderInfo>> got;
    h.reader->async_connect({}, 150ms, [&](auto r) { got = std::move(r); });
    REQUIRE(h.run_until([&] { return got.has_value(); }));
    REQUIRE_FALSE(*got);
    CHECK(got->error().kind == ErrorKind::Unavailable);
    CHECK(h.usb->stats().opens == 0);
    CHECK(h.front_end->stats().claims == 0);
  }
}

TEST_CASE("usb: a cable pull before authorizing ends Unavailable and nothing is charged") {
  hwsim::DeviceConfig cfg;
  cfg.read_delay = 300ms;  // the pull happens while the card is being read
  UsbHarnessOptions u;
  u.auto_replug = false;
  UsbHarness h(cfg, fast_options(), u);
  REQUIRE(h.connect());
  h.device.queue_payment(scripted_card("visa"));
  std::optional<Result<CollectOutcome>> got;
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), with_deadline(3s),
                          [&](auto r) { got = std::move(r); });
  REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::CardInserted); }));
  h.device.unplug();
  REQUIRE(h.run_until([&] { return got.has_value(); }));
  INFO(show(*got));
  REQUIRE_FALSE(*got);
  CHECK(got->error().kind == ErrorKind::Unavailable);
  CHECK_THAT(got->error().message, Catch::Contains("nothing was charged"));
  CHECK(h.device.records().back().outcome == "abandoned");
  CHECK(h.usb->stats().links_lost == 1);
  CHECK(h.usb->stats().transfers_in_flight == 0);
  CHECK_FALSE(h.front_end->plugged());
}

TEST_CASE("usb: a cable pull after authorizing is OutcomeUnknown, never Declined") {
  for (bool by_bus : {false, true}) {
    INFO((by_bus ? "the bus drops the device" : "the reader drops its link"));
    hwsim::DeviceConfig cfg;
    cfg.authorize_delay = 300ms;  // the reader is deciding when the cable goes
    UsbHarnessOptions u;
    u.auto_replug = false;
    UsbHarness h(cfg, fast_options(), u);
    REQUIRE(h.connect());
    h.device.queue_payment(scripted_card("insufficient_funds"));
    std::optional<Result<CollectOutcome>> got;
    h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), with_deadline(3s),
                            [&](auto r) { got = std::move(r); });
    REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Authorizing); }));
    if (by_bus) {
      h.front_end->unplug();  // URBs in flight end -ESHUTDOWN; the reader loses its link
    } else {
      h.device.unplug();
    }
    REQUIRE(h.run_until([&] { return got.has_value(); }));
    INFO(show(*got));
    REQUIRE(as<OutcomeUnknown>(*got) != nullptr);
    CHECK(h.device.records().back().outcome.rfind("lost:", 0) == 0);
    CHECK(h.usb->stats().transfers_in_flight == 0);
    if (by_bus) CHECK(h.front_end->stats().shutdown >= 1);
  }
}

TEST_CASE("usb: after an unplug the reader reconnects on replug and takes the next payment") {
  ProtocolReaderOptions opts = fast_options();
  opts.reconnect = {true, 50, 10ms, 500ms};
  UsbHarnessOptions u;
  u.auto_replug = false;
  UsbHarness h({}, opts, u);
  REQUIRE(h.connect());
  const std::string first_node = h.front_end->devnode();
  h.front_end->unplug();
  REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Disconnected); }));
  REQUIRE(h.run_until([&] { return h.count(ReaderEventKind::ReconnectAttempt) >= 2; }));
  CHECK(h.reader->status().connection == ConnectionState::Reconnecting);
  REQUIRE(h.front_end->plug());
  REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Reconnected); }));
  CHECK(h.front_end->devnode() != first_node);  // re-enumerated: a new device address
  h.device.queue_payment(scripted_card("visa"));
  CHECK(as<ApprovedToForward>(h.collect(1000)) != nullptr);
  CHECK(h.usb->stats().opens == 2);
}

TEST_CASE("usb: a bulk OUT the reader does not accept in time fails the link, and the collect says nothing was charged") {
  UsbHarnessOptions u;
  u.usb.out_timeout = 80ms;
  u.auto_replug = false;
  UsbHarness h({}, fast_options(), u);
  REQUIRE(h.connect());
  h.function->set_out_nak(true);
  h.device.queue_payment(scripted_card("visa"));
  auto r = h.collect(1000);
  INFO(show(r));
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::Unavailable);
  CHECK_THAT(r.error().message, Catch::Contains("nothing was charged"));
  CHECK(h.usb->stats().out_timeouts == 1);
  CHECK(h.device.collects_received() == 0);
  CHECK(h.reader->status().connection == ConnectionState::Disconnected);
  CHECK(h.usb->stats().transfers_in_flight == 0);
}

TEST_CASE("usb: bulk IN timeouts only re-arm the read, the link and the next payment are unaffected") {
  UsbHarnessOptions u;
  u.usb.in_timeout = 15ms;
  UsbHarness h({}, fast_options(), u);
  REQUIRE(h.connect());
  idle(h, 120ms);
  CHECK(h.usb->stats().in_timeouts >= 2);
  CHECK(h.front_end->stats().discarded >= 2);  // libusb cancels a timed-out URB
  CHECK(h.reader->status().connection == ConnectionState::Connected);
  h.device.queue_payment(scripted_card("amex"));
  CHECK(as<ApprovedToForward>(h.collect(1000)) != nullptr);
}

TEST_CASE("usb: a stalled bulk IN endpoint is cleared and reading resumes") {
  UsbHarness h;
  REQUIRE(h.connect());
  REQUIRE(h.function->stall(h.function->bulk_in_address()));
  REQUIRE(h.run_until([&] { return h.usb->stats().stalls_cleared >= 1; }));
  // CLEAR_HALT is answered at once and reaches the device in order with the URBs after it.
  CHECK(h.run_until([&] { return !h.function->halted(h.function->bulk_in_address()); }));
  CHECK(h.front_end->stats().clear_halts >= 1);
  h.device.queue_payment(scripted_card("visa"));
  CHECK(as<ApprovedToForward>(h.collect(1000)) != nullptr);
  CHECK(h.reader->status().connection == ConnectionState::Connected);
}

TEST_CASE("usb: a stalled bulk OUT endpoint is cleared and the refused frame is sent again, once") {
  UsbHarness h;
  REQUIRE(h.connect());
  REQUIRE(h.function->stall(h.function->bulk_out_address()));
  h.device.queue_payment(scripted_card("visa"));
  auto r = h.collect(1000);
  INFO(show(r));
  CHECK(as<ApprovedToForward>(r) != nullptr);
  CHECK(h.usb->stats().stalls_cleared >= 1);
  CHECK(h.function->stats().bulk_stalls >= 1);
  CHECK(h.device.collects_received() == 1);
}

TEST_CASE("usb: close with transfers in flight cancels and drains them before returning, and no callback runs after") {
  UsbHarness h;
  auto transports = h.usb->factory();
  auto t = transports();
  int bytes_seen = 0, closed_seen = 0;
  std::optional<Status> opened;
  Transport::Callbacks cbs;
  cbs.on_bytes = [&](std::span<const std::uint8_t>) { ++bytes_seen; };
  cbs.on_closed = [&](Error) { ++closed_seen; };
  t->async_open(cbs, [&](Status s) { opened = s; });
  REQUIRE(h.run_until([&] { return opened.has_value(); }));
  REQUIRE(*opened);
  // An OUT the reader will not take, plus the IN that is always armed: two in flight.
  h.function->set_out_nak(true);
  auto hello = protocol::encode(protocol::Envelope{1, protocol::Hello{1, 1, "test"}});
  REQUIRE(hello);
  t->write(*hello);
  REQUIRE(h.run_until([&] { return h.usb->stats().transfers_in_flight == 2; }));
  const auto discarded_before = h.front_end->stats().discarded;
  t->close();
  // The drain is synchronous: nothing is in flight the moment close() returns.
  CHECK(h.usb->stats().transfers_in_flight == 0);
  CHECK(h.front_end->stats().discarded >= discarded_before + 2);
  h.function->set_out_nak(false);
  idle(h, 50ms);
  CHECK(bytes_seen == 0);
  CHECK(closed_seen == 0);
  t.reset();
  idle(h, 10ms);
  CHECK(h.front_end->stats().in_flight == 0);
}

TEST_CASE("usb: destroying a connected reader mid-collect drains its transfers and drops the callback") {
  UsbHarness h;
  REQUIRE(h.connect());
  bool called = false;
  h.reader->async_collect(pos::Money(1000, pos::Currency::of("usd")), with_deadline(3s), [&](auto) { called = true; });
  REQUIRE(h.run_until([&] { return h.device.waiting_for_card(); }));
  CHECK(h.usb->stats().transfers_in_flight >= 1);
  h.reader.reset();
  CHECK(h.usb->stats().transfers_in_flight == 0);
  CHECK(h.usb->stats().links_open == 0);
  idle(h, 30ms);
  CHECK_FALSE(called);
}

TEST_CASE("usb reader specs parse as --reader takes them") {
  auto d = parse_usb_match("usb");
  REQUIRE(d);
  CHECK(d->vendor_id == 0x1209);
  CHECK(d->product_id == 0x0001);
  auto m = parse_usb_match("usb:04b8:0e15");
  REQUIRE(m);
  CHECK(m->vendor_id == 0x04b8);
  CHECK(m->product_id == 0x0e15);
  CHECK_FALSE(m->serial.has_value());
  auto s = parse_usb_match("usb:1209:1:SIM-0001");
  REQUIRE(s);
  CHECK(s->product_id == 1);
  CHECK(s->serial == "SIM-0001");
  for (const char* bad : {"tcp", "usb:", "usb:12345:1", "usb:zz:1", "usb:1209", "usb:1209:1:", "usbx"}) {
    INFO(bad);
    auto r = parse_usb_match(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::InvalidArgument);
  }
}

// ---- soak -------------------------------------------------------------------------------------

TEST_CASE("usb soak: consecutive payments and unplug/replug cycles leak no transfers and no fds", "[soak]") {
#ifdef TILL_LONG_TESTS_ON
  const int payments = 1000;
  const int cycles = 50;
#else
  const int payments = 100;
  const int cycles = 10;
#endif
  {
    hwsim::DeviceConfig cfg;
    cfg.present_delay = cfg.read_delay = cfg.authorize_delay = 0ms;
    ProtocolReaderOptions opts = fast_options();
    opts.reconnect = {true, 100, 5ms, 500ms};
    UsbHarness h(cfg, opts);
    REQUIRE(h.connect());
    const int fds_connected = open_fd_count();
    const char* cards[] = {"visa", "mastercard", "insufficient_funds", "amex", "offline_pin"};
    int approved = 0, declined = 0;
    for (int i = 0; i < payments; ++i) {
      h.device.queue_payment(scripted_card(cards[i % 5], Fault::None,
                                           i % 2 ? hwsim::ReadMethod::Contactless : hwsim::ReadMethod::Contact));
      auto r = h.collect(1000 + (i % 7) * 100);
      REQUIRE(r);
      approved += as<ApprovedToForward>(r) != nullptr;
      declined += as<Declined>(r) != nullptr;
      h.events.clear();
      // One bulk IN always armed, nothing else outstanding between payments.
      REQUIRE(h.usb->stats().transfers_in_flight <= 1);
    }
    CHECK(approved == payments - payments / 5);
    CHECK(declined == payments / 5);
    CHECK(open_fd_count() == fds_connected);

    for (int c = 0; c < cycles; ++c) {
      INFO("cycle " << c);
      h.events.clear();
      h.device.unplug();
      REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Disconnected); }));
      h.device.plug();  // the harness puts it back on the bus
      REQUIRE(h.run_until([&] { return h.saw(ReaderEventKind::Reconnected); }));
      h.device.queue_payment(scripted_card("visa"));
      REQUIRE(as<ApprovedToForward>(h.collect(1000)) != nullptr);
    }
    idle(h, 250ms);  // the front end detaches handlers of old device nodes after its grace
    CHECK(h.usb->stats().opens == 1 + cycles);
    CHECK(h.usb->stats().links_open == 1);
    CHECK(h.usb->stats().transfers_in_flight == 1);
    CHECK(h.front_end->stats().plugs == 1 + cycles);
    CHECK(open_fd_count() == fds_connected);
    const auto submitted = h.usb->stats().transfers_submitted;
    const auto reaped = h.front_end->stats().reaped;
    WARN("usb soak: " << payments << " payments, " << cycles << " replugs, " << submitted << " transfers submitted, "
                      << reaped << " URBs reaped, fds while connected " << fds_connected);
    h.reader.reset();
    CHECK(h.usb->stats().transfers_in_flight == 0);
    CHECK(h.usb->stats().links_open == 0);
    // Every fd the driver opened (libusb context, event machinery, device handles of every
    // link, 1 + cycles of them) is closed again once the reader and its context are gone.
    // (Measured against the rig alone: umockdev itself keeps a socket and an eventfd per
    // device node that was never opened, which is the test rig's, not the driver's.)
    h.close_driver();
    CHECK(open_fd_count() == h.fds_before_driver);
  }
}

