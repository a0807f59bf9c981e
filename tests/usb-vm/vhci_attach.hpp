#pragma once
// Attaching a USB/IP-exported device to this machine's vhci-hcd without the usbip tool, for the
// tier-2 tests that run inside the test VM (scripts/usb-vm/usbvm.py): connect to the server,
// send OP_REQ_IMPORT, read the 320-byte reply, then hand the connected socket to the kernel by
// writing "<port> <sockfd> <devid> <speed>" to /sys/devices/platform/vhci_hcd.0/attach. From
// then on the kernel owns the socket and our UsbipServer talks to the real USB stack.
//
// Needs root and a loaded vhci-hcd; outside the VM vhci_available() is false.
// Threading: async_attach's steps run on the io_context's thread; the sysfs helpers on any.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "till/base/result.hpp"

namespace till::usbvm {

inline constexpr const char* kVhciDir = "/sys/devices/platform/vhci_hcd.0";

bool vhci_available();

// The first free high-speed port of vhci_hcd.0 (status "sta" 4 = VDEV_ST_NULL), if any.
std::optional<int> free_high_speed_port();

// Number of USB devices with this VID/PID the kernel currently has (from /sys/bus/usb/devices).
int usb_devices_present(std::uint16_t vendor, std::uint16_t product);

struct Attached {
  int port = 0;
  std::uint32_t devid = 0;
};

// Imports `busid` from the USB/IP server on 127.0.0.1:server_port and attaches it to vhci-hcd
// at the given usb_device_speed (3 = high). `done` runs on the io thread with the port used, or
// an error: Unavailable (no free port, import refused, connection failed), Internal (the kernel
// refused the attach; the message holds errno's text).
void async_attach(boost::asio::io_context& io, std::uint16_t server_port, std::string busid, int speed,
                  std::function<void(Result<Attached>)> done);

}  // namespace till::usbvm
