#pragma once
// Constructors for the reader drivers. Only the app names concrete drivers (architecture.md).
//
//   sim  in-process: the reader protocol exchanged with a DeviceEndpoint (hardware-sim's
//        ReaderDevice) on the same io_context, with no socket.
//   tcp  the same protocol over TCP to till-reader-sim (loopback).
//   usb  (later) the same protocol over libusb bulk transfers: another Transport.
//   stripe  server-driven smart readers: stripe_reader.hpp.
//
// Threading: call these on the io_context's thread (the core thread), like the readers they make.
// They never fail: an unreachable reader shows up as Unavailable from async_connect.

#include <chrono>
#include <memory>
#include <string>

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

}  // namespace till::terminal
