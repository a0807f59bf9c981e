#pragma once
// Constructors for the reader drivers. Only the app names concrete drivers (architecture.md).
//
//   sim  in-process: the reader protocol exchanged with a DeviceEndpoint (hardware-sim's
//        ReaderDevice) on the same io_context, with no socket.
//   tcp  the same protocol over TCP to till-reader-sim (loopback).
//   usb  the same protocol over libusb-1.0 bulk transfers to a USB reader (usb_transport below).
//   stripe  server-driven smart readers: stripe_reader.hpp.
//
// Threading: call these on the io_context's thread (the core thread), like the readers they make.
// They never fail: an unreachable reader shows up as Unavailable from async_connect.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "till/terminal/protocol/device.hpp"
#include "till/terminal/reader.hpp"
#include "till/terminal/transport.hpp"

namespace till::terminal {

struct ReconnectPolicy {
  bool enabled = false;  // opt-in
  int max_attempts = 5;
  std::chrono::milliseconds delay{1000};  // between attempts
  std::chrono::milliseconds attempt_deadline{3000};
};

struct ProtocolReaderOptions {
  std::string driver = "sim";  // reported in ReaderInfo::driver
  std::string host_name = "till";
  // After a deadline the driver sends Cancel and waits this long for the reader's answer
  // before declaring the outcome unknown.
  std::chrono::milliseconds cancel_grace{2000};
  ReconnectPolicy reconnect;
};

// The protocol driver over any transport (the factory is called for each connect/reconnect).
std::unique_ptr<Reader> make_protocol_reader(boost::asio::io_context& io, TransportFactory transports,
                                             ProtocolReaderOptions options);

// In-process transport to a device endpoint. The device must outlive every transport made here.
TransportFactory sim_transport(boost::asio::io_context& io, protocol::DeviceEndpoint& device);
// TCP transport to host:port (numeric IPv4/IPv6 address; no DNS on the payment path).
TransportFactory tcp_transport(boost::asio::io_context& io, std::string host, std::uint16_t port);

// ---- usb -----------------------------------------------------------------------------------
// The reader protocol over a USB reader's vendor-specific interface (one bulk IN, one bulk OUT
// endpoint, addresses read from the descriptors), through libusb-1.0. See terminal/README.md
// ("The usb driver") for the threading design. libusb.h stays out of this header.

// Which device is the reader. Default: hardware-sim's simulated reader, 1209:0001 (pid.codes'
// test PID; a production reader has its own VID/PID, taken from configuration).
struct UsbMatch {
  std::uint16_t vendor_id = 0x1209;
  std::uint16_t product_id = 0x0001;
  std::optional<std::string> serial;  // also match the iSerialNumber string
};
// Parses "usb", "usb:VVVV:PPPP" or "usb:VVVV:PPPP:SERIAL" (hex IDs), as `--reader` takes it.
// Fails InvalidArgument with the reason.
Result<UsbMatch> parse_usb_match(std::string_view spec);

struct UsbOptions {
  // A bulk IN that sees no data for this long ends and is re-armed at once (a liveness tick,
  // not an error). Keep it short under umockdev, whose emulated fd makes libusb busy-poll.
  std::chrono::milliseconds in_timeout{1000};
  // A bulk OUT the reader has not accepted within this fails the link (Transport::on_closed).
  std::chrono::milliseconds out_timeout{2000};
  // Claiming the interface right after arrival can fail NOT_FOUND (the kernel has not
  // configured the device yet) or BUSY: retried every step for this long.
  std::chrono::milliseconds claim_retry{1000};
  std::chrono::milliseconds claim_retry_step{10};
  // Without hotplug support (or with force_polling) a waiting open rescans this often.
  std::chrono::milliseconds poll_interval{200};
  bool force_polling = false;  // tests: exercise the polling path where hotplug exists
  // close() waits this long for cancelled transfers to call back; past it the transfers and
  // their buffers are leaked on purpose (freeing them would be a use-after-free).
  std::chrono::milliseconds drain_limit{2000};
};

// Counters of one transport family, readable from any thread (tests and diagnostics).
struct UsbStats {
  bool hotplug = false;                  // arrivals come from libusb hotplug (else polling)
  std::int64_t transfers_in_flight = 0;  // submitted to libusb, callback not yet run
  std::int64_t transfers_submitted = 0;
  std::int64_t in_timeouts = 0;          // bulk IN ended by its timeout and re-armed
  std::int64_t out_timeouts = 0;         // bulk OUT not accepted in time (link failed)
  std::int64_t stalls_cleared = 0;       // endpoint halts cleared after a STALL
  std::int64_t claim_retries = 0;
  std::int64_t opens = 0;                // links opened (interface claimed)
  std::int64_t links_open = 0;           // right now
  std::int64_t links_lost = 0;           // links that failed (unplug, timeout, error)
  std::int64_t arrivals = 0;             // hotplug arrivals of a matching device
  std::int64_t departures = 0;
};

// One libusb context with its own event thread, shared by every transport it makes (one per
// connect/reconnect). Create and use on the core thread; stats() from any thread. Destroy it
// (and the readers using it) before the io_context. It never fails to construct: if libusb
// cannot initialise, every open fails Unavailable with the reason.
class UsbTransports {
 public:
  virtual ~UsbTransports() = default;
  virtual TransportFactory factory() = 0;
  virtual UsbStats stats() const = 0;
};
std::shared_ptr<UsbTransports> make_usb_transports(boost::asio::io_context& io, UsbMatch match, UsbOptions options = {});
// Shorthand: a factory owning its own family.
TransportFactory usb_transport(boost::asio::io_context& io, UsbMatch match, UsbOptions options = {});

inline std::unique_ptr<Reader> make_sim_reader(boost::asio::io_context& io, protocol::DeviceEndpoint& device,
                                               ProtocolReaderOptions options = {}) {
  options.driver = "sim";
  return make_protocol_reader(io, sim_transport(io, device), std::move(options));
}
inline std::unique_ptr<Reader> make_tcp_reader(boost::asio::io_context& io, std::string host, std::uint16_t port,
                                               ProtocolReaderOptions options = {}) {
  options.driver = "tcp";
  return make_protocol_reader(io, tcp_transport(io, std::move(host), port), std::move(options));
}

inline std::unique_ptr<Reader> make_usb_reader(boost::asio::io_context& io, std::shared_ptr<UsbTransports> usb,
                                               ProtocolReaderOptions options = {}) {
  options.driver = "usb";
  return make_protocol_reader(io, usb->factory(), std::move(options));
}
inline std::unique_ptr<Reader> make_usb_reader(boost::asio::io_context& io, UsbMatch match, UsbOptions usb = {},
                                               ProtocolReaderOptions options = {}) {
  return make_usb_reader(io, make_usb_transports(io, std::move(match), usb), std::move(options));
}

}  // namespace till::terminal
