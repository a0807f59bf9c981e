#include "till/terminal/protocol/frame.hpp"

#include <array>
#include <cassert>
#include <cstdio>

namespace till::terminal::protocol {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc32_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) ? 0xEDB88320U ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrc32Table = make_crc32_table();

std::uint16_t get_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t get_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

tl::unexpected<DecodeError> err(DecodeErrorCode c, std::string m) {
  return tl::unexpected<DecodeError>(DecodeError{c, std::move(m)});
}

std::string hex2(unsigned v) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%02x", v & 0xFFU);
  return b;
}

// Validates the fixed header at p (kHeaderSize bytes available). On success returns the
// payload length.
DecodeResult<std::size_t> check_header(const std::uint8_t* p) {
  if (p[0] != kMagic0 || p[1] != kMagic1)
    return err(DecodeErrorCode::BadMagic, "bad magic " + hex2(p[0]) + " " + hex2(p[1]));
  if (p[2] != kFrameVersion)
    return err(DecodeErrorCode::UnsupportedVersion,
               "unsupported frame version " + std::to_string(p[2]));
  const std::uint16_t hcrc = get_u16(p + 8);
  if (crc16_ccitt({p, 8}) != hcrc) return err(DecodeErrorCode::BadHeaderCrc, "header CRC mismatch");
  const std::size_t len = get_u16(p + 6);
  if (len > kMaxPayload)
    return err(DecodeErrorCode::Oversize,
               "payload length " + std::to_string(len) + " exceeds " + std::to_string(kMaxPayload));
  if (!is_known_type(p[3])) return err(DecodeErrorCode::UnknownType, "unknown message type " + hex2(p[3]));
  return len;
}

// Header known good and all bytes present: check CRC-32 and build the frame.
DecodeResult<Frame> finish(const std::uint8_t* p, std::size_t len) {
  const std::uint32_t want = get_u32(p + kHeaderSize + len);
  if (crc32({p, kHeaderSize + len}) != want) return err(DecodeErrorCode::BadCrc, "frame CRC-32 mismatch");
  Frame f;
  f.type = static_cast<MessageType>(p[3]);
  f.seq = get_u16(p + 4);
  f.payload.assign(p + kHeaderSize, p + kHeaderSize + len);
  return f;
}

}  // namespace

bool is_known_type(std::uint8_t t) noexcept { return t >= 0x01 && t <= 0x0C; }

std::string_view to_string(MessageType t) noexcept {
  switch (t) {
    case MessageType::Hello: return "hello";
    case MessageType::HelloReply: return "hello_reply";
    case MessageType::StatusRequest: return "status_request";
    case MessageType::Status: return "status";
    case MessageType::Display: return "display";
    case MessageType::Collect: return "collect";
    case MessageType::Cancel: return "cancel";
    case MessageType::Result: return "result";
    case MessageType::Event: return "event";
    case MessageType::FirmwareRequest: return "firmware_request";
    case MessageType::Firmware: return "firmware";
    case MessageType::Ack: return "ack";
  }
  return "unknown";
}

std::string_view to_string(DecodeErrorCode c) noexcept {
  switch (c) {
    case DecodeErrorCode::BadMagic: return "bad_magic";
    case DecodeErrorCode::UnsupportedVersion: return "unsupported_version";
    case DecodeErrorCode::BadHeaderCrc: return "bad_header_crc";
    case DecodeErrorCode::Oversize: return "oversize";
    case DecodeErrorCode::Truncated: return "truncated";
    case DecodeErrorCode::BadCrc: return "bad_crc";
    case DecodeErrorCode::UnknownType: return "unknown_type";
    case DecodeErrorCode::BadField: return "bad_field";
    case DecodeErrorCode::TrailingBytes: return "trailing_bytes";
  }
  return "unknown";
}

Error to_error(const DecodeError& e) {
  return Error{ErrorKind::DataLoss,
               "reader protocol: " + std::string(to_string(e.code)) + ": " + e.message, std::nullopt};
}

std::uint32_t crc32(std::span<const std::uint8_t> bytes) noexcept {
  std::uint32_t c = 0xFFFFFFFFU;
  for (std::uint8_t b : bytes) c = kCrc32Table[(c ^ b) & 0xFFU] ^ (c >> 8);
  return c ^ 0xFFFFFFFFU;
}

