// hwsim::UsbFunction on its own: descriptors, standard requests on ep0, bulk transfers to and
// from the real ReaderDevice, stalls, NAKs and a cable pull. No USB stack and no event loop: a
// hand-run scheduler fires deferred work, so every step is deterministic.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

#include "till/hwsim/reader_device.hpp"
#include "till/hwsim/usb_function.hpp"
#include "till/terminal/protocol/messages.hpp"

using namespace till;
using hwsim::UsbFunction;
using hwsim::UsbReply;
using hwsim::UsbSetup;
namespace p = till::terminal::protocol;

namespace {

// Deferred work on a virtual clock: run_all() fires everything in due order (ties in FIFO
// order), advancing the virtual time; the test decides when time passes.
struct ManualScheduler {
  struct Item {
    std::int64_t due;
    std::uint64_t seq;
    std::function<void()> fn;
  };
  std::vector<Item> queue;
  std::int64_t now = 0;
  std::uint64_t next_seq = 0;
  UsbFunction::Scheduler fn() {
    return [this](std::chrono::milliseconds d, std::function<void()> f) {
      queue.push_back({now + d.count(), next_seq++, std::move(f)});
    };
  }
  int run_all(int limit = 10'000) {
    int n = 0;
    while (!queue.empty() && n < limit) {
      auto it = std::min_element(queue.begin(), queue.end(), [](const Item& a, const Item& b) {
        return a.due != b.due ? a.due < b.due : a.seq < b.seq;
      });
      Item item = std::move(*it);
      queue.erase(it);
      now = std::max(now, item.due);
      item.fn();
      ++n;
    }
    return n;
  }
};

UsbSetup setup(std::uint8_t type, std::uint8_t req, std::uint16_t value, std::uint16_t index, std::uint16_t length) {
  return UsbSetup{type, req, value, index, length};
}

struct Rig {
  explicit Rig(hwsim::UsbFunctionConfig cfg = {}) : function(device, sched.fn(), std::move(cfg)) {
    function.set_in_ready([this] { ++in_ready; });
    function.set_out_ready([this] { ++out_ready; });
    function.set_unplugged([this] { ++unplugged; });
  }
  // What the kernel does when the device appears: address, then configuration 1.
  void enumerate() {
    REQUIRE(function.plug());
    REQUIRE(function.control(setup(0x00, 0x05, 7, 0, 0)).ok());
    REQUIRE(function.control(setup(0x00, 0x09, 1, 0, 0)).ok());
  }
  void send(std::uint16_t seq, p::Message m) {
    auto bytes = p::encode(p::Envelope{seq, std::move(m)});
    REQUIRE(bytes);
    REQUIRE(function.bulk_out(*bytes) == hwsim::kUsbOk);
  }
  // Reads every byte the device has queued, in max_len chunks, and decodes it.
  std::vector<p::Envelope> read_all(std::size_t max_len = 512) {
    std::vector<p::Envelope> out;
    while (auto r = function.bulk_in(max_len)) {
      if (r->status == hwsim::kUsbShutdown) break;  // left the bus after the last byte
      REQUIRE(r->ok());
      REQUIRE(r->data.size() <= max_len);
      decoder.feed(r->data);
    }
    while (auto m = decoder.next()) {
      REQUIRE(*m);
      out.push_back(**m);
    }
    return out;
  }

  hwsim::ReaderDevice device;
  ManualScheduler sched;
  UsbFunction function;
  p::MessageDecoder decoder;
  int in_ready = 0, out_ready = 0, unplugged = 0;
};

}  // namespace

