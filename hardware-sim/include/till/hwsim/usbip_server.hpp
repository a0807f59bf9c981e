#pragma once
// USB/IP server: exports one UsbFunction (the simulated reader as a USB device) so that a kernel
// with vhci-hcd (a desktop Linux after `usbip attach`, or the tier-2 test VM) enumerates it as a
// real USB device and libusb drives it through the kernel's USB stack.
//
// Protocol (usbip.hpp; kernel Documentation/usb/usbip_protocol.rst):
//  - OP_REQ_DEVLIST: lists the device (busid, VID/PID, its interface), then closes.
//  - OP_REQ_IMPORT with our busid: puts the function on the bus (UsbFunction::plug) and answers
//    the device block; the connection then carries URBs. One importer at a time: another
//    import, a wrong busid or a device that refuses the link gets a non-zero status and a close.
//  - CMD_SUBMIT on ep0: forwarded to UsbFunction::control (vhci-hcd handles SET_ADDRESS and port
//    resets itself). On the bulk OUT endpoint: UsbFunction::bulk_out (a NAK keeps it pending, in
//    order). On the bulk IN endpoint: UsbFunction::bulk_in, pending like a NAK until the device
//    has data, answered when it does (so replies can come out of submission order). Any other
//    endpoint stalls (-EPIPE). A devid other than the imported device's: -ENODEV.
//  - CMD_UNLINK: a still-pending URB is dropped and answered -ECONNRESET, and no RET_SUBMIT ever
//    follows for it; an URB already answered gets status 0 (the unlink came too late).
//  - Closing the socket unplugs the device (UsbFunction::unplug); the device dropping its link
//    (a simulated cable pull) makes the server close the socket after the replies already
//    queued, which vhci-hcd reports to the host as a disconnect.
//  - Any malformed PDU, or a PDU that does not belong to the connection's phase, closes the
//    connection (the stream cannot be trusted any more) and is counted in stats.
//
// Threading. Two modes:
//  - one thread (till-reader-sim, in-process tests): UsbipServer(io, function); the function's
//    Scheduler is asio_scheduler(io); construct, listen, stop and read state on io's thread.
//  - sockets on their own thread (the tier-2 VM tests, where libusb calls that block the device's
//    thread wait for the kernel, which waits for this server: a cancelled URB only comes back
//    after our RET_UNLINK): UsbipServer(net_io, device_io, function, guard) with a
//    DeviceThreadGuard between the function and the device. The device model is then only ever
//    touched on device_io's thread (bulk OUT and plug/unplug are posted there); the function is
//    only touched under the guard's mutex (control, bulk IN and unlink are answered on the
//    socket thread, so a blocked device thread cannot stall the kernel). listen/stop on the
//    socket thread (or before it runs); stats() and imported() from any thread.
// The UsbFunction must outlive the server; the server installs the function's in-ready,
// out-ready and unplugged callbacks. Errors are values: listen fails Unavailable or
// InvalidArgument, nothing throws.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>

#include "till/base/result.hpp"
#include "till/hwsim/usb_function.hpp"
#include "till/hwsim/usbip.hpp"

namespace till::hwsim {

struct UsbipServerConfig {
  std::string busid = "1-1";
  std::uint32_t busnum = 1;
  std::uint32_t devnum = 2;
  std::string path = "/sys/devices/platform/till-reader-sim/usb1/1-1";
};

struct UsbipServerStats {
  int connections = 0;
  int devlists = 0;
  int imports = 0;           // successful imports
  int refused_imports = 0;   // wrong busid, already imported, device refused the link
  int protocol_errors = 0;   // connections closed for a malformed or misplaced PDU
  int device_unplugs = 0;    // the device dropped its link while imported
  std::uint64_t submits = 0;
  std::uint64_t unlinks = 0;
  std::uint64_t unlinked_pending = 0;  // unlinks that caught a pending URB (-ECONNRESET)
};

// A UsbFunction::Scheduler running callbacks on `io` through steady timers.
UsbFunction::Scheduler asio_scheduler(boost::asio::io_context& io);

// Sits between a UsbFunction and its device model when the USB/IP sockets run on another
// thread: every call the device makes into the function, and every callback the function
// schedules, runs under mutex(), the lock the server takes around its own calls into the function.
//   DeviceThreadGuard guard(device);
//   UsbFunction function(guard.device(), guard.scheduler(device_io));
//   UsbipServer server(net_io, device_io, function, guard);
// Construct and destroy on the device's thread; `device` must outlive it.
class DeviceThreadGuard {
 public:
  explicit DeviceThreadGuard(terminal::protocol::DeviceEndpoint& device);
  ~DeviceThreadGuard();
  DeviceThreadGuard(const DeviceThreadGuard&) = delete;
  DeviceThreadGuard& operator=(const DeviceThreadGuard&) = delete;

  terminal::protocol::DeviceEndpoint& device();  // hand this to the UsbFunction
  UsbFunction::Scheduler scheduler(boost::asio::io_context& device_io);
  std::recursive_mutex& mutex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class UsbipServer {
 public:
  // One thread: sockets and device on io.
  UsbipServer(boost::asio::io_context& io, UsbFunction& function, UsbipServerConfig config = {});
  // Sockets on net_io's thread, the device on device_io's (see Threading above).
  UsbipServer(boost::asio::io_context& net_io, boost::asio::io_context& device_io, UsbFunction& function,
              DeviceThreadGuard& guard, UsbipServerConfig config = {});
  ~UsbipServer();
  UsbipServer(const UsbipServer&) = delete;
  UsbipServer& operator=(const UsbipServer&) = delete;

  // Binds (numeric address) and starts accepting; port 0 = ephemeral. Returns the bound port.
  // Fails InvalidArgument (not a numeric address) or Unavailable (in use, cannot bind).
  Result<std::uint16_t> listen(const std::string& address, std::uint16_t port);
  // Closes the listener and every connection (an importer sees its device unplugged).
  void stop();

  std::uint16_t port() const noexcept;
  bool imported() const;  // a host currently holds the device
  UsbipServerStats stats() const;
  // The device block DEVLIST and IMPORT report (DEVLIST adds the interface entry).
  usbip::DeviceInfo device_info() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace till::hwsim
