#include <catch2/catch.hpp>

#include "random_messages.hpp"
#include "till/terminal/protocol/frame.hpp"
#include "till/terminal/protocol/messages.hpp"

using namespace till;
namespace p = till::terminal::protocol;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes frame_of(const p::Message& m, std::uint16_t seq = 7) {
  auto b = p::encode(p::Envelope{seq, m});
  REQUIRE(b);
  return *b;
}

p::DecodeErrorCode decode_error(const Bytes& b) {
  auto r = p::decode(b);
  REQUIRE_FALSE(r);
  return r.error().code;
}

// Rewrites the header CRC after a test tampers with header fields, so the test reaches the
// check it means to exercise instead of stopping at the header CRC.
void fix_header_crc(Bytes& b) {
  const auto c = p::crc16_ccitt({b.data(), 8});
  b[8] = static_cast<std::uint8_t>(c >> 8);
  b[9] = static_cast<std::uint8_t>(c);
}
void fix_crc32(Bytes& b) {
  const auto c = p::crc32({b.data(), b.size() - 4});
  for (int i = 0; i < 4; ++i) b[b.size() - 4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(c >> (24 - 8 * i));
}

}  // namespace

TEST_CASE("CRC-32 and CRC-16/CCITT match their published check values") {
  const std::string s = "123456789";
  const std::span<const std::uint8_t> b(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  CHECK(p::crc32(b) == 0xCBF43926U);
  CHECK(p::crc16_ccitt(b) == 0x29B1);
}

TEST_CASE("a collect message round-trips through a frame with its sequence number") {
  const p::Collect c{1234, "usd", true, 30'000};
  const Bytes b = frame_of(c, 513);
  CHECK(b[0] == p::kMagic0);
  CHECK(b[3] == static_cast<std::uint8_t>(p::MessageType::Collect));
  auto e = p::decode(b);
  REQUIRE(e);
  CHECK(e->seq == 513);
  CHECK(std::get<p::Collect>(e->message) == c);
}

TEST_CASE("encode/decode round-trips 5000 random messages from a seed") {
  SeededRandom r(20261123);
  for (int i = 0; i < 5000; ++i) {
    const p::Envelope env{static_cast<std::uint16_t>(r.uniform(65536)), terminal::testing::random_message(r)};
    auto b = p::encode(env);
    if (!b) FAIL(b.error().message);
    auto back = p::decode(*b);
    REQUIRE(back);
    REQUIRE(*back == env);
  }
}

TEST_CASE("every malformed frame is rejected with its own error") {
  const Bytes good = frame_of(p::StatusMessage{});

  SECTION("bad magic") {
    Bytes b = good;
    b[1] = 'X';
    CHECK(decode_error(b) == p::DecodeErrorCode::BadMagic);
  }
  SECTION("unsupported frame version") {
    Bytes b = good;
    b[2] = 9;
    CHECK(decode_error(b) == p::DecodeErrorCode::UnsupportedVersion);
  }
  SECTION("corrupted length is caught by the header CRC") {
    Bytes b = good;
    b[7] ^= 0x01;
    CHECK(decode_error(b) == p::DecodeErrorCode::BadHeaderCrc);
  }
  SECTION("oversize declared length") {
    Bytes b = good;
    b[6] = 0x20;  // 8192 + ...
    fix_header_crc(b);
    CHECK(decode_error(b) == p::DecodeErrorCode::Oversize);
  }
  SECTION("truncated header and truncated payload") {
    CHECK(decode_error(Bytes(good.begin(), good.begin() + 5)) == p::DecodeErrorCode::Truncated);
    CHECK(decode_error(Bytes(good.begin(), good.end() - 1)) == p::DecodeErrorCode::Truncated);
  }
  SECTION("bad CRC-32") {
    Bytes b = good;
    b[p::kHeaderSize] ^= 0x40;
    CHECK(decode_error(b) == p::DecodeErrorCode::BadCrc);
  }
  SECTION("unknown message type") {
    Bytes b = good;
    b[3] = 0x7E;
    fix_header_crc(b);
    fix_crc32(b);
    CHECK(decode_error(b) == p::DecodeErrorCode::UnknownType);
  }
  SECTION("bytes after the frame") {
    Bytes b = good;
    b.push_back(0);
    CHECK(decode_error(b) == p::DecodeErrorCode::TrailingBytes);
  }
  SECTION("battery above 100 is a bad field") {
    Bytes b = good;
    b[p::kHeaderSize] = 101;  // status.battery_percent is the first payload byte
    fix_crc32(b);
    auto r = p::decode(b);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == p::DecodeErrorCode::BadField);
    CHECK_THAT(r.error().message, Catch::Contains("battery_percent"));
  }
  SECTION("a boolean other than 0 or 1 is a bad field") {
    Bytes b = good;
    b[p::kHeaderSize + 1] = 2;  // status.charging
    fix_crc32(b);
    CHECK(decode_error(b) == p::DecodeErrorCode::BadField);
  }
  SECTION("a payload with extra bytes inside a valid frame") {
    auto payload = p::encode_payload(p::Cancel{});
    REQUIRE(payload);
    payload->push_back(1);
    const Bytes b = p::encode_frame(p::Frame{p::MessageType::Cancel, 1, *payload});
    CHECK(decode_error(b) == p::DecodeErrorCode::TrailingBytes);
  }
  SECTION("a payload that ends inside a field") {
    auto payload = p::encode_payload(p::Collect{100, "usd", false, 1000});
    REQUIRE(payload);
    payload->resize(payload->size() - 2);
    const Bytes b = p::encode_frame(p::Frame{p::MessageType::Collect, 1, *payload});
    auto r = p::decode(b);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == p::DecodeErrorCode::BadField);
    CHECK_THAT(r.error().message, Catch::Contains("collect.timeout_ms"));
  }
}