TEST_CASE("usb function descriptors carry the configured identity and one bulk IN and OUT endpoint") {
  hwsim::UsbFunctionConfig cfg;
  cfg.bulk_in_endpoint = 0x83;
  cfg.bulk_out_endpoint = 0x04;
  cfg.serial = "SIM-0042";
  hwsim::ReaderDevice device;
  ManualScheduler sched;
  UsbFunction f(device, sched.fn(), cfg);
  const auto& d = f.descriptors();
  REQUIRE(d.device.size() == 18);
  CHECK(d.device[0] == 18);
  CHECK(d.device[1] == 1);
  CHECK((d.device[8] | d.device[9] << 8) == 0x1209);
  CHECK((d.device[10] | d.device[11] << 8) == 0x0001);
  CHECK(d.device[17] == 1);  // one configuration
  REQUIRE(d.configuration.size() == 32);
  CHECK((d.configuration[2] | d.configuration[3] << 8) == 32);  // wTotalLength
  CHECK(d.configuration[5] == 1);                                // bConfigurationValue
  CHECK(d.configuration[9 + 5] == 0xFF);                         // vendor-specific interface
  CHECK(d.configuration[18 + 2] == 0x83);
  CHECK(d.configuration[18 + 3] == 0x02);  // bulk
  CHECK((d.configuration[18 + 4] | d.configuration[18 + 5] << 8) == 512);
  CHECK(d.configuration[25 + 2] == 0x04);
  CHECK(d.sysfs().size() == 50);
  REQUIRE(d.strings.size() == 4);
  CHECK(d.strings[3] == std::vector<std::uint8_t>{18, 3, 'S', 0, 'I', 0, 'M', 0, '-', 0, '0', 0, '0', 0, '4', 0, '2', 0});
  CHECK(f.bulk_in_address() == 0x83);
  CHECK(f.bulk_out_address() == 0x04);

  hwsim::UsbFunctionConfig full;
  full.speed = hwsim::UsbSpeed::Full;
  UsbFunction g(device, sched.fn(), full);
  CHECK((g.descriptors().configuration[18 + 4] | g.descriptors().configuration[18 + 5] << 8) == 64);
  CHECK(g.descriptors().device_qualifier.empty());
  CHECK(hwsim::usbip_speed(hwsim::UsbSpeed::High) == 3);
  CHECK(hwsim::sysfs_speed(hwsim::UsbSpeed::Full) == 12);
}

