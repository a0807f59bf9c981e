#pragma once
// A USB function: the device side of a USB link, wrapping one reader-protocol device (the
// ReaderDevice) so that any USB front end can present it to a host. It is transport-independent:
// the umockdev front end (in-process usbfs emulation for libusb) and the USB/IP server both
// drive this same class and only move its bytes.
//
// What it models (a SIMULATION of a vendor-specific USB reader, USB 2.0):
//   - identity: VID/PID (default 1209:0001, pid.codes' VID with its *test* PID, for testing
//     only: a shipped reader needs its own PID), bcdDevice, manufacturer/product/serial strings;
//   - descriptors: device, one configuration (value 1) with one vendor-specific interface
//     (class 0xFF, subclass 0x01, protocol 0x01 = Till reader protocol v1) holding one bulk IN
//     and one bulk OUT endpoint (addresses configurable, max packet 64 at full speed, 512 at
//     high speed), the device qualifier, string descriptors (langid 0x0409);
//   - standard requests on ep0: GET_DESCRIPTOR, SET_ADDRESS, SET_CONFIGURATION,
//     GET_CONFIGURATION, GET_STATUS, GET_INTERFACE, SET_INTERFACE, CLEAR_FEATURE and
//     SET_FEATURE (ENDPOINT_HALT). Anything else (class, vendor, unknown) stalls;
//   - bulk OUT bytes go to the device's receive_bytes; bulk IN is served from what the device
//     sent, and stays pending (a NAK, nullopt here) until it has data;
//   - the device's drop_link() is a cable pull: bytes the device had already sent still drain
//     to the host (as over TCP), then the function leaves the bus and on_unplugged fires;
//   - fault injection for tests: stall an endpoint (it stays halted until the host clears it),
//     make the OUT endpoint NAK (a device that stops accepting data).
//
// Threading: single-threaded. Every call, the scheduler's callbacks and the callbacks set here
// run on the front end's loop thread (the thread that runs the injected Scheduler). The
// callbacks are never invoked from inside a call to this class: they are deferred through the
// scheduler (0 ms), so a front end may call back in freely.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "till/base/result.hpp"
#include "till/terminal/protocol/device.hpp"

