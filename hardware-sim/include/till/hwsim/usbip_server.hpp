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
// Threading: construct, listen, stop and read state on the io_context's thread (or before it
// runs). The UsbFunction must run its Scheduler on the same io_context (asio_scheduler) and
// outlive the server; the server installs the function's in-ready, out-ready and unplugged
// callbacks. Errors are values: listen fails Unavailable/InvalidArgument, nothing throws.

#include <cstdint>
#include <memory>
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

class UsbipServer {
 public:
  UsbipServer(boost::asio::io_context& io, UsbFunction& function, UsbipServerConfig config = {});
  ~UsbipServer();
  UsbipServer(const UsbipServer&) = delete;
  UsbipServer& operator=(const UsbipServer&) = delete;

  // Binds (numeric address) and starts accepting; port 0 = ephemeral. Returns the bound port.
  // Fails InvalidArgument (not a numeric address) or Unavailable (in use, cannot bind).
  Result<std::uint16_t> listen(const std::string& address, std::uint16_t port);
  // Closes the listener and every connection (an importer sees its device unplugged).
  void stop();

  std::uint16_t port() const noexcept;
  bool imported() const noexcept;  // a host currently holds the device
  const UsbipServerStats& stats() const noexcept;
  // The device block DEVLIST and IMPORT report (DEVLIST adds the interface entry).
  usbip::DeviceInfo device_info() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace till::hwsim
