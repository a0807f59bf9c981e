#pragma once
// A byte link from the host to a reader that speaks Till's reader protocol. The protocol driver
// (protocol_reader.hpp) is written once against this; sim, tcp and (later) usb differ only here.
//
// Threading: core thread only, like Reader. Callbacks are posted on the io_context.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "till/base/result.hpp"

namespace till::terminal {

class Transport {
 public:
  struct Callbacks {
    std::function<void(std::span<const std::uint8_t>)> on_bytes;
    std::function<void(Error)> on_closed;  // unexpected close only; at most once
  };
  virtual ~Transport() = default;
  // Opens the link; `done` gets ok or Unavailable. Callbacks start flowing after ok.
  virtual void async_open(Callbacks callbacks, std::function<void(Status)> done) = 0;
  // Queues bytes for the device, kept in order. Ignored after close.
  virtual void write(std::vector<std::uint8_t> bytes) = 0;
  // Closes on purpose: no callback of any kind runs after close() returns.
  virtual void close() = 0;
  virtual std::string describe() const = 0;
};

using TransportFactory = std::function<std::unique_ptr<Transport>()>;

}  // namespace till::terminal