namespace till::hwsim {

// pid.codes (https://pid.codes) vendor ID and its test product ID. Test use only.
inline constexpr std::uint16_t kPidCodesVendorId = 0x1209;
inline constexpr std::uint16_t kPidCodesTestProductId = 0x0001;

// Transfer status codes, as Linux reports them in URBs and USB/IP RET_SUBMIT (negative errno).
inline constexpr int kUsbOk = 0;
inline constexpr int kUsbStall = -32;      // -EPIPE: the endpoint is halted / request not supported
inline constexpr int kUsbShutdown = -108;  // -ESHUTDOWN: the device is not on the bus

enum class UsbSpeed { Full, High };
// Linux sysfs "speed" attribute (Mbit/s): 12 or 480.
int sysfs_speed(UsbSpeed s) noexcept;
// USB/IP device block / vhci attach speed (enum usb_device_speed): full = 2, high = 3.
int usbip_speed(UsbSpeed s) noexcept;
// Bulk endpoint max packet size: 64 at full speed, 512 at high speed.
std::uint16_t bulk_max_packet(UsbSpeed s) noexcept;

struct UsbFunctionConfig {
  std::uint16_t vendor_id = kPidCodesVendorId;
  std::uint16_t product_id = kPidCodesTestProductId;
  std::uint16_t device_release = 0x0100;  // bcdDevice 1.00
  UsbSpeed speed = UsbSpeed::High;
  std::uint8_t bulk_in_endpoint = 0x81;   // must have bit 7 set
  std::uint8_t bulk_out_endpoint = 0x02;  // must have bit 7 clear; 1..15
  std::string manufacturer = "Till (simulated)";
  std::string product = "Till SimReader S1";
  std::string serial = "SIM-0001";
  // After the device drops its link, how long bytes it already sent may wait for the host to
  // read them before the function leaves the bus anyway.
  std::chrono::milliseconds unplug_drain_limit{200};
};

// The 8-byte SETUP packet of a control transfer.
struct UsbSetup {
  std::uint8_t request_type = 0;  // bmRequestType
  std::uint8_t request = 0;       // bRequest
  std::uint16_t value = 0;        // wValue
  std::uint16_t index = 0;        // wIndex
  std::uint16_t length = 0;       // wLength
  // From / to the wire format (little-endian).
  static UsbSetup parse(std::span<const std::uint8_t, 8> bytes) noexcept;
  std::array<std::uint8_t, 8> bytes() const noexcept;
  bool device_to_host() const noexcept { return (request_type & 0x80) != 0; }
  bool operator==(const UsbSetup&) const = default;
};

// The outcome of a control transfer or a bulk IN: status kUsbOk (data = the IN data stage,
// at most wLength / max_length bytes), kUsbStall or kUsbShutdown.
struct UsbReply {
  int status = kUsbOk;
  std::vector<std::uint8_t> data;
  bool ok() const noexcept { return status == kUsbOk; }
  bool stalled() const noexcept { return status == kUsbStall; }
};

// Raw descriptors, built once from the config.
struct UsbDescriptors {
  std::vector<std::uint8_t> device;            // 18 bytes
  std::vector<std::uint8_t> configuration;     // configuration + interface + 2 endpoints (wTotalLength)
  std::vector<std::uint8_t> device_qualifier;  // 10 bytes (high speed only; empty at full speed)
  std::vector<std::vector<std::uint8_t>> strings;  // [0] langids, [1] manufacturer, [2] product, [3] serial
  // What Linux exposes as the sysfs "descriptors" attribute: device + configuration.
  std::vector<std::uint8_t> sysfs() const;
};

struct UsbFunctionStats {
  int control_requests = 0;
  int control_stalls = 0;      // requests answered with a stall (unsupported / halted)
  int bulk_stalls = 0;         // bulk transfers answered with a stall
  int halts_cleared = 0;       // CLEAR_FEATURE(ENDPOINT_HALT), SET_INTERFACE, SET_CONFIGURATION on a halted endpoint
  std::uint64_t bytes_out = 0; // bulk OUT bytes handed to the device
  std::uint64_t bytes_in = 0;  // bulk IN bytes handed to the host
  int plugs = 0;
  int unplugs = 0;             // the device dropped its link (cable pull)
};

class UsbFunction final : public terminal::protocol::DeviceIo {
 public:
  // Runs fn after delay on the loop thread. The function guards its own callbacks, so the
  // scheduler need not cancel anything (it may run fn after the UsbFunction is gone: fn then
  // does nothing).
  using Scheduler = std::function<void(std::chrono::milliseconds, std::function<void()>)>;

  // `device` must outlive this object. Starts off the bus (call plug()).
  UsbFunction(terminal::protocol::DeviceEndpoint& device, Scheduler scheduler, UsbFunctionConfig config = {});
  ~UsbFunction() override;
  UsbFunction(const UsbFunction&) = delete;
  UsbFunction& operator=(const UsbFunction&) = delete;

  // ---- bus presence -------------------------------------------------------------------------
  // Puts the function on the bus: attaches the device (its link comes up) and resets the USB
  // state (address 0, unconfigured, no halts, empty IN buffer). Fails Unavailable when the
  // device refuses the link (it is unplugged or held by another front end), FailedPrecondition
  // when already plugged.
  Status plug();
  // The front end takes the function off the bus (USB/IP socket closed, test teardown): the
  // device's link goes away. No on_unplugged callback (the front end knows). No-op when off.
  void unplug();
  bool plugged() const noexcept { return plugged_; }

  // ---- identity -----------------------------------------------------------------------------
  const UsbFunctionConfig& config() const noexcept { return config_; }
  const UsbDescriptors& descriptors() const noexcept { return descriptors_; }
  std::uint8_t bulk_in_address() const noexcept { return config_.bulk_in_endpoint; }
  std::uint8_t bulk_out_address() const noexcept { return config_.bulk_out_endpoint; }
  std::uint16_t max_packet_size() const noexcept { return bulk_max_packet(config_.speed); }
  std::uint8_t configuration_value() const noexcept { return configuration_; }  // 0 = unconfigured
  std::uint8_t address() const noexcept { return address_; }