TEST_CASE("usb function answers the standard requests of enumeration and stalls everything else") {
  Rig r;
  // Off the bus: every transfer says the device is gone.
  CHECK(r.function.control(setup(0x80, 0x06, 0x0100, 0, 18)).status == hwsim::kUsbShutdown);
  REQUIRE(r.function.plug());
  CHECK_FALSE(r.function.plug());  // already on the bus

  // The first GET_DESCRIPTOR asks for 8 bytes (ep0 max packet); the reply is truncated.
  auto dev8 = r.function.control(setup(0x80, 0x06, 0x0100, 0, 8));
  REQUIRE(dev8.ok());
  CHECK(dev8.data.size() == 8);
  CHECK(dev8.data[7] == 64);
  REQUIRE(r.function.control(setup(0x00, 0x05, 9, 0, 0)).ok());
  CHECK(r.function.address() == 9);
  CHECK(r.function.control(setup(0x80, 0x06, 0x0200, 0, 255)).data.size() == 32);
  CHECK(r.function.control(setup(0x80, 0x06, 0x0600, 0, 10)).data.size() == 10);  // qualifier
  auto serial = r.function.control(setup(0x80, 0x06, 0x0303, 0x0409, 255));
  REQUIRE(serial.ok());
  CHECK(serial.data[0] == 2 + 2 * 8);  // "SIM-0001"
  CHECK(r.function.control(setup(0x80, 0x06, 0x0300, 0, 255)).data == std::vector<std::uint8_t>{4, 3, 0x09, 0x04});
  CHECK(r.function.control(setup(0x80, 0x06, 0x0309, 0x0409, 255)).stalled());  // no such string

  // Unconfigured: the interface does not exist yet, bulk endpoints stall.
  CHECK(r.function.control(setup(0x81, 0x0A, 0, 0, 1)).stalled());
  CHECK(r.function.bulk_out(std::vector<std::uint8_t>{1}) == hwsim::kUsbStall);
  CHECK(r.function.control(setup(0x80, 0x08, 0, 0, 1)).data == std::vector<std::uint8_t>{0});
  CHECK(r.function.control(setup(0x00, 0x09, 2, 0, 0)).stalled());  // no configuration 2
  REQUIRE(r.function.control(setup(0x00, 0x09, 1, 0, 0)).ok());
  CHECK(r.function.configuration_value() == 1);
  CHECK(r.function.control(setup(0x80, 0x08, 0, 0, 1)).data == std::vector<std::uint8_t>{1});
  CHECK(r.function.control(setup(0x81, 0x0A, 0, 0, 1)).data == std::vector<std::uint8_t>{0});
  CHECK(r.function.control(setup(0x01, 0x0B, 0, 0, 0)).ok());       // SET_INTERFACE alt 0
  CHECK(r.function.control(setup(0x01, 0x0B, 1, 0, 0)).stalled());  // no alt 1
  CHECK(r.function.control(setup(0x80, 0x00, 0, 0, 2)).data == std::vector<std::uint8_t>{0, 0});

  // Class and vendor requests, and unknown standard ones, stall.
  const int stalls_before = r.function.stats().control_stalls;
  CHECK(r.function.control(setup(0xC0, 0x01, 0, 0, 4)).stalled());
  CHECK(r.function.control(setup(0x21, 0x09, 0, 0, 0)).stalled());
  CHECK(r.function.control(setup(0x80, 0x0C, 0, 0, 2)).stalled());  // SYNCH_FRAME
  CHECK(r.function.control(setup(0x00, 0x03, 1, 0, 0)).stalled());  // SET_FEATURE remote wakeup
  CHECK(r.function.stats().control_stalls == stalls_before + 4);
}

TEST_CASE("usb function carries protocol frames between bulk endpoints and the reader device") {
  Rig r;
  r.enumerate();
  CHECK_FALSE(r.function.bulk_in(512).has_value());  // nothing yet: the IN stays pending
  r.send(1, p::Hello{1, 1, "test"});
  r.sched.run_all();
  CHECK(r.in_ready == 1);
  CHECK(r.function.in_pending_bytes() > 0);
  // Read in small chunks: any chunking reassembles.
  auto got = r.read_all(7);
  REQUIRE(got.size() == 1);
  REQUIRE(std::holds_alternative<p::HelloReply>(got[0].message));
  CHECK(std::get<p::HelloReply>(got[0].message).serial == "SIM-0001");
  CHECK(r.function.stats().bytes_out > 0);
  CHECK(r.function.stats().bytes_in > 0);

  // A whole payment: collect, the scripted card, the result.
  r.device.queue_payment(hwsim::scripted_card("visa"));
  r.send(2, p::Collect{1000, "usd", false, 5000});
  r.sched.run_all();
  auto msgs = r.read_all();
  bool result = false;
  for (const auto& m : msgs)
    if (const auto* res = std::get_if<p::CollectResult>(&m.message)) {
      result = true;
      CHECK(res->outcome == p::Outcome::Approved);
      CHECK(res->request_seq == 2);
    }
  CHECK(result);
}