std::uint16_t crc16_ccitt(std::span<const std::uint8_t> bytes) noexcept {
  std::uint16_t c = 0xFFFF;
  for (std::uint8_t b : bytes) {
    c = static_cast<std::uint16_t>(c ^ (b << 8));
    for (int k = 0; k < 8; ++k)
      c = static_cast<std::uint16_t>((c & 0x8000U) ? (c << 1) ^ 0x1021U : c << 1);
  }
  return c;
}

std::vector<std::uint8_t> encode_frame(const Frame& f) {
  assert(f.payload.size() <= kMaxPayload);
  std::vector<std::uint8_t> out;
  out.reserve(kHeaderSize + f.payload.size() + kTrailerSize);
  const auto len = static_cast<std::uint16_t>(f.payload.size());
  out.insert(out.end(), {kMagic0, kMagic1, kFrameVersion, static_cast<std::uint8_t>(f.type),
                         static_cast<std::uint8_t>(f.seq >> 8), static_cast<std::uint8_t>(f.seq),
                         static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)});
  const std::uint16_t hcrc = crc16_ccitt({out.data(), 8});
  out.push_back(static_cast<std::uint8_t>(hcrc >> 8));
  out.push_back(static_cast<std::uint8_t>(hcrc));
  out.insert(out.end(), f.payload.begin(), f.payload.end());
  const std::uint32_t c = crc32(out);
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(c >> s));
  return out;
}

DecodeResult<Frame> decode_frame(std::span<const std::uint8_t> bytes) {
  // Check whatever header bytes we have first, so a short garbage input says "bad magic"
  // rather than "truncated".
  if (bytes.size() >= 1 && bytes[0] != kMagic0)
    return err(DecodeErrorCode::BadMagic, "bad magic " + hex2(bytes[0]));
  if (bytes.size() >= 2 && bytes[1] != kMagic1)
    return err(DecodeErrorCode::BadMagic, "bad magic " + hex2(bytes[0]) + " " + hex2(bytes[1]));
  if (bytes.size() < kHeaderSize)
    return err(DecodeErrorCode::Truncated,
               "truncated header: " + std::to_string(bytes.size()) + " of " + std::to_string(kHeaderSize) +
                   " bytes");
  auto len = check_header(bytes.data());
  if (!len) return tl::unexpected(len.error());
  const std::size_t total = kHeaderSize + *len + kTrailerSize;
  if (bytes.size() < total)
    return err(DecodeErrorCode::Truncated,
               "truncated frame: " + std::to_string(bytes.size()) + " of " + std::to_string(total) + " bytes");
  if (bytes.size() > total)
    return err(DecodeErrorCode::TrailingBytes,
               std::to_string(bytes.size() - total) + " bytes after the frame");
  return finish(bytes.data(), *len);
}

void StreamDecoder::feed(std::span<const std::uint8_t> bytes) {
  compact();
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

void StreamDecoder::reset() {
  buffer_.clear();
  start_ = 0;
}

void StreamDecoder::skip(std::size_t n) {
  start_ += n;
  discarded_ += n;
}

void StreamDecoder::compact() {
  if (start_ == 0) return;
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
  start_ = 0;
}

std::optional<DecodeResult<Frame>> StreamDecoder::next() {
  const std::uint8_t* p = buffer_.data() + start_;
  std::size_t avail = buffer_.size() - start_;
  if (avail == 0) return std::nullopt;

  // Garbage before a frame: skip to the next possible magic and report the stretch once.
  if (p[0] != kMagic0 || (avail >= 2 && p[1] != kMagic1)) {
    std::size_t i = 1;
    while (i < avail && !(p[i] == kMagic0 && (i + 1 == avail || p[i + 1] == kMagic1))) ++i;
    skip(i);
    ++errors_;
    return tl::unexpected(
        DecodeError{DecodeErrorCode::BadMagic, "skipped " + std::to_string(i) + " bytes of garbage"});
  }
  if (avail < kHeaderSize) return std::nullopt;
  auto len = check_header(p);
  if (!len) {
    // Only the magic is known good: drop one byte and look for the next frame after it.
    skip(1);
    ++errors_;
    return tl::unexpected(len.error());
  }
  const std::size_t total = kHeaderSize + *len + kTrailerSize;
  if (avail < total) return std::nullopt;
  auto frame = finish(p, *len);
  if (!frame) {
    skip(1);
    ++errors_;
    return tl::unexpected(frame.error());
  }
  start_ += total;
  if (start_ == buffer_.size()) reset();
  return frame;
}

}  // namespace till::terminal::protocol
