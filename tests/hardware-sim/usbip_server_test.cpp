// The USB/IP server in-process, against a scripted USB/IP client on 127.0.0.1:0 that plays the
// importing kernel (vhci-hcd): devlist, import, descriptor fetch, a reader-protocol Hello and
// Status over the bulk endpoints, pending IN + unlink, and both directions of unplug.
// One io_context, no sleeps: run_until() turns it until a condition holds (with a watchdog).
#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <future>
#include <map>
#include <thread>

#include "till/hwsim/reader_device.hpp"
#include "till/hwsim/usb_function.hpp"
#include "till/hwsim/usbip_server.hpp"
#include "till/terminal/protocol/messages.hpp"

using namespace till;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace u = till::hwsim::usbip;
namespace p = till::terminal::protocol;
using asio::ip::tcp;

namespace {

template <class Pred>
bool run_until(asio::io_context& io, Pred pred, std::chrono::milliseconds limit = 3s) {
  bool expired = false;
  asio::steady_timer watchdog(io, limit);
  watchdog.async_wait([&](auto ec) {
    if (!ec) expired = true;
  });
  while (!pred() && !expired) {
    if (io.run_one() == 0) {
      io.restart();
      break;
    }
  }
  watchdog.cancel();
  io.poll();
  io.restart();
  return pred();
}

// Plays the importing side: writes requests, decodes every reply into `replies`.
struct ScriptedUsbipClient {
  ScriptedUsbipClient(asio::io_context& io, std::uint16_t port) : socket(io) {
    boost::system::error_code ec;
    socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    REQUIRE_FALSE(ec);
    read();
  }
  tcp::socket socket;
  std::array<std::uint8_t, 4096> buffer{};
  std::vector<std::uint8_t> rx;
  std::deque<u::Reply> replies;
  std::map<std::uint32_t, u::Direction> submitted;
  bool closed = false;
  std::string decode_error;
  std::uint32_t next_seq = 1;
  std::uint32_t devid = 0;

  void read() {
    socket.async_read_some(asio::buffer(buffer), [this](auto ec, std::size_t n) {
      if (ec) {
        closed = true;
        return;
      }
      rx.insert(rx.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
      for (;;) {
        auto d = u::decode_reply(rx, [this](std::uint32_t seq) -> std::optional<u::Direction> {
          auto it = submitted.find(seq);
          if (it == submitted.end()) return std::nullopt;
          return it->second;
        });
        if (!d) {
          decode_error = d.error().message;
          closed = true;
          return;
        }
        if (!d->has_value()) break;
        rx.erase(rx.begin(), rx.begin() + static_cast<std::ptrdiff_t>((*d)->size));
        replies.push_back(std::move((*d)->pdu));
      }
      read();
    });
  }

  void send(const u::Request& r) {
    auto b = u::encode(r);
    REQUIRE(b);
    send_raw(*b);
  }
  void send_raw(const std::vector<std::uint8_t>& b) {
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(b), ec);
    REQUIRE_FALSE(ec);
  }

  std::uint32_t submit(std::uint32_t ep, u::Direction dir, std::uint32_t length, std::vector<std::uint8_t> data = {},
                       std::array<std::uint8_t, 8> setup = {}) {
    u::CmdSubmit s;
    s.header = {next_seq++, devid, dir, ep};
    s.transfer_buffer_length = dir == u::Direction::Out ? static_cast<std::uint32_t>(data.size()) : length;
    s.setup = setup;
    s.data = std::move(data);
    submitted[s.header.seqnum] = dir;
    send(s);
    return s.header.seqnum;
  }
  std::uint32_t control_in(hwsim::UsbSetup setup) {
    return submit(0, u::Direction::In, setup.length, {}, setup.bytes());
  }
  std::uint32_t control_out(hwsim::UsbSetup setup) { return submit(0, u::Direction::Out, 0, {}, setup.bytes()); }
  std::uint32_t unlink(std::uint32_t victim) {
    const auto seq = next_seq++;
    send(u::CmdUnlink{{seq, devid, u::Direction::Out, 0}, victim});
    return seq;
  }

