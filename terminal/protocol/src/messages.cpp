#include "till/terminal/protocol/messages.hpp"

#include <algorithm>
#include <cctype>

namespace till::terminal::protocol {
namespace {

tl::unexpected<DecodeError> bad(std::string m) {
  return tl::unexpected<DecodeError>(DecodeError{DecodeErrorCode::BadField, std::move(m)});
}

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) u8(static_cast<std::uint8_t>(v >> s));
  }
  void i64(std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    for (int s = 56; s >= 0; s -= 8) u8(static_cast<std::uint8_t>(u >> s));
  }
  void boolean(bool b) { u8(b ? 1 : 0); }
  void text(const std::string& s) {
    u16(static_cast<std::uint16_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
};

// Strict reader: every read checks bounds; the first failure sticks and names the field.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool done() const { return pos_ == in_.size(); }

  std::uint8_t u8(const char* field) {
    if (!need(1, field)) return 0;
    return in_[pos_++];
  }
  std::uint16_t u16(const char* field) {
    if (!need(2, field)) return 0;
    const auto v = static_cast<std::uint16_t>((in_[pos_] << 8) | in_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::uint32_t u32(const char* field) {
    if (!need(4, field)) return 0;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | in_[pos_++];
    return v;
  }
  std::int64_t i64(const char* field) {
    if (!need(8, field)) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | in_[pos_++];
    return static_cast<std::int64_t>(v);
  }
  bool boolean(const char* field) {
    const std::uint8_t v = u8(field);
    if (ok() && v > 1) fail(std::string(field) + ": boolean must be 0 or 1");
    return v == 1;
  }
  std::string text(const char* field) {
    const std::uint16_t n = u16(field);
    if (!ok()) return {};
    if (n > kMaxText) {
      fail(std::string(field) + ": text longer than " + std::to_string(kMaxText) + " bytes");
      return {};
    }
    if (!need(n, field)) return {};
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  void fail(std::string m) {
    if (error_.empty()) error_ = std::move(m);
  }

 private:
  bool need(std::size_t n, const char* field) {
    if (!ok()) return false;
    if (in_.size() - pos_ < n) {
      fail(std::string(field) + ": payload ends inside the field");
      return false;
    }
    return true;
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  std::string error_;
};

// ---- validation -------------------------------------------------------------------------

DecodeResult<void> check_text(const std::string& s, const char* field) {
  if (s.size() > kMaxText) return bad(std::string(field) + ": longer than " + std::to_string(kMaxText) + " bytes");
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F) return bad(std::string(field) + ": control character");
  if (looks_like_card_number(s)) return bad(std::string(field) + ": looks like a card number; refused");
  return {};
}

bool is_currency(const std::string& c) {
  return c.size() == 3 && std::islower(static_cast<unsigned char>(c[0])) &&
         std::islower(static_cast<unsigned char>(c[1])) && std::islower(static_cast<unsigned char>(c[2]));
}

constexpr std::int64_t kMaxAmount = 99'999'999;

#define TILL_CHECK(expr)            \
  do {                              \
    if (auto r_ = (expr); !r_) return r_; \
  } while (0)
#define TILL_REQUIRE(cond, msg) \
  do {                          \
    if (!(cond)) return bad(msg); \
  } while (0)

DecodeResult<void> check(const Hello& m) {
  TILL_REQUIRE(m.min_version >= 1 && m.min_version <= m.max_version, "hello: bad version range");
  return check_text(m.host, "hello.host");
}
DecodeResult<void> check(const HelloReply& m) {
  TILL_REQUIRE(m.version >= 1, "hello_reply: version 0");
  TILL_CHECK(check_text(m.model, "hello_reply.model"));
  TILL_CHECK(check_text(m.serial, "hello_reply.serial"));
  return check_text(m.firmware_version, "hello_reply.firmware_version");
}
DecodeResult<void> check(const StatusRequest&) { return {}; }
DecodeResult<void> check(const StatusMessage& m) {
  TILL_REQUIRE(m.battery_percent <= 100, "status.battery_percent: above 100");
  TILL_REQUIRE(m.offline_stored <= m.offline_capacity, "status.offline_stored: above capacity");
  return check_text(m.firmware_version, "status.firmware_version");
}
DecodeResult<void> check(const Display& m) {
  TILL_REQUIRE(m.lines.size() <= kMaxCartLines, "display.lines: too many lines");
  TILL_REQUIRE(m.currency.empty() ? m.lines.empty() : is_currency(m.currency),
               "display.currency: not a lowercase ISO code");
  for (const auto& l : m.lines) {
    TILL_CHECK(check_text(l.description, "display.lines.description"));
    TILL_REQUIRE(l.quantity >= 1 && l.quantity <= 1'000'000, "display.lines.quantity: out of range");
    TILL_REQUIRE(l.amount >= -kMaxAmount && l.amount <= kMaxAmount, "display.lines.amount: out of range");
  }
  TILL_REQUIRE(m.tax >= 0 && m.tax <= kMaxAmount, "display.tax: out of range");
  TILL_REQUIRE(m.total >= 0 && m.total <= kMaxAmount, "display.total: out of range");
  return {};
}
DecodeResult<void> check(const Collect& m) {
  TILL_REQUIRE(m.amount >= 1 && m.amount <= kMaxAmount, "collect.amount: out of range 1..99999999");
  TILL_REQUIRE(is_currency(m.currency), "collect.currency: not a lowercase ISO code");
  TILL_REQUIRE(m.timeout_ms >= 1 && m.timeout_ms <= 600'000, "collect.timeout_ms: out of range");
  return {};
}
DecodeResult<void> check(const Cancel&) { return {}; }
DecodeResult<void> check(const CardResult& c, bool approved) {
  TILL_CHECK(check_text(c.payment_method, "result.card.payment_method"));
  TILL_CHECK(check_text(c.brand, "result.card.brand"));
  TILL_CHECK(check_text(c.read_method, "result.card.read_method"));
  // An EMV AID is hex digits (A0000000031010 holds a long digit run), so it gets its own rule
  // instead of the PAN check: 10-32 upper-case hex characters, or empty.
  TILL_REQUIRE(c.application_id.empty() ||
                   (c.application_id.size() >= 10 && c.application_id.size() <= 32 &&
                    std::all_of(c.application_id.begin(), c.application_id.end(),
                                [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F'); })),
               "result.card.application_id: not an EMV AID (10-32 hex characters)");
  TILL_CHECK(check_text(c.application_label, "result.card.application_label"));
  TILL_CHECK(check_text(c.tvr, "result.card.tvr"));
  TILL_CHECK(check_text(c.cvm, "result.card.cvm"));
  TILL_CHECK(check_text(c.authorization_code, "result.card.authorization_code"));
  TILL_REQUIRE(c.last4.empty() || (c.last4.size() == 4 && std::all_of(c.last4.begin(), c.last4.end(),
                                                                        [](char ch) { return ch >= '0' && ch <= '9'; })),
               "result.card.last4: not 4 digits");
  TILL_REQUIRE(c.exp_month >= 1 && c.exp_month <= 12, "result.card.exp_month: out of range");
  TILL_REQUIRE(c.exp_year >= 2000 && c.exp_year <= 2099, "result.card.exp_year: out of range");
  if (approved) {
    TILL_REQUIRE(c.payment_method.rfind("pm_", 0) == 0 && c.payment_method.size() > 3,
                 "result.card.payment_method: approved result without a pm_ token");
    TILL_REQUIRE(!c.brand.empty() && c.last4.size() == 4, "result.card: approved result without brand/last4");
  }
  return {};
}
DecodeResult<void> check(const CollectResult& m) {
  switch (m.outcome) {
    case Outcome::Approved:
      TILL_REQUIRE(m.error == ErrorCode::None && m.decline_code.empty(), "result: approved with an error");
      break;
    case Outcome::Declined:
      TILL_REQUIRE(!m.decline_code.empty(), "result.decline_code: declined without a code");
      TILL_REQUIRE(m.error == ErrorCode::None, "result: declined with an error code");
      break;
    case Outcome::Cancelled:
      TILL_REQUIRE(m.decline_code.empty(), "result: cancelled with a decline code");
      break;
    case Outcome::Error:
      TILL_REQUIRE(m.error != ErrorCode::None, "result.error: error outcome without a code");
      TILL_REQUIRE(m.decline_code.empty(), "result: error with a decline code");
      break;
    default:
      return bad("result.outcome: unknown value");
  }
  TILL_REQUIRE(static_cast<std::uint8_t>(m.error) <= kErrorCodeMax, "result.error: unknown code");
  TILL_CHECK(check_text(m.decline_code, "result.decline_code"));
  TILL_CHECK(check_text(m.message, "result.message"));
  return check(m.card, m.outcome == Outcome::Approved);
}
DecodeResult<void> check(const Event& m) {
  TILL_REQUIRE(static_cast<std::uint8_t>(m.kind) >= 1 && static_cast<std::uint8_t>(m.kind) <= kEventKindMax,
               "event.kind: unknown value");
  TILL_REQUIRE(m.progress <= 100, "event.progress: above 100");
  return check_text(m.message, "event.message");
}
DecodeResult<void> check(const FirmwareRequest& m) {
  TILL_REQUIRE(m.action == FirmwareAction::Query || m.action == FirmwareAction::Install,
               "firmware_request.action: unknown value");
  return {};
}
DecodeResult<void> check(const Firmware& m) {
  TILL_CHECK(check_text(m.current_version, "firmware.current_version"));
  return check_text(m.available_version, "firmware.available_version");
}
DecodeResult<void> check(const Ack& m) {
  TILL_REQUIRE(static_cast<std::uint8_t>(m.error) <= kErrorCodeMax, "ack.error: unknown code");
  return check_text(m.message, "ack.message");
}

// ---- encoding ---------------------------------------------------------------------------

void put(Writer& w, const Hello& m) {
  w.u16(m.min_version);
  w.u16(m.max_version);
  w.text(m.host);
}
void put(Writer& w, const HelloReply& m) {
  w.u16(m.version);
  w.text(m.model);
  w.text(m.serial);
  w.text(m.firmware_version);
}
void put(Writer&, const StatusRequest&) {}
void put(Writer& w, const StatusMessage& m) {
  w.u8(m.battery_percent);
  w.boolean(m.charging);
  w.text(m.firmware_version);
  w.boolean(m.update_required);
  w.boolean(m.online);
  w.boolean(m.offline_capable);
  w.u16(m.offline_stored);
  w.u16(m.offline_capacity);
  w.boolean(m.busy);
}
void put(Writer& w, const Display& m) {
  w.text(m.currency);
  w.u8(static_cast<std::uint8_t>(m.lines.size()));
  for (const auto& l : m.lines) {
    w.text(l.description);
    w.i64(l.quantity);
    w.i64(l.amount);
  }
  w.i64(m.tax);
  w.i64(m.total);
}
void put(Writer& w, const Collect& m) {
  w.i64(m.amount);
  w.text(m.currency);
  w.boolean(m.offline_allowed);
  w.u32(m.timeout_ms);
}
void put(Writer&, const Cancel&) {}
void put(Writer& w, const CollectResult& m) {
  w.u16(m.request_seq);
  w.u8(static_cast<std::uint8_t>(m.outcome));
  const CardResult& c = m.card;
  w.text(c.payment_method);
  w.text(c.brand);
  w.text(c.last4);
  w.u8(c.exp_month);
  w.u16(c.exp_year);
  w.text(c.read_method);
  w.text(c.application_id);
  w.text(c.application_label);
  w.text(c.tvr);
  w.text(c.cvm);
  w.text(c.authorization_code);
  w.boolean(c.stored_offline);
  w.text(m.decline_code);
  w.u8(static_cast<std::uint8_t>(m.error));
  w.text(m.message);
}
void put(Writer& w, const Event& m) {
  w.u8(static_cast<std::uint8_t>(m.kind));
  w.u8(m.progress);
  w.text(m.message);
}
void put(Writer& w, const FirmwareRequest& m) { w.u8(static_cast<std::uint8_t>(m.action)); }
void put(Writer& w, const Firmware& m) {
  w.text(m.current_version);
  w.text(m.available_version);
  w.boolean(m.update_required);
  w.boolean(m.installed);
}
void put(Writer& w, const Ack& m) {
  w.u16(m.request_seq);
  w.u8(static_cast<std::uint8_t>(m.error));
  w.text(m.message);
}

// ---- decoding ---------------------------------------------------------------------------

Message get_hello(Reader& r) {
  Hello m;
  m.min_version = r.u16("hello.min_version");
  m.max_version = r.u16("hello.max_version");
  m.host = r.text("hello.host");
  return m;
}
Message get_hello_reply(Reader& r) {
  HelloReply m;
  m.version = r.u16("hello_reply.version");
  m.model = r.text("hello_reply.model");
  m.serial = r.text("hello_reply.serial");
  m.firmware_version = r.text("hello_reply.firmware_version");
  return m;
}
Message get_status(Reader& r) {
  StatusMessage m;
  m.battery_percent = r.u8("status.battery_percent");
  m.charging = r.boolean("status.charging");
  m.firmware_version = r.text("status.firmware_version");
  m.update_required = r.boolean("status.update_required");
  m.online = r.boolean("status.online");
  m.offline_capable = r.boolean("status.offline_capable");
  m.offline_stored = r.u16("status.offline_stored");
  m.offline_capacity = r.u16("status.offline_capacity");
  m.busy = r.boolean("status.busy");
  return m;
}
Message get_display(Reader& r) {
  Display m;
  m.currency = r.text("display.currency");
  const std::uint8_t n = r.u8("display.lines");
  if (n > kMaxCartLines) r.fail("display.lines: too many lines");
  for (std::uint8_t i = 0; i < n && r.ok(); ++i) {
    CartLine l;
    l.description = r.text("display.lines.description");
    l.quantity = r.i64("display.lines.quantity");
    l.amount = r.i64("display.lines.amount");
    m.lines.push_back(std::move(l));
  }
  m.tax = r.i64("display.tax");
  m.total = r.i64("display.total");
  return m;
}
Message get_collect(Reader& r) {
  Collect m;
  m.amount = r.i64("collect.amount");
  m.currency = r.text("collect.currency");
  m.offline_allowed = r.boolean("collect.offline_allowed");
  m.timeout_ms = r.u32("collect.timeout_ms");
  return m;
}
Message get_result(Reader& r) {
  CollectResult m;
  m.request_seq = r.u16("result.request_seq");
  const std::uint8_t o = r.u8("result.outcome");
  if (r.ok() && (o < 1 || o > 4)) r.fail("result.outcome: unknown value " + std::to_string(o));
  m.outcome = static_cast<Outcome>(o);
  CardResult& c = m.card;
  c.payment_method = r.text("result.card.payment_method");
  c.brand = r.text("result.card.brand");
  c.last4 = r.text("result.card.last4");
  c.exp_month = r.u8("result.card.exp_month");
  c.exp_year = r.u16("result.card.exp_year");
  c.read_method = r.text("result.card.read_method");
  c.application_id = r.text("result.card.application_id");
  c.application_label = r.text("result.card.application_label");
  c.tvr = r.text("result.card.tvr");
  c.cvm = r.text("result.card.cvm");
  c.authorization_code = r.text("result.card.authorization_code");
  c.stored_offline = r.boolean("result.card.stored_offline");
  m.decline_code = r.text("result.decline_code");
  const std::uint8_t e = r.u8("result.error");
  if (r.ok() && e > kErrorCodeMax) r.fail("result.error: unknown code " + std::to_string(e));
  m.error = static_cast<ErrorCode>(e);
  m.message = r.text("result.message");
  return m;
}
Message get_event(Reader& r) {
  Event m;
  const std::uint8_t k = r.u8("event.kind");
  if (r.ok() && (k < 1 || k > kEventKindMax)) r.fail("event.kind: unknown value " + std::to_string(k));
  m.kind = static_cast<EventKind>(k);
  m.progress = r.u8("event.progress");
  m.message = r.text("event.message");
  return m;
}
Message get_firmware_request(Reader& r) {
  FirmwareRequest m;
  const std::uint8_t a = r.u8("firmware_request.action");
  if (r.ok() && (a < 1 || a > 2)) r.fail("firmware_request.action: unknown value " + std::to_string(a));
  m.action = static_cast<FirmwareAction>(a);
  return m;
}
Message get_firmware(Reader& r) {
  Firmware m;
  m.current_version = r.text("firmware.current_version");
  m.available_version = r.text("firmware.available_version");
  m.update_required = r.boolean("firmware.update_required");
  m.installed = r.boolean("firmware.installed");
  return m;
}
Message get_ack(Reader& r) {
  Ack m;
  m.request_seq = r.u16("ack.request_seq");
  const std::uint8_t e = r.u8("ack.error");
  if (r.ok() && e > kErrorCodeMax) r.fail("ack.error: unknown code " + std::to_string(e));
  m.error = static_cast<ErrorCode>(e);
  m.message = r.text("ack.message");
  return m;
}

}  // namespace

std::string_view to_string(ErrorCode c) noexcept {
  switch (c) {
    case ErrorCode::None: return "none";
    case ErrorCode::Busy: return "busy";
    case ErrorCode::CardRemoved: return "card_removed";
    case ErrorCode::CardReadFailed: return "card_read_failed";
    case ErrorCode::Timeout: return "timeout";
    case ErrorCode::UpdateRequired: return "update_required";
    case ErrorCode::OfflineNotAllowed: return "offline_not_allowed";
    case ErrorCode::OfflineStorageFull: return "offline_storage_full";
    case ErrorCode::OfflineUnsupportedCard: return "offline_unsupported_card";
    case ErrorCode::UnsupportedVersion: return "unsupported_version";
    case ErrorCode::InvalidRequest: return "invalid_request";
    case ErrorCode::NothingToCancel: return "nothing_to_cancel";
    case ErrorCode::Internal: return "internal";
  }
  return "unknown";
}

std::string_view to_string(EventKind k) noexcept {
  switch (k) {
    case EventKind::CardInserted: return "card_inserted";
    case EventKind::CardTapped: return "card_tapped";
    case EventKind::CardSwiped: return "card_swiped";
    case EventKind::CardRemoved: return "card_removed";
    case EventKind::PromptRemoveCard: return "prompt_remove_card";
    case EventKind::PromptEnterPin: return "prompt_enter_pin";
    case EventKind::PromptTryAnotherCard: return "prompt_try_another_card";
    case EventKind::UpdateRequired: return "update_required";
    case EventKind::Authorizing: return "authorizing";
    case EventKind::PinEntered: return "pin_entered";
    case EventKind::FirmwareProgress: return "firmware_progress";
    case EventKind::BatteryLow: return "battery_low";
  }
  return "unknown";
}

bool looks_like_card_number(std::string_view text) noexcept {
  int run = 0;
  for (char c : text) {
    run = (c >= '0' && c <= '9') ? run + 1 : 0;
    if (run >= 12) return true;
  }
  return false;
}

MessageType type_of(const Message& m) noexcept {
  static constexpr MessageType kTypes[] = {
      MessageType::Hello,   MessageType::HelloReply, MessageType::StatusRequest,   MessageType::Status,
      MessageType::Display, MessageType::Collect,    MessageType::Cancel,          MessageType::Result,
      MessageType::Event,   MessageType::FirmwareRequest, MessageType::Firmware, MessageType::Ack};
  return kTypes[m.index()];
}

DecodeResult<void> validate(const Message& m) {
  return std::visit([](const auto& x) -> DecodeResult<void> { return check(x); }, m);
}

DecodeResult<std::vector<std::uint8_t>> encode_payload(const Message& m) {
  if (auto v = validate(m); !v) return tl::unexpected(v.error());
  Writer w;
  std::visit([&](const auto& x) { put(w, x); }, m);
  auto bytes = w.take();
  if (bytes.size() > kMaxPayload) return bad("message larger than the maximum payload");
  return bytes;
}

DecodeResult<Message> decode_payload(MessageType type, std::span<const std::uint8_t> payload) {
  Reader r(payload);
  Message m;
  switch (type) {
    case MessageType::Hello: m = get_hello(r); break;
    case MessageType::HelloReply: m = get_hello_reply(r); break;
    case MessageType::StatusRequest: m = StatusRequest{}; break;
    case MessageType::Status: m = get_status(r); break;
    case MessageType::Display: m = get_display(r); break;
    case MessageType::Collect: m = get_collect(r); break;
    case MessageType::Cancel: m = Cancel{}; break;
    case MessageType::Result: m = get_result(r); break;
    case MessageType::Event: m = get_event(r); break;
    case MessageType::FirmwareRequest: m = get_firmware_request(r); break;
    case MessageType::Firmware: m = get_firmware(r); break;
    case MessageType::Ack: m = get_ack(r); break;
    default:
      return tl::unexpected(DecodeError{DecodeErrorCode::UnknownType, "unknown message type"});
  }
  if (!r.ok()) return bad(r.error());
  if (!r.done())
    return tl::unexpected(DecodeError{DecodeErrorCode::TrailingBytes,
                                      std::string(to_string(type)) + ": bytes after the last field"});
  if (auto v = validate(m); !v) return tl::unexpected(v.error());
  return m;
}

DecodeResult<std::vector<std::uint8_t>> encode(const Envelope& e) {
  auto payload = encode_payload(e.message);
  if (!payload) return tl::unexpected(payload.error());
  return encode_frame(Frame{type_of(e.message), e.seq, std::move(*payload)});
}

DecodeResult<Envelope> decode(const Frame& f) {
  auto m = decode_payload(f.type, f.payload);
  if (!m) return tl::unexpected(m.error());
  return Envelope{f.seq, std::move(*m)};
}

DecodeResult<Envelope> decode(std::span<const std::uint8_t> bytes) {
  auto f = decode_frame(bytes);
  if (!f) return tl::unexpected(f.error());
  return decode(*f);
}

std::optional<DecodeResult<Envelope>> MessageDecoder::next() {
  auto f = frames_.next();
  if (!f) return std::nullopt;
  if (!*f) return tl::unexpected(f->error());
  return decode(**f);
}

}  // namespace till::terminal::protocol
