#pragma once
// The messages of Till's reader protocol, version 1, and their payload encoding (README.md).
//
// Security rule enforced by the codec itself: no field can carry a card number. Every text
// field is checked on encode AND decode, and anything holding a run of 12 or more digits is
// rejected as BadField, so a buggy or hostile reader cannot push a PAN into Till's memory
// through this protocol. Readers hand over tokens (pm_...), brand, last4 and receipt fields only.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "till/terminal/protocol/frame.hpp"

namespace till::terminal::protocol {

inline constexpr std::uint16_t kProtocolVersionMin = 1;
inline constexpr std::uint16_t kProtocolVersionMax = 1;
inline constexpr std::size_t kMaxText = 256;       // bytes per text field
inline constexpr std::size_t kMaxCartLines = 50;

// Reader-side error codes, carried by CollectResult (outcome Error) and Ack.
enum class ErrorCode : std::uint8_t {
  None = 0,
  Busy = 1,                 // another operation is running on the reader
  CardRemoved = 2,          // the card left before the read finished
  CardReadFailed = 3,       // chip/contactless read error; try again
  Timeout = 4,              // no card presented within the reader's timeout
  UpdateRequired = 5,       // firmware must be updated before payments
  OfflineNotAllowed = 6,    // reader is offline and the collect did not allow offline
  OfflineStorageFull = 7,   // offline store is at capacity
  OfflineUnsupportedCard = 8,  // Interac / online-PIN cards are never taken offline
  UnsupportedVersion = 9,   // hello: no common protocol version
  InvalidRequest = 10,      // fields valid on the wire but not in this state
  NothingToCancel = 11,
  Internal = 12,
};
inline constexpr std::uint8_t kErrorCodeMax = 12;
std::string_view to_string(ErrorCode c) noexcept;

struct Hello {
  std::uint16_t min_version = kProtocolVersionMin;
  std::uint16_t max_version = kProtocolVersionMax;
  std::string host;  // e.g. "till 0.1.0"
  bool operator==(const Hello&) const = default;
};

struct HelloReply {
  std::uint16_t version = 1;  // chosen, within the host's range
  std::string model;
  std::string serial;
  std::string firmware_version;
  bool operator==(const HelloReply&) const = default;
};

struct StatusRequest {
  bool operator==(const StatusRequest&) const = default;
};

struct StatusMessage {
  std::uint8_t battery_percent = 100;  // 0..100
  bool charging = false;
  std::string firmware_version;
  bool update_required = false;
  bool online = true;                  // the reader's own network (for offline decisions)
  bool offline_capable = false;
  std::uint16_t offline_stored = 0;
  std::uint16_t offline_capacity = 0;
  bool busy = false;
  bool operator==(const StatusMessage&) const = default;
};

struct CartLine {
  std::string description;
  std::int64_t quantity = 1;  // >= 1
  std::int64_t amount = 0;    // minor units, line total
  bool operator==(const CartLine&) const = default;
};

struct Display {
  std::string currency;  // lowercase ISO; empty with no lines = clear the screen
  std::vector<CartLine> lines;
  std::int64_t tax = 0;
  std::int64_t total = 0;
  bool operator==(const Display&) const = default;
};

struct Collect {
  std::int64_t amount = 0;  // minor units, 1..99'999'999 (Stripe's 8 digits)
  std::string currency;     // lowercase ISO
  bool offline_allowed = false;
  std::uint32_t timeout_ms = 60'000;  // reader-side wait for a card; host keeps its own deadline
  bool operator==(const Collect&) const = default;
};

struct Cancel {
  bool operator==(const Cancel&) const = default;
};

enum class Outcome : std::uint8_t {
  Approved = 1,   // approved to forward: a token Till sends to Stripe (or stored offline)
  Declined = 2,   // decided by the issuer (or the test card); decline_code says why
  Cancelled = 3,  // nothing was authorised
  Error = 4,      // nothing was authorised; error says why
};

// Card facts a receipt may show, and the token. Never a PAN, track data or PIN.
struct CardResult {
  std::string payment_method;  // "pm_..."
  std::string brand;           // visa, mastercard, amex, discover, interac
  std::string last4;           // exactly 4 digits
  std::uint8_t exp_month = 1;  // 1..12
  std::uint16_t exp_year = 2030;
  std::string read_method;     // contact_emv, contactless_emv, magnetic_stripe_fallback
  std::string application_id;
  std::string application_label;
  std::string tvr;
  std::string cvm;             // none, signature, offline_pin, online_pin
  std::string authorization_code;
  bool stored_offline = false;
  bool operator==(const CardResult&) const = default;
};

struct CollectResult {
  std::uint16_t request_seq = 0;  // seq of the Collect this answers
  Outcome outcome = Outcome::Cancelled;
  CardResult card;                // meaningful for Approved (and brand/last4 for Declined)
  std::string decline_code;       // Declined: Stripe's decline code
  ErrorCode error = ErrorCode::None;  // Error
  std::string message;
  bool operator==(const CollectResult&) const = default;
};

enum class EventKind : std::uint8_t {
  CardInserted = 1,
  CardTapped = 2,
  CardSwiped = 3,
  CardRemoved = 4,
  PromptRemoveCard = 5,
  PromptEnterPin = 6,
  PromptTryAnotherCard = 7,
  UpdateRequired = 8,
  // The reader has what it needs and is deciding. Protocol contract: if the link drops BEFORE
  // this event the reader abandons the payment (nothing authorised); AFTER it, the outcome is
  // unknown to the host until resolved.
  Authorizing = 9,
  PinEntered = 10,
  FirmwareProgress = 11,
  BatteryLow = 12,
};
inline constexpr std::uint8_t kEventKindMax = 12;
std::string_view to_string(EventKind k) noexcept;

struct Event {
  EventKind kind = EventKind::CardInserted;
  std::uint8_t progress = 0;  // FirmwareProgress: 0..100
  std::string message;
  bool operator==(const Event&) const = default;
};

enum class FirmwareAction : std::uint8_t { Query = 1, Install = 2 };

struct FirmwareRequest {
  FirmwareAction action = FirmwareAction::Query;
  bool operator==(const FirmwareRequest&) const = default;
};

struct Firmware {
  std::string current_version;
  std::string available_version;  // empty: nothing newer
  bool update_required = false;
  bool installed = false;         // answer to Install: the update finished
  bool operator==(const Firmware&) const = default;
};

struct Ack {
  std::uint16_t request_seq = 0;
  ErrorCode error = ErrorCode::None;
  std::string message;
  bool operator==(const Ack&) const = default;
};

using Message = std::variant<Hello, HelloReply, StatusRequest, StatusMessage, Display, Collect, Cancel,
                             CollectResult, Event, FirmwareRequest, Firmware, Ack>;

MessageType type_of(const Message& m) noexcept;

// A message with its frame sequence number.
struct Envelope {
  std::uint16_t seq = 0;
  Message message;
  bool operator==(const Envelope&) const = default;
};

// Checks field ranges and the no-PAN rule; BadField on the first violation.
DecodeResult<void> validate(const Message& m);

// Payload bytes of a message (no framing). Fails (BadField) if validate() fails.
DecodeResult<std::vector<std::uint8_t>> encode_payload(const Message& m);
// Strict: every field in range, no trailing bytes, enum values known.
DecodeResult<Message> decode_payload(MessageType type, std::span<const std::uint8_t> payload);

// Message <-> complete frame bytes.
DecodeResult<std::vector<std::uint8_t>> encode(const Envelope& e);
DecodeResult<Envelope> decode(const Frame& f);
DecodeResult<Envelope> decode(std::span<const std::uint8_t> frame_bytes);

// StreamDecoder + decode(Frame): yields envelopes and per-frame errors.
class MessageDecoder {
 public:
  void feed(std::span<const std::uint8_t> bytes) { frames_.feed(bytes); }
  std::optional<DecodeResult<Envelope>> next();
  const StreamDecoder& frames() const noexcept { return frames_; }

 private:
  StreamDecoder frames_;
};

// True when text contains a run of >= 12 ASCII digits (a PAN-like string).
bool looks_like_card_number(std::string_view text) noexcept;

}  // namespace till::terminal::protocol