TEST_CASE("usb function stalls a halted endpoint until the host clears the halt") {
  Rig r;
  r.enumerate();
  REQUIRE(r.function.stall(0x81));
  CHECK_FALSE(r.function.stall(0x05));
  r.sched.run_all();
  CHECK(r.in_ready == 1);  // a pending IN must learn about the stall
  auto in = r.function.bulk_in(512);
  REQUIRE(in);
  CHECK(in->stalled());
  CHECK(r.function.control(setup(0x82, 0x00, 0, 0x81, 2)).data == std::vector<std::uint8_t>{1, 0});

  REQUIRE(r.function.stall(0x02));
  auto bytes = p::encode(p::Envelope{1, p::Hello{1, 1, "test"}});
  REQUIRE(bytes);
  CHECK(r.function.bulk_out(*bytes) == hwsim::kUsbStall);
  r.sched.run_all();
  CHECK(r.function.in_pending_bytes() == 0);  // nothing reached the device

  // CLEAR_FEATURE(ENDPOINT_HALT) on both; the resent frame now gets its answer.
  REQUIRE(r.function.control(setup(0x02, 0x01, 0, 0x81, 0)).ok());
  REQUIRE(r.function.control(setup(0x02, 0x01, 0, 0x02, 0)).ok());
  CHECK(r.function.stats().halts_cleared == 2);
  CHECK_FALSE(r.function.halted(0x81));
  CHECK(r.function.control(setup(0x02, 0x01, 0, 0x07, 0)).stalled());  // not our endpoint
  REQUIRE(r.function.bulk_out(*bytes) == hwsim::kUsbOk);
  r.sched.run_all();
  CHECK(r.read_all().size() == 1);
  CHECK(r.function.stats().bulk_stalls == 2);
}

TEST_CASE("usb function NAKs OUT while the device does not accept data") {
  Rig r;
  r.enumerate();
  r.function.set_out_nak(true);
  auto bytes = p::encode(p::Envelope{1, p::Hello{1, 1, "test"}});
  REQUIRE(bytes);
  CHECK_FALSE(r.function.bulk_out(*bytes).has_value());
  r.function.set_out_nak(false);
  r.sched.run_all();
  CHECK(r.out_ready == 1);
  CHECK(r.function.bulk_out(*bytes) == hwsim::kUsbOk);
}

TEST_CASE("a cable pull drains what the device already sent, then leaves the bus and tells the front end") {
  Rig r;
  r.enumerate();
  r.send(1, p::Hello{1, 1, "test"});
  r.sched.run_all();
  REQUIRE(r.function.in_pending_bytes() > 0);
  r.device.unplug();
  CHECK(r.function.plugged());  // still draining
  CHECK_FALSE(r.device.attached());
  r.sched.queue.clear();  // the drain-limit timer: the host reads first here
  CHECK(r.read_all().size() == 1);
  CHECK_FALSE(r.function.plugged());
  r.sched.run_all();
  CHECK(r.unplugged == 1);
  CHECK(r.function.bulk_in(512)->status == hwsim::kUsbShutdown);
  CHECK(r.function.bulk_out(std::vector<std::uint8_t>{1}) == hwsim::kUsbShutdown);

  // The device refuses a link while unplugged; once plugged back, the function enumerates again.
  CHECK_FALSE(r.function.plug());
  r.device.plug();
  r.enumerate();
  r.send(1, p::Hello{1, 1, "test"});
  r.sched.run_all();
  CHECK(r.read_all().size() == 1);
  CHECK(r.function.stats().unplugs == 1);
  CHECK(r.function.stats().plugs == 2);
}

TEST_CASE("a cable pull with nobody reading leaves the bus after the drain limit") {
  Rig r;
  r.enumerate();
  r.send(1, p::Hello{1, 1, "test"});
  r.sched.run_all();
  r.device.unplug();
  CHECK(r.function.plugged());
  r.sched.run_all();  // the drain-limit timer fires
  CHECK_FALSE(r.function.plugged());
  CHECK(r.unplugged == 1);
  CHECK(r.function.in_pending_bytes() == 0);
}

TEST_CASE("a front-end unplug detaches the device without an unplugged callback") {
  Rig r;
  r.enumerate();
  CHECK(r.device.attached());
  r.function.unplug();
  CHECK_FALSE(r.device.attached());
  r.sched.run_all();
  CHECK(r.unplugged == 0);
  CHECK(r.device.plugged());
  r.enumerate();
}
