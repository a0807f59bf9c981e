#include "till/app/reader_spec.hpp"

#include <arpa/inet.h>

#include <cstdio>

#include "till/terminal/drivers.hpp"

namespace till::app {

namespace {

tl::unexpected<Error> bad(std::string_view text, const std::string& why) {
  return fail(ErrorKind::InvalidArgument,
              "reader '" + std::string(text) + "': " + why + " (expected " + kReaderSpecForms + ")");
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}
bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

Result<ReaderSpec> parse_tcp(std::string_view text, std::string_view addr) {
  const auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return bad(text, "a TCP reader needs HOST:PORT");
  std::string_view host = addr.substr(0, colon);
  const std::string_view port = addr.substr(colon + 1);
  if (port.empty() || port.size() > 5) return bad(text, "the port must be a number from 1 to 65535");
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad(text, "the port must be a number from 1 to 65535");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return bad(text, "the port must be a number from 1 to 65535");
  ReaderSpec spec;
  spec.kind = ReaderSpec::Kind::Tcp;
  spec.port = static_cast<std::uint16_t>(value);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    spec.host = std::string(host.substr(1, host.size() - 2));
    if (!is_ipv6(spec.host)) return bad(text, "'" + spec.host + "' in brackets is not an IPv6 address");
    return spec;
  }
  spec.host = std::string(host);
  if (spec.host.empty()) return bad(text, "the host is missing");
  if (spec.host.find(':') != std::string::npos) {
    return bad(text, "write an IPv6 address in brackets, e.g. [::1]:4100");
  }
  if (!is_ipv4(spec.host)) {
    return bad(text, "'" + spec.host + "' is not a numeric IPv4 address (no DNS on the payment path; e.g. 127.0.0.1)");
  }
  return spec;
}

bool stripe_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

std::string_view to_string(ReaderSpec::Kind k) noexcept {
  switch (k) {
    case ReaderSpec::Kind::Simulated: return "sim";
    case ReaderSpec::Kind::Tcp: return "tcp";
    case ReaderSpec::Kind::Usb: return "usb";
    case ReaderSpec::Kind::Stripe: return "stripe";
  }
  return "sim";
}

Result<ReaderSpec> parse_reader_spec(std::string_view text) {
  if (text.empty() || text == "sim") return ReaderSpec{};
  if (text == "usb" || text.substr(0, 4) == "usb:") {
    auto match = terminal::parse_usb_match(text);
    if (!match) {
      return fail(ErrorKind::InvalidArgument,
                  match.error().message + " (expected usb, usb:VID:PID or usb:VID:PID:SERIAL, VID and PID in hex)");
    }
    ReaderSpec spec;
    spec.kind = ReaderSpec::Kind::Usb;
    spec.usb_vendor_id = match->vendor_id;
    spec.usb_product_id = match->product_id;
    spec.usb_serial = match->serial;
    return spec;
  }
  if (text == "stripe" || text.substr(0, 7) == "stripe:") {
    ReaderSpec spec;
    spec.kind = ReaderSpec::Kind::Stripe;
    if (text == "stripe") return spec;
    const std::string_view id = text.substr(7);
    if (id.size() <= 4 || id.substr(0, 4) != "tmr_") return bad(text, "a Stripe reader id starts with tmr_");
    for (char c : id) {
      if (!stripe_id_char(c)) return bad(text, "a Stripe reader id has only letters, digits and _");
    }
    spec.stripe_reader_id = std::string(id);
    return spec;
  }
  if (text.substr(0, 4) == "tcp:") return parse_tcp(text, text.substr(4));
  if (text.find(':') == std::string_view::npos) return bad(text, "unknown reader");
  return parse_tcp(text, text);
}

std::string format_reader_spec(const ReaderSpec& spec) {
  switch (spec.kind) {
    case ReaderSpec::Kind::Simulated: return "sim";
    case ReaderSpec::Kind::Tcp: {
      const bool v6 = spec.host.find(':') != std::string::npos;
      return "tcp:" + (v6 ? "[" + spec.host + "]" : spec.host) + ":" + std::to_string(spec.port);
    }
    case ReaderSpec::Kind::Usb: {
      char ids[16];
      std::snprintf(ids, sizeof ids, "%04x:%04x", static_cast<unsigned>(spec.usb_vendor_id),
                    static_cast<unsigned>(spec.usb_product_id));
      return "usb:" + std::string(ids) + (spec.usb_serial ? ":" + *spec.usb_serial : std::string());
    }
    case ReaderSpec::Kind::Stripe:
      return spec.stripe_reader_id.empty() ? "stripe" : "stripe:" + spec.stripe_reader_id;
  }
  return "sim";
}

}  // namespace till::app
