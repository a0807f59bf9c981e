#pragma once
// TCP front end: serves one ReaderDevice over the reader protocol on a TCP port (loopback),
// one host connection at a time (a second host is refused while the first holds the reader).
// Timers for the device run on the same io_context.
//
// Threading: construct, listen and stop on the io_context's thread (or before it runs).

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "till/base/result.hpp"
#include "till/terminal/protocol/device.hpp"

namespace till::hwsim {

class TcpFrontEnd {
 public:
  TcpFrontEnd(boost::asio::io_context& io, terminal::protocol::DeviceEndpoint& device);
  ~TcpFrontEnd();
  TcpFrontEnd(const TcpFrontEnd&) = delete;
  TcpFrontEnd& operator=(const TcpFrontEnd&) = delete;

  // Binds and starts accepting. port 0 = ephemeral; returns the bound port. Fails Unavailable
  // (address in use, bad address).
  Result<std::uint16_t> listen(const std::string& address, std::uint16_t port);
  // Closes the listener and any connection (the device sees the link go away).
  void stop();
  std::uint16_t port() const noexcept;
  int connections_accepted() const noexcept;
  int connections_refused() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace till::hwsim