  // The RET_SUBMIT / RET_UNLINK with this seqnum, once it arrived.
  template <class T>
  const T* find(std::uint32_t seqnum) const {
    for (const auto& r : replies)
      if (const auto* t = std::get_if<T>(&r); t && t->header.seqnum == seqnum) return t;
    return nullptr;
  }
  template <class T>
  const T* first() const {
    for (const auto& r : replies)
      if (const auto* t = std::get_if<T>(&r)) return t;
    return nullptr;
  }
  // Index of the reply with this seqnum in arrival order (-1 if none).
  int position(std::uint32_t seqnum) const {
    for (std::size_t i = 0; i < replies.size(); ++i)
      if (const auto* r = std::get_if<u::RetSubmit>(&replies[i]); r && r->header.seqnum == seqnum)
        return static_cast<int>(i);
    return -1;
  }
};

struct Rig {
  Rig() : function(device, hwsim::asio_scheduler(io)), server(io, function) {
    auto port = server.listen("127.0.0.1", 0);
    REQUIRE(port);
    this->port = *port;
  }
  asio::io_context io;
  hwsim::ReaderDevice device;
  hwsim::UsbFunction function;
  hwsim::UsbipServer server;
  std::uint16_t port = 0;

  std::unique_ptr<ScriptedUsbipClient> client() { return std::make_unique<ScriptedUsbipClient>(io, port); }

  // Import plus what the kernel does next: SET_CONFIGURATION(1) (vhci handles SET_ADDRESS).
  std::unique_ptr<ScriptedUsbipClient> imported() {
    auto c = client();
    c->send(u::OpReqImport{"1-1"});
    REQUIRE(run_until(io, [&] { return !c->replies.empty(); }));
    const auto* rep = std::get_if<u::OpRepImport>(&c->replies.front());
    REQUIRE(rep);
    REQUIRE(rep->status == 0);
    REQUIRE(rep->device);
    c->devid = rep->device->devid();
    c->replies.clear();
    const auto seq = c->control_out({0x00, 0x09, 1, 0, 0});
    REQUIRE(run_until(io, [&] { return c->find<u::RetSubmit>(seq) != nullptr; }));
    REQUIRE(c->find<u::RetSubmit>(seq)->status == 0);
    return c;
  }
};

std::vector<std::uint8_t> frame(std::uint16_t seq, p::Message m) {
  auto b = p::encode(p::Envelope{seq, std::move(m)});
  REQUIRE(b);
  return *b;
}

std::vector<p::Envelope> decode_frames(const std::vector<std::uint8_t>& bytes) {
  p::MessageDecoder dec;
  dec.feed(bytes);
  std::vector<p::Envelope> out;
  while (auto m = dec.next()) {
    REQUIRE(*m);
    out.push_back(**m);
  }
  return out;
}

constexpr std::uint32_t kIn = 1;   // bulk IN 0x81
constexpr std::uint32_t kOut = 2;  // bulk OUT 0x02

}  // namespace

TEST_CASE("usbip server lists the reader, then closes, and refuses to import another busid") {
  Rig rig;
  auto c = rig.client();
  c->send(u::OpReqDevlist{});
  REQUIRE(run_until(rig.io, [&] { return c->closed; }));
  CHECK(c->decode_error.empty());
  const auto* list = c->first<u::OpRepDevlist>();
  REQUIRE(list);
  REQUIRE(list->devices.size() == 1);
  const auto& d = list->devices[0];
  CHECK(d.busid == "1-1");
  CHECK(d.id_vendor == rig.function.config().vendor_id);
  CHECK(d.id_product == rig.function.config().product_id);
  CHECK(d.speed == u::Speed::High);
  REQUIRE(d.interfaces.size() == 1);
  CHECK(d.interfaces[0].interface_class == 0xff);
  CHECK_FALSE(rig.function.plugged());  // listing does not plug anything

  auto other = rig.client();
  other->send(u::OpReqImport{"9-9"});
  REQUIRE(run_until(rig.io, [&] { return other->closed; }));
  const auto* rep = other->first<u::OpRepImport>();
  REQUIRE(rep);
  CHECK(rep->status != 0);
  CHECK_FALSE(rep->device);
  CHECK(rig.server.stats().refused_imports == 1);
  CHECK_FALSE(rig.server.imported());
}

