// Runs INSIDE the tier-2 VM (scripts/usb-vm/usbvm.py): the simulated reader is exported by our
// USB/IP server on 127.0.0.1, attached to the real kernel through vhci-hcd, enumerated by the
// real usbcore and udevd, and driven here through plain libusb-1.0 (Debian's, usbfs backend):
// hotplug arrival, claim (retried: right after arrival the kernel may not have configured the
// device yet), a reader-protocol Hello/Status over the bulk endpoints read from the descriptors,
// a timed-out IN (the kernel unlinks it) that must not swallow later data, and an unplug.
//
// The io_context runs on its own thread here (libusb's synchronous calls block this one); the
// device, function and server are touched only on that thread (through post + future).
#include <catch2/catch.hpp>

#include <libusb.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "till/hwsim/reader_device.hpp"
#include "till/hwsim/usb_function.hpp"
#include "till/hwsim/usbip_server.hpp"
#include "till/terminal/protocol/messages.hpp"
#include "vhci_attach.hpp"

using namespace till;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace p = till::terminal::protocol;

namespace {

struct Loop {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::thread thread;
  Loop() : thread([this] { io.run(); }) {}
  ~Loop() {
    work.reset();
    io.stop();
    thread.join();
  }
  // Runs fn on the loop thread and waits for its result.
  template <class F>
  auto call(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto f = task.get_future();
    asio::post(io, [&task] { task(); });
    return f.get();
  }
};

struct Hotplug {
  int arrived = 0;
  int left = 0;
  static int callback(libusb_context*, libusb_device*, libusb_hotplug_event event, void* self) {
    auto* h = static_cast<Hotplug*>(self);
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED) ++h->arrived;
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT) ++h->left;
    return 0;
  }
};

// Turns libusb's event loop until pred holds or `limit` passed (steady clock: this waits on the
// kernel and udevd, whose pace the test does not control).
template <class Pred>
bool pump(libusb_context* ctx, Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < deadline) {
    timeval tv{0, 50'000};
    const int rc = libusb_handle_events_timeout_completed(ctx, &tv, nullptr);
    if (rc != 0) UNSCOPED_INFO("libusb_handle_events: " << libusb_error_name(rc));
  }
  return pred();
}

std::vector<std::uint8_t> frame(std::uint16_t seq, p::Message m) {
  auto b = p::encode(p::Envelope{seq, std::move(m)});
  REQUIRE(b);
  return *b;
}

