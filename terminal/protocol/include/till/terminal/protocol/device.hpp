#pragma once
// The seam between a simulated (or emulated) reader and whatever carries its bytes.
//
// A device model implements DeviceEndpoint and never knows its transport: the in-process `sim`
// driver, the TCP front end of till-reader-sim and (later) the USB/IP and umockdev front ends
// all implement DeviceIo and shuttle the same protocol bytes. Timers come from the front end
// too, so the model runs on whatever event loop the front end uses (an io_context in Till).
//
// Threading: all calls in both directions happen on the front end's single loop thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "till/base/result.hpp"

namespace till::terminal::protocol {

// What a device needs from its link. Implemented by front ends.
class DeviceIo {
 public:
  virtual ~DeviceIo() = default;
  // Bytes to the host, in order. They may be delivered later (asynchronously), never reordered.
  virtual void send_bytes(std::vector<std::uint8_t> bytes) = 0;
  // The device "unplugs": the host sees its link close. The front end detaches the device
  // (attach(nullptr)) before returning or soon after; no bytes flow afterwards.
  virtual void drop_link() = 0;
  // Runs fn after delay on the loop thread, unless the link is detached first (then never).
  virtual void schedule(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
};

// A device as seen by a front end.
class DeviceEndpoint {
 public:
  virtual ~DeviceEndpoint() = default;
  // A host link came up (io != nullptr) or went away (nullptr). Fails Unavailable when the
  // device is unplugged or already attached to another link (lesson 5: know who holds it).
  virtual Status attach(DeviceIo* io) = 0;
  // Bytes from the host, as they arrived (any chunking).
  virtual void receive_bytes(std::span<const std::uint8_t> bytes) = 0;
};

}  // namespace till::terminal::protocol