TEST_CASE("usbip import plugs the reader in and ep0 answers the descriptor requests of enumeration") {
  Rig rig;
  auto c = rig.client();
  c->send(u::OpReqImport{"1-1"});
  REQUIRE(run_until(rig.io, [&] { return !c->replies.empty(); }));
  const auto* rep = std::get_if<u::OpRepImport>(&c->replies.front());
  REQUIRE(rep);
  REQUIRE(rep->status == 0);
  CHECK(rep->device->devid() == (1u << 16 | 2u));
  CHECK(rep->device->interfaces.empty());
  CHECK(rig.server.imported());
  CHECK(rig.function.plugged());
  CHECK(rig.device.attached());
  c->devid = rep->device->devid();

  const auto dev = c->control_in({0x80, 0x06, 0x0100, 0, 64});  // GET_DESCRIPTOR(device), as usbcore asks first
  const auto cfg9 = c->control_in({0x80, 0x06, 0x0200, 0, 9});
  const auto vendor = c->control_in({0xc0, 0x42, 0, 0, 4});      // a vendor request: stalls
  const auto set_cfg = c->control_out({0x00, 0x09, 1, 0, 0});
  const auto nowhere = c->submit(5, u::Direction::In, 64);          // no such endpoint: stalls
  REQUIRE(run_until(rig.io, [&] { return c->find<u::RetSubmit>(nowhere) != nullptr; }));

  const auto* d = c->find<u::RetSubmit>(dev);
  REQUIRE(d);
  CHECK(d->status == 0);
  CHECK(d->data == rig.function.descriptors().device);  // 18 bytes, although 64 were asked for
  CHECK(d->actual_length == 18);
  const auto* c9 = c->find<u::RetSubmit>(cfg9);
  REQUIRE(c9);
  REQUIRE(c9->data.size() == 9);
  CHECK(c9->data[1] == 2);
  CHECK(c->find<u::RetSubmit>(vendor)->status == -u::kEPIPE);
  CHECK(c->find<u::RetSubmit>(set_cfg)->status == 0);
  CHECK(rig.function.configuration_value() == 1);
  CHECK(c->find<u::RetSubmit>(nowhere)->status == -u::kEPIPE);

  // A devid that is not the imported device's.
  c->devid = 0x00090009;
  const auto wrong = c->control_in({0x80, 0x06, 0x0100, 0, 18});
  REQUIRE(run_until(rig.io, [&] { return c->find<u::RetSubmit>(wrong) != nullptr; }));
  CHECK(c->find<u::RetSubmit>(wrong)->status == -u::kENODEV);
}

TEST_CASE("usbip carries a reader-protocol Hello and Status over the bulk endpoints, IN answered out of order") {
  Rig rig;
  auto c = rig.imported();
  // The host keeps a bulk IN pending before it writes, as a driver's read loop does.
  const auto in1 = c->submit(kIn, u::Direction::In, 512);
  run_until(rig.io, [] { return false; }, 20ms);
  CHECK(c->find<u::RetSubmit>(in1) == nullptr);  // nothing to read yet: pending like a NAK

  p::Hello hello;
  hello.host = "usbip test";
  const auto out1 = c->submit(kOut, u::Direction::Out, 0, frame(1, hello));
  REQUIRE(run_until(rig.io, [&] { return c->find<u::RetSubmit>(in1) != nullptr; }));
  const auto* o = c->find<u::RetSubmit>(out1);
  REQUIRE(o);
  CHECK(o->status == 0);
  CHECK(o->actual_length == frame(1, hello).size());
  CHECK(c->position(out1) < c->position(in1));  // the later OUT was answered first

  const auto* i = c->find<u::RetSubmit>(in1);
  CHECK(i->status == 0);
  auto frames = decode_frames(i->data);
  REQUIRE(frames.size() == 1);
  const auto* reply = std::get_if<p::HelloReply>(&frames[0].message);
  REQUIRE(reply);
  CHECK(reply->serial == "SIM-0001");
  CHECK(frames[0].seq == 1);

  c->submit(kOut, u::Direction::Out, 0, frame(2, p::StatusRequest{}));
  const auto in2 = c->submit(kIn, u::Direction::In, 512);
  REQUIRE(run_until(rig.io, [&] { return c->find<u::RetSubmit>(in2) != nullptr; }));
  frames = decode_frames(c->find<u::RetSubmit>(in2)->data);
  REQUIRE(frames.size() == 1);
  const auto* status = std::get_if<p::StatusMessage>(&frames[0].message);
  REQUIRE(status);
  CHECK(status->battery_percent == 100);
  CHECK(rig.server.stats().protocol_errors == 0);
}