  // ---- transfers (only while plugged; otherwise every transfer answers kUsbShutdown) ----------
  // A control transfer on ep0: the setup packet and, for host-to-device requests, the data stage.
  UsbReply control(const UsbSetup& setup, std::span<const std::uint8_t> out_data = {});
  // Bulk OUT on bulk_out_address(): kUsbOk (all bytes handed to the device), kUsbStall (halted
  // or unconfigured: nothing delivered, the host must clear the halt and resend), kUsbShutdown,
  // or nullopt = NAK (the endpoint does not accept data now: keep the transfer pending and offer
  // it again when on_out_ready fires).
  std::optional<int> bulk_out(std::span<const std::uint8_t> bytes);
  // Bulk IN on bulk_in_address(): up to max_length bytes of what the device sent, a stall, or
  // kUsbShutdown; nullopt = nothing to send yet (keep the transfer pending until on_in_ready).
  std::optional<UsbReply> bulk_in(std::size_t max_length);
  std::size_t in_pending_bytes() const noexcept { return in_.size() - in_pos_; }

  // ---- callbacks (loop thread, deferred; see Threading) -------------------------------------
  // IN data (or an injected IN stall) became available: retry pending bulk IN transfers.
  void set_in_ready(std::function<void()> cb) { in_ready_ = std::move(cb); }
  // The OUT endpoint accepts data again (after set_out_nak(false) or a cleared halt).
  void set_out_ready(std::function<void()> cb) { out_ready_ = std::move(cb); }
  // The device dropped its link (cable pulled) and the function has left the bus. The front
  // end removes the device from its host (USB/IP: close the socket; umockdev: remove uevent).
  void set_unplugged(std::function<void()> cb) { unplugged_ = std::move(cb); }

  // ---- fault injection (tests) --------------------------------------------------------------
  // Halts an endpoint (bulk IN or OUT address): every transfer on it stalls until the host
  // clears the halt (CLEAR_FEATURE(ENDPOINT_HALT), SET_INTERFACE or SET_CONFIGURATION). Returns
  // InvalidArgument for an address this function does not have.
  Status stall(std::uint8_t endpoint);
  bool halted(std::uint8_t endpoint) const noexcept;
  // While on, the OUT endpoint NAKs everything (bulk_out returns nullopt).
  void set_out_nak(bool on);

  const UsbFunctionStats& stats() const noexcept { return stats_; }

  // ---- DeviceIo (called by the device) --------------------------------------------------------
  void send_bytes(std::vector<std::uint8_t> bytes) override;
  void drop_link() override;
  void schedule(std::chrono::milliseconds delay, std::function<void()> fn) override;

 private:
  UsbReply standard_request(const UsbSetup& s);
  UsbReply get_descriptor(const UsbSetup& s) const;
  UsbReply stall_reply();
  void clear_halts();
  bool clear_halt(std::uint8_t endpoint);
  void defer(std::function<void()> fn);
  void notify_in_ready();
  void notify_out_ready();
  void leave_bus();  // after a drop_link: off the bus, then on_unplugged
  void reset_usb_state();

  terminal::protocol::DeviceEndpoint& device_;
  Scheduler scheduler_;
  UsbFunctionConfig config_;
  UsbDescriptors descriptors_;
  std::function<void()> in_ready_, out_ready_, unplugged_;
  // Guards deferred work: false once destroyed.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  bool plugged_ = false;
  bool attached_ = false;        // the device holds this as its DeviceIo
  bool dropping_ = false;        // the device dropped its link; draining IN before leaving the bus
  std::uint64_t link_gen_ = 0;   // device timers from an older link never run
  std::uint64_t drop_gen_ = 0;
  std::uint8_t address_ = 0;
  std::uint8_t configuration_ = 0;
  bool in_halted_ = false;
  bool out_halted_ = false;
  bool out_nak_ = false;
  bool in_notify_pending_ = false;
  bool out_notify_pending_ = false;
  std::vector<std::uint8_t> in_;  // bytes the device sent, not yet read by the host
  std::size_t in_pos_ = 0;
  UsbFunctionStats stats_;
};

}  // namespace till::hwsim
