#pragma once
// VhciHarness: the usb driver (libusb-1.0 -> usbfs -> usbcore -> vhci-hcd) against the simulated
// reader exported by hardware-sim's USB/IP server, inside the tier-2 VM. Same shape as SimHarness,
// TcpHarness and UsbHarness, so the shared contract suite (tests/terminal/contract_test.cpp,
// compiled with TILL_CONTRACT_VHCI) runs over it unchanged, through the real kernel USB stack.
//
// Threads: the test thread runs `io` (the device model, the function's callbacks, the reader);
// the USB/IP sockets run on their own thread (net_io), because the driver blocks the test thread
// while it drains cancelled transfers, and the kernel only completes those once our server has
// answered its CMD_UNLINK. libusb has its own event thread (the driver's).
//
// Like a reader whose cable is plugged back in, the harness attaches the device to vhci-hcd
// again whenever the device model is plugged but no host holds it: after the model's unplug() +
// plug(), and after a fault that dropped the link. Each harness waits, when it ends, until the
// kernel has removed its device, so the next case starts from an empty bus.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <thread>

#include "reader_harness.hpp"
#include "till/hwsim/usb_function.hpp"
#include "till/hwsim/usbip_server.hpp"
#include "vhci_attach.hpp"

namespace till::terminal::testing {

// Under TCG everything is slower than on the host: generous, but bounded.
inline UsbOptions vm_usb_options() {
  UsbOptions o;
  o.in_timeout = 1000ms;
  o.out_timeout = 2000ms;
  o.claim_retry = 2000ms;
  return o;
}

struct VhciOptions {
  // false: the device is not attached before the reader exists; the re-attach watcher attaches
  // it on its first tick (10 ms), so the driver meets it as a hotplug arrival while the kernel
  // is still enumerating it.
  bool attach_at_start = true;
};

struct VhciHarness : HarnessBase {
  static constexpr const char* kName = "usb";

  explicit VhciHarness(hwsim::DeviceConfig cfg = {}, ProtocolReaderOptions opts = fast_options(),
                       VhciOptions vhci = {})
      : HarnessBase(cfg),
        guard(device),
        function(guard.device(), guard.scheduler(io), function_config(cfg)),
        server(net_io, io, function, guard),
        replug_timer(io) {
    REQUIRE(usbvm::vhci_available());  // this harness only runs inside the usb VM
    REQUIRE(usbvm::usb_devices_present(vid(), pid()) == 0);
    auto port = server.listen("127.0.0.1", 0);
    REQUIRE(port);
    server_port = *port;
    net_thread = std::thread([this] { net_io.run(); });
    try {
      if (vhci.attach_at_start) REQUIRE(attach_now());
    } catch (...) {
      stop_net();  // a failed REQUIRE throws: the socket thread must not outlive the server
      throw;
    }
    usb = make_usb_transports(io, UsbMatch{vid(), pid(), std::nullopt}, vm_usb_options());
    reader = make_usb_reader(io, usb, std::move(opts));
    watch_events();
    arm_replug();
  }

  ~VhciHarness() override {
    replugging = false;
    replug_timer.cancel();
    reader.reset();
    for (int i = 0; i < 100 && io.poll() > 0; ++i) io.restart();
    io.restart();
    usb.reset();
    // Unplug: the server closes its sockets, vhci-hcd disconnects the device.
    on_net([this] { server.stop(); });
    const bool gone = wait_kernel([this] { return usbvm::usb_devices_present(vid(), pid()) == 0; }, 5s);
    stop_net();
    CHECK(gone);
  }

  void stop_net() {
    if (!net_thread.joinable()) return;
    on_net([this] { server.stop(); });
    work.reset();
    net_io.stop();
    net_thread.join();
  }

  std::uint16_t vid() const { return function.config().vendor_id; }
  std::uint16_t pid() const { return function.config().product_id; }

  static hwsim::UsbFunctionConfig function_config(const hwsim::DeviceConfig& cfg) {
    hwsim::UsbFunctionConfig fc;
    fc.serial = cfg.serial;
    fc.product = cfg.model;
    return fc;
  }

  // Imports the device into vhci-hcd and waits until the kernel has configured it.
  bool attach_now() {
    auto got = std::make_shared<std::optional<Result<usbvm::Attached>>>();
    attaching = true;
    usbvm::async_attach(io, server_port, server.device_info().busid, hwsim::usbip_speed(function.config().speed),
                        [got](Result<usbvm::Attached> r) { *got = std::move(r); });
    const bool answered = wait_kernel([&] { return got->has_value(); }, 5s);
    attaching = false;
    if (!answered) return false;
    if (!**got) {
      UNSCOPED_INFO("attach: " << (*got)->error().describe());
      return false;
    }
    ++attaches;
    return wait_kernel([this] { return configured(); }, 10s);
  }

  // The USB/IP link breaks under the kernel (as if the host controller lost the device): the
  // server closes everything; the model stays plugged but nobody can attach it again.
  void break_link() { on_net([this] { server.stop(); }); }

  bool configured() {
    std::lock_guard lock(guard.mutex());
    return function.configuration_value() != 0;
  }

  // Re-attaches (asynchronously) whenever the model is plugged but no host holds the device.
  void arm_replug() {
    replug_timer.expires_after(10ms);
    replug_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || !replugging) return;
      if (!attaching && device.plugged() && !server.imported()) {
        attaching = true;
        usbvm::async_attach(io, server_port, server.device_info().busid, hwsim::usbip_speed(function.config().speed),
                            [this](Result<usbvm::Attached> r) {
                              attaching = false;
                              if (r) ++attaches;
                            });
      }
      arm_replug();
    });
  }

  // Turns io until pred holds, with a tick so that waiting on the kernel (not on io) works too.
  template <class Pred>
  bool wait_kernel(Pred pred, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    boost::asio::steady_timer tick(io);
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      tick.expires_after(5ms);
      bool fired = false;
      tick.async_wait([&](auto) { fired = true; });
      while (!fired) io.run_one();
      io.restart();
    }
    return pred();
  }

  template <class F>
  void on_net(F fn) {
    std::promise<void> done;
    boost::asio::post(net_io, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  boost::asio::io_context net_io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work = boost::asio::make_work_guard(net_io);
  hwsim::DeviceThreadGuard guard;
  hwsim::UsbFunction function;
  hwsim::UsbipServer server;
  std::thread net_thread;
  std::uint16_t server_port = 0;
  boost::asio::steady_timer replug_timer;
  bool replugging = true;
  bool attaching = false;
  int attaches = 0;
  std::shared_ptr<UsbTransports> usb;
};

}  // namespace till::terminal::testing
