#pragma once
// UsbHarness: the usb driver (libusb-1.0, its real Linux usbfs backend and udev hotplug) in
// front of the simulated reader, through hardware-sim's UsbFunction and the umockdev front end
// (tier 1 of usb-testing.md). Same shape as SimHarness / TcpHarness, so the shared contract
// suite runs over it unchanged.
//
// Runs only in a process started by `umockdev-wrapper` (CTest does that). Everything happens on
// the harness's io_context thread except libusb's event thread and umockdev's worker thread.
//
// Like a reader whose cable is plugged back in, the harness puts the USB device back on the
// (emulated) bus whenever the device model is plugged but the device is off the bus: after the
// model's unplug() + plug(), and after a fault that dropped the link. A test can switch that
// off (auto_replug = false) to control plugging itself.

#include <dirent.h>

#include <boost/asio/steady_timer.hpp>

#include "reader_harness.hpp"
#include "till/hwsim/umockdev_front_end.hpp"
#include "till/hwsim/usb_function.hpp"

namespace till::terminal::testing {

// Short IN timeouts: under umockdev libusb busy-polls anyway (usb-testing.md).
inline UsbOptions fast_usb_options() {
  UsbOptions o;
  o.in_timeout = 200ms;
  o.out_timeout = 1000ms;
  o.claim_retry = 500ms;
  o.poll_interval = 10ms;
  return o;
}

struct UsbHarnessOptions {
  bool plug_at_start = true;
  bool auto_replug = true;
  UsbOptions usb = fast_usb_options();
  hwsim::UsbFunctionConfig function;  // serial and product are taken from the DeviceConfig
  UsbMatch match;                     // default 1209:0001, the function's default identity
};

// Open file descriptors of this process (leak checks).
inline int open_fd_count() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n - 3;  // ".", ".." and the directory's own fd
}

struct UsbHarness : HarnessBase {
  static constexpr const char* kName = "usb";

  explicit UsbHarness(hwsim::DeviceConfig cfg = {}, ProtocolReaderOptions opts = fast_options(),
                      UsbHarnessOptions u = {})
      : HarnessBase(cfg), options(std::move(u)), replug_timer(io) {
    REQUIRE(hwsim::UmockdevFrontEnd::available());  // run me under umockdev-wrapper
    hwsim::UsbFunctionConfig fc = options.function;
    fc.serial = cfg.serial;
    fc.product = cfg.model;
    function = std::make_unique<hwsim::UsbFunction>(device, hwsim::io_scheduler(io), fc);
    front_end = std::make_unique<hwsim::UmockdevFrontEnd>(io, *function);  // the testbed, before libusb
    if (options.plug_at_start) REQUIRE(front_end->plug());
    fds_before_driver = open_fd_count();
    usb = make_usb_transports(io, options.match, options.usb);
    reader = make_usb_reader(io, usb, std::move(opts));
    watch_events();
    arm_replug();
  }

  ~UsbHarness() override {
    replug_timer.cancel();
    close_driver();
    front_end.reset();
    function.reset();
  }

  // Destroys the reader and the libusb context (its event thread joined, libusb_exit done).
  void close_driver() {
    reader.reset();
    // Completions already posted hold the transport family; let them run so libusb exits
    // before the testbed goes.
    for (int i = 0; i < 100 && io.poll() > 0; ++i) io.restart();
    io.restart();
    usb.reset();
  }

  void arm_replug() {
    replug_timer.expires_after(5ms);
    replug_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      if (options.auto_replug && front_end && !front_end->plugged() && device.plugged()) (void)front_end->plug();
      arm_replug();
    });
  }

  UsbHarnessOptions options;
  boost::asio::steady_timer replug_timer;
  std::unique_ptr<hwsim::UsbFunction> function;
  std::unique_ptr<hwsim::UmockdevFrontEnd> front_end;
  std::shared_ptr<UsbTransports> usb;
  int fds_before_driver = 0;  // open fds once the rig stood, before libusb was initialised
};

}  // namespace till::terminal::testing
