#pragma once
// Framing of Till's reader protocol (see terminal/protocol/README.md for the byte layout).
//
//   magic "\xA7T" | version u8 | type u8 | seq u16 | length u16 | header CRC-16 | payload | CRC-32
//
// All integers are big-endian. The header carries its own CRC-16/CCITT-FALSE so that a
// corrupted length is caught at once instead of stalling the stream decoder while it waits for
// bytes that will never come; the trailing CRC-32 (IEEE) covers header and payload.
//
// Pure functions and a single-threaded decoder: no I/O, no Asio. Shared by the host drivers
// (terminal) and the simulated reader (hardware-sim).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "till/base/result.hpp"

namespace till::terminal::protocol {

inline constexpr std::uint8_t kMagic0 = 0xA7;
inline constexpr std::uint8_t kMagic1 = 0x54;  // 'T'
inline constexpr std::uint8_t kFrameVersion = 1;
inline constexpr std::size_t kHeaderSize = 10;
inline constexpr std::size_t kTrailerSize = 4;
inline constexpr std::size_t kMaxPayload = 4096;
inline constexpr std::size_t kMaxFrameSize = kHeaderSize + kMaxPayload + kTrailerSize;

// Every message type on the wire. A byte outside this list is an UnknownType error.
enum class MessageType : std::uint8_t {
  Hello = 0x01,            // host -> reader: protocol versions the host speaks
  HelloReply = 0x02,       // reader -> host: chosen version and identity
  StatusRequest = 0x03,    // host -> reader
  Status = 0x04,           // reader -> host: battery, firmware, offline capability, busy
  Display = 0x05,          // host -> reader: cart lines to show
  Collect = 0x06,          // host -> reader: take a card payment
  Cancel = 0x07,           // host -> reader: abandon the running collect
  Result = 0x08,           // reader -> host: outcome of a collect
  Event = 0x09,            // reader -> host: card and prompt events
  FirmwareRequest = 0x0A,  // host -> reader: query or install firmware
  Firmware = 0x0B,         // reader -> host: firmware versions and update state
  Ack = 0x0C,              // reader -> host: answer to hello/display/cancel/firmware when no other fits
};
bool is_known_type(std::uint8_t type) noexcept;
std::string_view to_string(MessageType type) noexcept;

// Why a frame (or its payload) was rejected. Every malformed input maps to exactly one of these.
enum class DecodeErrorCode {
  BadMagic,            // the first two bytes are not the magic
  UnsupportedVersion,  // frame format version other than kFrameVersion
  BadHeaderCrc,        // header CRC-16 mismatch (e.g. a corrupted length)
  Oversize,            // declared payload length > kMaxPayload
  Truncated,           // fewer bytes than the header declares
  BadCrc,              // CRC-32 mismatch
  UnknownType,         // type byte not in MessageType
  BadField,            // payload does not decode as its type (range, enum, length, PAN-like text)
  TrailingBytes,       // payload longer than its fields
};
std::string_view to_string(DecodeErrorCode code) noexcept;

struct DecodeError {
  DecodeErrorCode code = DecodeErrorCode::BadField;
  std::string message;  // human-readable, never echoes payload text (it could hold card data)
  bool operator==(const DecodeError&) const = default;
};
template <class T>
using DecodeResult = tl::expected<T, DecodeError>;

// Maps a decode error onto Till's error kinds (DataLoss: the bytes are not what was sent).
Error to_error(const DecodeError& e);

struct Frame {
  MessageType type = MessageType::Hello;
  std::uint16_t seq = 0;
  std::vector<std::uint8_t> payload;
  bool operator==(const Frame&) const = default;
};

std::uint32_t crc32(std::span<const std::uint8_t> bytes) noexcept;       // IEEE 802.3
std::uint16_t crc16_ccitt(std::span<const std::uint8_t> bytes) noexcept;  // CCITT-FALSE

// Encodes one frame. payload.size() <= kMaxPayload is the caller's duty (asserted).
std::vector<std::uint8_t> encode_frame(const Frame& frame);

// Decodes exactly one frame from the start of `bytes`; extra bytes after it are TrailingBytes.
DecodeResult<Frame> decode_frame(std::span<const std::uint8_t> bytes);

// Incremental decoder for a byte stream (socket, USB bulk pipe). Feed it whatever arrives; take
// frames out with next(). After a malformed frame or garbage it reports ONE error and skips to
// the next candidate magic, so a burst of noise never loses the frames that follow it.
// Memory is bounded by kMaxFrameSize plus whatever one feed() call hands in.
// Single-threaded; not thread-safe.
class StreamDecoder {
 public:
  void feed(std::span<const std::uint8_t> bytes);
  // A frame, an error (after which decoding continues), or nullopt when more bytes are needed.
  std::optional<DecodeResult<Frame>> next();
  std::size_t buffered() const noexcept { return buffer_.size() - start_; }
  std::uint64_t bytes_discarded() const noexcept { return discarded_; }
  std::uint64_t errors() const noexcept { return errors_; }
  void reset();

 private:
  void skip(std::size_t n);
  void compact();
  std::vector<std::uint8_t> buffer_;
  std::size_t start_ = 0;
  std::uint64_t discarded_ = 0;
  std::uint64_t errors_ = 0;
};

}  // namespace till::terminal::protocol