// Reads until one whole frame decoded (or a transfer fails).
std::optional<p::Envelope> read_frame(libusb_device_handle* h, std::uint8_t ep, int* last_error) {
  p::MessageDecoder dec;
  for (int i = 0; i < 20; ++i) {
    std::uint8_t buf[512];
    int got = 0;
    *last_error = libusb_bulk_transfer(h, ep, buf, sizeof buf, &got, 2000);
    if (*last_error != 0) return std::nullopt;
    dec.feed(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(got)));
    if (auto m = dec.next()) {
      if (*m) return **m;
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("usb tier 2 probe: the kernel enumerates the simulated reader over vhci-hcd and libusb exchanges a Hello") {
  REQUIRE(usbvm::vhci_available());  // this binary only makes sense inside the usb VM

  Loop loop;
  hwsim::ReaderDevice device;
  hwsim::UsbFunction function(device, hwsim::asio_scheduler(loop.io));
  hwsim::UsbipServer server(loop.io, function);
  const auto port = loop.call([&] { return server.listen("127.0.0.1", 0); });
  REQUIRE(port);
  const std::uint16_t vid = function.config().vendor_id;
  const std::uint16_t pid = function.config().product_id;

  libusb_context* ctx = nullptr;
  REQUIRE(libusb_init(&ctx) == 0);
  REQUIRE(libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG));
  Hotplug hot;
  libusb_hotplug_callback_handle hh{};
  REQUIRE(libusb_hotplug_register_callback(
              ctx, static_cast<libusb_hotplug_event>(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT),
              LIBUSB_HOTPLUG_NO_FLAGS, vid, pid, LIBUSB_HOTPLUG_MATCH_ANY, &Hotplug::callback, &hot, &hh) == 0);

  std::promise<Result<usbvm::Attached>> attached;
  loop.call([&] {
    usbvm::async_attach(loop.io, *port, "1-1", hwsim::usbip_speed(function.config().speed),
                        [&](Result<usbvm::Attached> r) { attached.set_value(std::move(r)); });
    return 0;
  });
  auto a = attached.get_future().get();
  INFO((a ? std::string("attached") : a.error().describe()));
  REQUIRE(a);

  // Arrival through udev (libusb's hotplug on Debian is libudev's monitor).
  REQUIRE(pump(ctx, [&] { return hot.arrived > 0; }));
  CHECK(usbvm::usb_devices_present(vid, pid) == 1);

  libusb_device_handle* h = libusb_open_device_with_vid_pid(ctx, vid, pid);
  REQUIRE(h != nullptr);

  // Endpoints from the descriptors the kernel read from our server, never hard-coded.
  libusb_device_descriptor dd{};
  REQUIRE(libusb_get_device_descriptor(libusb_get_device(h), &dd) == 0);
  CHECK(dd.idVendor == vid);
  CHECK(dd.bNumConfigurations == 1);
  CHECK(libusb_get_device_speed(libusb_get_device(h)) == LIBUSB_SPEED_HIGH);
  libusb_config_descriptor* cfg = nullptr;
  REQUIRE(libusb_get_config_descriptor(libusb_get_device(h), 0, &cfg) == 0);
  std::uint8_t ep_in = 0, ep_out = 0;
  const auto& alt = cfg->interface[0].altsetting[0];
  CHECK(alt.bInterfaceClass == 0xff);
  for (int i = 0; i < alt.bNumEndpoints; ++i) {
    const auto& ep = alt.endpoint[i];
    if ((ep.bmAttributes & 0x3) != LIBUSB_TRANSFER_TYPE_BULK) continue;
    if (ep.bEndpointAddress & 0x80) ep_in = ep.bEndpointAddress;
    else ep_out = ep.bEndpointAddress;
  }
  const int interface_number = alt.bInterfaceNumber;
  libusb_free_config_descriptor(cfg);
  REQUIRE(ep_in != 0);
  REQUIRE(ep_out != 0);

  // Claim, retried while the kernel finishes configuring the device (usb-testing.md).
  int rc = LIBUSB_ERROR_NOT_FOUND;
  int not_found = 0;
  for (int i = 0; i < 100; ++i) {
    rc = libusb_claim_interface(h, interface_number);
    if (rc != LIBUSB_ERROR_NOT_FOUND && rc != LIBUSB_ERROR_BUSY) break;
    ++not_found;
    pump(ctx, [] { return false; }, 10ms);
  }
  INFO("claim: " << libusb_error_name(rc) << " after " << not_found << " NOT_FOUND/BUSY retries");
  REQUIRE(rc == 0);

  // Hello over bulk OUT, HelloReply over bulk IN.
  p::Hello hello;
  hello.host = "usb-vm probe";
  auto out = frame(1, hello);
  int sent = 0;
  REQUIRE(libusb_bulk_transfer(h, ep_out, out.data(), static_cast<int>(out.size()), &sent, 2000) == 0);
  CHECK(sent == static_cast<int>(out.size()));
  int err = 0;
  auto reply = read_frame(h, ep_in, &err);
  INFO("read: " << libusb_error_name(err));
  REQUIRE(reply);
  const auto* hr = std::get_if<p::HelloReply>(&reply->message);
  REQUIRE(hr);
  CHECK(hr->serial == "SIM-0001");
  CHECK(reply->seq == 1);

  // An IN with nothing to read times out: the kernel unlinks the URB (CMD_UNLINK), our server
  // answers -ECONNRESET, and the data that comes later goes to the next IN, not the dead one.
  std::uint8_t buf[512];
  int got = 0;
  CHECK(libusb_bulk_transfer(h, ep_in, buf, sizeof buf, &got, 100) == LIBUSB_ERROR_TIMEOUT);
  auto sr = frame(2, p::StatusRequest{});
  REQUIRE(libusb_bulk_transfer(h, ep_out, sr.data(), static_cast<int>(sr.size()), &sent, 2000) == 0);
  auto status = read_frame(h, ep_in, &err);
  REQUIRE(status);
  CHECK(std::holds_alternative<p::StatusMessage>(status->message));
  CHECK(status->seq == 2);
  const auto stats = loop.call([&] { return server.stats(); });
  CHECK(stats.unlinked_pending >= 1);
  CHECK(stats.imports == 1);
  CHECK(stats.protocol_errors == 0);

  // The cable goes: the server closes the socket, vhci-hcd disconnects, libusb sees it leave.
  loop.call([&] {
    device.unplug();
    return 0;
  });
  const bool left = pump(ctx, [&] { return hot.left > 0; });
  INFO("the kernel still lists " << usbvm::usb_devices_present(vid, pid) << " such device(s)");
  REQUIRE(left);
  CHECK(libusb_bulk_transfer(h, ep_in, buf, sizeof buf, &got, 500) == LIBUSB_ERROR_NO_DEVICE);
  CHECK(usbvm::usb_devices_present(vid, pid) == 0);
  CHECK_FALSE(loop.call([&] { return server.imported(); }));

  libusb_release_interface(h, interface_number);
  libusb_close(h);
  libusb_hotplug_deregister_callback(ctx, hh);
  libusb_exit(ctx);
  loop.call([&] {
    server.stop();
    return 0;
  });
}