TEST_CASE("usbip unlink of a pending IN answers -ECONNRESET and that URB never completes") {
  Rig rig;
  auto c = rig.imported();
  const auto victim = c->submit(kIn, u::Direction::In, 512);
  const auto unlink = c->unlink(victim);
  REQUIRE(run_until(rig.io, [&] { return c->find<u::RetUnlink>(unlink) != nullptr; }));
  CHECK(c->find<u::RetUnlink>(unlink)->status == -u::kECONNRESET);

  // The device now has something to say; the unlinked URB must not carry it.
  const auto out = c->submit(kOut, u::Direction::Out, 0, frame(1, p::Hello{}));
  REQUIRE(run_until(rig.io, [&] { return c->find<u::RetSubmit>(out) != nullptr && rig.function.in_pending_bytes() > 0; }));
  CHECK(c->find<u::RetSubmit>(victim) == nullptr);

  const auto next = c->submit(kIn, u::Direction::In, 512);
  REQUIRE(run_until(rig.io, [&] { return c->find<u::RetSubmit>(next) != nullptr; }));
  CHECK(std::holds_alternative<p::HelloReply>(decode_frames(c->find<u::RetSubmit>(next)->data).at(0).message));
  CHECK(c->find<u::RetSubmit>(victim) == nullptr);

  // Unlinking an URB that was already answered is too late: status 0.
  const auto late = c->unlink(next);
  REQUIRE(run_until(rig.io, [&] { return c->find<u::RetUnlink>(late) != nullptr; }));
  CHECK(c->find<u::RetUnlink>(late)->status == 0);
  CHECK(rig.server.stats().unlinked_pending == 1);
  CHECK(rig.server.stats().unlinks == 2);
}

TEST_CASE("usbip refuses a second importer while the first holds the reader") {
  Rig rig;
  auto first = rig.imported();
  auto second = rig.client();
  second->send(u::OpReqImport{"1-1"});
  REQUIRE(run_until(rig.io, [&] { return second->closed; }));
  const auto* rep = second->first<u::OpRepImport>();
  REQUIRE(rep);
  CHECK(rep->status != 0);
  CHECK(rig.server.imported());
  CHECK_FALSE(first->closed);
}

TEST_CASE("usbip: the device unplugging closes the host's connection after what it already sent") {
  Rig rig;
  auto c = rig.imported();
  const auto in = c->submit(kIn, u::Direction::In, 512);
  c->submit(kOut, u::Direction::Out, 0, frame(1, p::Hello{}));
  REQUIRE(run_until(rig.io, [&] { return c->find<u::RetSubmit>(in) != nullptr; }));
  const auto pending = c->submit(kIn, u::Direction::In, 512);
  run_until(rig.io, [] { return false; }, 10ms);
  rig.device.unplug();
  REQUIRE(run_until(rig.io, [&] { return c->closed; }));
  CHECK(c->decode_error.empty());
  CHECK(c->find<u::RetSubmit>(pending) == nullptr);  // vhci-hcd fails it itself on the disconnect
  CHECK_FALSE(rig.server.imported());
  CHECK_FALSE(rig.function.plugged());
  CHECK(rig.server.stats().device_unplugs == 1);

  // Unplugged, the device refuses a new import; plugged back, it can be imported again.
  auto again = rig.client();
  again->send(u::OpReqImport{"1-1"});
  REQUIRE(run_until(rig.io, [&] { return again->closed; }));
  CHECK(again->first<u::OpRepImport>()->status != 0);
  rig.device.plug();
  auto back = rig.imported();
  CHECK(rig.server.imported());
}

TEST_CASE("usbip: the host closing its socket unplugs the device, and it can be imported again") {
  Rig rig;
  auto c = rig.imported();
  REQUIRE(rig.device.attached());
  c->socket.close();
  REQUIRE(run_until(rig.io, [&] { return !rig.server.imported(); }));
  CHECK_FALSE(rig.function.plugged());
  CHECK_FALSE(rig.device.attached());
  auto again = rig.imported();
  CHECK(rig.device.attached());
  CHECK(rig.server.stats().imports == 2);
}

