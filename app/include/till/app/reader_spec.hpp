#pragma once
// Which card reader the runtime drives: one setting (RuntimeConfig::reader, till-kiosk --reader).
//
//   "" or "sim"                  the in-process simulated reader (till-reader-sim's device model;
//                                 the default, SIMULATED)
//   "HOST:PORT", "tcp:HOST:PORT" till-reader-sim over TCP; HOST is a numeric IPv4 address or an
//                                 IPv6 address in brackets ("[::1]:4100"): no DNS on the payment path
//   "usb", "usb:VID:PID[:SERIAL]" the libusb driver; VID and PID are 1-4 hex digits (default
//                                 1209:0001, hardware-sim's simulated reader); SERIAL also matches
//                                 the device's iSerialNumber
//   "stripe", "stripe:tmr_..."   a Stripe smart reader of the connected account, driven through
//                                 the server-driven API; "stripe" alone takes the one online reader
//                                 of the account (or of RuntimeConfig::location_id)
//
// Pure: no I/O. Any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "till/base/result.hpp"

namespace till::app {

struct ReaderSpec {
  enum class Kind {
    Simulated,  // in-process device model
    Tcp,        // till-reader-sim over TCP
    Usb,        // libusb driver
    Stripe,     // server-driven smart reader
  };
  Kind kind = Kind::Simulated;
  // Tcp: numeric address (IPv6 without brackets) and port 1..65535.
  std::string host;
  std::uint16_t port = 0;
  // Usb
  std::uint16_t usb_vendor_id = 0x1209;
  std::uint16_t usb_product_id = 0x0001;
  std::optional<std::string> usb_serial;
  // Stripe: tmr_...; empty = the single online reader of the account / location.
  std::string stripe_reader_id;
  bool operator==(const ReaderSpec&) const = default;
};

std::string_view to_string(ReaderSpec::Kind k) noexcept;

// Parses the setting. Fails InvalidArgument with what is wrong and the accepted forms.
Result<ReaderSpec> parse_reader_spec(std::string_view text);

// The canonical text of a spec ("sim", "tcp:127.0.0.1:4100", "tcp:[::1]:4100", "usb:1209:0001",
// "usb:1209:0001:SERIAL", "stripe", "stripe:tmr_..."); parse_reader_spec(format(s)) == s.
std::string format_reader_spec(const ReaderSpec& spec);

// The accepted forms, one line, for help texts and errors.
inline constexpr const char* kReaderSpecForms =
    "sim | HOST:PORT | tcp:HOST:PORT | usb[:VID:PID[:SERIAL]] | stripe[:tmr_...]";

}  // namespace till::app