TEST_CASE("semantic field rules are enforced on decode and encode") {
  CHECK_FALSE(p::encode(p::Envelope{1, p::Collect{0, "usd", false, 1000}}));
  CHECK_FALSE(p::encode(p::Envelope{1, p::Collect{100, "USD", false, 1000}}));
  p::CollectResult approved_without_token;
  approved_without_token.outcome = p::Outcome::Approved;
  approved_without_token.card.brand = "visa";
  approved_without_token.card.last4 = "4242";
  CHECK_FALSE(p::encode(p::Envelope{1, approved_without_token}));
  p::CollectResult declined_without_code;
  declined_without_code.outcome = p::Outcome::Declined;
  CHECK_FALSE(p::encode(p::Envelope{1, declined_without_code}));
}

TEST_CASE("no field can carry a card number, in either direction") {
  CHECK(p::looks_like_card_number("4242424242424242"));
  CHECK(p::looks_like_card_number("card 424242424242 x"));
  CHECK_FALSE(p::looks_like_card_number("pm_1Abc2345678901"));  // 11 digits
  p::Event e{p::EventKind::CardInserted, 0, "read 4000000000000002"};
  auto enc = p::encode(p::Envelope{1, e});
  REQUIRE_FALSE(enc);
  CHECK_THAT(enc.error().message, Catch::Contains("card number"));
  CHECK_THAT(enc.error().message, !Catch::Contains("4000000000000002"));

  // A hostile reader that hand-builds the frame is refused by the decoder too.
  auto payload = p::encode_payload(p::Event{p::EventKind::CardInserted, 0, "x"});
  REQUIRE(payload);
  const std::string pan = "4000000000000002";
  payload->resize(payload->size() - 1);
  (*payload)[payload->size() - 1] = static_cast<std::uint8_t>(pan.size());
  payload->insert(payload->end(), pan.begin(), pan.end());
  auto r = p::decode(p::encode_frame(p::Frame{p::MessageType::Event, 1, *payload}));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == p::DecodeErrorCode::BadField);
}

TEST_CASE("the stream decoder reassembles frames split at every byte boundary") {
  const Bytes a = frame_of(p::Collect{4200, "eur", false, 5000}, 1);
  const Bytes b = frame_of(p::Event{p::EventKind::PromptEnterPin, 0, "Enter PIN"}, 2);
  Bytes both = a;
  both.insert(both.end(), b.begin(), b.end());
  for (std::size_t cut = 0; cut <= both.size(); ++cut) {
    p::MessageDecoder d;
    d.feed({both.data(), cut});
    std::vector<p::Envelope> got;
    while (auto r = d.next()) {
      REQUIRE(*r);
      got.push_back(**r);
    }
    d.feed({both.data() + cut, both.size() - cut});
    while (auto r = d.next()) {
      REQUIRE(*r);
      got.push_back(**r);
    }
    REQUIRE(got.size() == 2);
    CHECK(got[0].seq == 1);
    CHECK(got[1].seq == 2);
  }
}

TEST_CASE("the stream decoder resynchronises after garbage and corrupted frames") {
  SeededRandom r(99);
  Bytes stream;
  std::vector<p::Envelope> sent;
  for (int i = 0; i < 200; ++i) {
    // Noise, including stray magic bytes, between frames.
    const auto noise = r.uniform(12);
    for (std::uint64_t k = 0; k < noise; ++k)
      stream.push_back(k % 3 == 0 ? p::kMagic0 : static_cast<std::uint8_t>(r.uniform(256)));
    p::Envelope env{static_cast<std::uint16_t>(i), terminal::testing::random_message(r)};
    Bytes f = frame_of(env.message, env.seq);
    if (i % 10 == 5) {
      f[r.uniform(f.size() - 2) + 2] ^= 0x10;  // corrupt one byte after the magic: must be dropped
    } else {
      sent.push_back(env);
    }
    stream.insert(stream.end(), f.begin(), f.end());
  }
  p::MessageDecoder d;
  std::vector<p::Envelope> got;
  std::size_t pos = 0;
  while (pos < stream.size()) {
    const std::size_t n = std::min<std::size_t>(1 + r.uniform(64), stream.size() - pos);
    d.feed({stream.data() + pos, n});
    pos += n;
    while (auto m = d.next())
      if (*m) got.push_back(**m);
  }
  // Every intact frame survives, in order; no corrupted one is accepted.
  CHECK(got == sent);
  CHECK(d.frames().errors() > 0);
  CHECK(d.frames().buffered() == 0);
}