TEST_CASE("usbip closes the connection on a malformed or misplaced PDU") {
  Rig rig;
  SECTION("garbage") {
    auto c = rig.client();
    c->send_raw({0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0});
    REQUIRE(run_until(rig.io, [&] { return c->closed; }));
  }
  SECTION("a URB before any import") {
    auto c = rig.client();
    c->submit(0, u::Direction::In, 18, {}, hwsim::UsbSetup{0x80, 0x06, 0x0100, 0, 18}.bytes());
    REQUIRE(run_until(rig.io, [&] { return c->closed; }));
    CHECK(c->replies.empty());
  }
  SECTION("a handshake request after the import, which also unplugs the device") {
    auto c = rig.imported();
    c->send(u::OpReqDevlist{});
    REQUIRE(run_until(rig.io, [&] { return c->closed; }));
    CHECK_FALSE(rig.server.imported());
    CHECK_FALSE(rig.device.attached());
  }
  SECTION("an oversized transfer length") {
    auto c = rig.imported();
    auto b = u::encode(u::Request(u::CmdSubmit{{99, c->devid, u::Direction::Out, kOut}, 0, 0, 0, 0, 0, {}, {}}));
    REQUIRE(b);
    (*b)[24] = 0x7f;  // transfer_buffer_length ~2 GB
    c->send_raw(*b);
    REQUIRE(run_until(rig.io, [&] { return c->closed; }));
  }
  CHECK(rig.server.stats().protocol_errors == 1);
}

TEST_CASE("usbip with its sockets on their own thread answers control and unlink while the device's thread is busy") {
  // The device's thread here is the test thread, and it only turns device_io when it says so:
  // in between, the device thread is "blocked" (as a libusb call blocks the kernel's host in the
  // tier-2 VM) and the server must still answer what does not need the device model.
  asio::io_context device_io, net_io, client_io;
  hwsim::ReaderDevice device;
  hwsim::DeviceThreadGuard guard(device);
  hwsim::UsbFunction function(guard.device(), guard.scheduler(device_io));
  hwsim::UsbipServer server(net_io, device_io, function, guard);
  auto port = server.listen("127.0.0.1", 0);
  REQUIRE(port);
  auto work = asio::make_work_guard(net_io);
  std::thread net([&] { net_io.run(); });

  auto turn = [&](auto pred, bool device_runs, int slices = 1500) {
    for (int i = 0; i < slices && !pred(); ++i) {
      if (device_runs) {
        device_io.poll();
        device_io.restart();
      }
      client_io.run_for(2ms);
      client_io.restart();
    }
    return pred();
  };

  {
    ScriptedUsbipClient c(client_io, *port);
    c.send(u::OpReqImport{"1-1"});
    REQUIRE(turn([&] { return !c.replies.empty(); }, true));  // plugging in needs the device thread
    const auto* rep = std::get_if<u::OpRepImport>(&c.replies.front());
    REQUIRE(rep);
    REQUIRE(rep->status == 0);
    c.devid = rep->device->devid();
    CHECK(device.attached());

    // Device thread blocked from here on: control and unlink are still answered.
    const auto cfg = c.control_out({0x00, 0x09, 1, 0, 0});
    const auto desc = c.control_in({0x80, 0x06, 0x0100, 0, 18});
    const auto in = c.submit(kIn, u::Direction::In, 512);
    const auto unlink = c.unlink(in);
    REQUIRE(turn([&] { return c.find<u::RetUnlink>(unlink) != nullptr; }, false));
    CHECK(c.find<u::RetSubmit>(cfg)->status == 0);
    CHECK(c.find<u::RetSubmit>(desc)->data.size() == 18);
    CHECK(c.find<u::RetUnlink>(unlink)->status == -u::kECONNRESET);
    CHECK(c.find<u::RetSubmit>(in) == nullptr);

    // An OUT needs the device model, so it waits for the device thread, then completes in order.
    const auto in2 = c.submit(kIn, u::Direction::In, 512);
    const auto out = c.submit(kOut, u::Direction::Out, 0, frame(1, p::Hello{}));
    turn([] { return false; }, false, 25);
    CHECK(c.find<u::RetSubmit>(out) == nullptr);
    REQUIRE(turn([&] { return c.find<u::RetSubmit>(in2) != nullptr; }, true));
    CHECK(c.find<u::RetSubmit>(out)->status == 0);
    CHECK(std::holds_alternative<p::HelloReply>(decode_frames(c.find<u::RetSubmit>(in2)->data).at(0).message));

    // A cable pull on the device thread reaches the host as a closed connection.
    device.unplug();
    REQUIRE(turn([&] { return c.closed; }, true));
    CHECK_FALSE(server.imported());
    CHECK(server.stats().device_unplugs == 1);
  }

  std::promise<void> stopped;
  asio::post(net_io, [&] {
    server.stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  work.reset();
  net_io.stop();
  net.join();
}
