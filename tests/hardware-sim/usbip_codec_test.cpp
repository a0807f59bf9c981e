// The USB/IP codec: byte layouts checked against the kernel's documented offsets, a round-trip
// property over PDUs generated from SeededRandom (every prefix is "need more", every mutation
// either fails or re-encodes canonically), and a clear error for each kind of malformed PDU.
#include <catch2/catch.hpp>

#include <map>

#include "till/base/random.hpp"
#include "till/hwsim/usbip.hpp"

using namespace till;
using namespace till::hwsim::usbip;

namespace {

std::vector<std::uint8_t> enc(const Request& r) {
  auto b = encode(r);
  REQUIRE(b);
  return *b;
}
std::vector<std::uint8_t> enc(const Reply& r) {
  auto b = encode(r);
  REQUIRE(b);
  return *b;
}

std::uint32_t be32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return std::uint32_t{b[at]} << 24 | std::uint32_t{b[at + 1]} << 16 | std::uint32_t{b[at + 2]} << 8 | b[at + 3];
}
std::uint16_t be16(const std::vector<std::uint8_t>& b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

std::string error_of_request(const std::vector<std::uint8_t>& b) {
  auto r = decode_request(b);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::DataLoss);
  return r.error().message;
}

SubmitDirection all(Direction d) {
  return [d](std::uint32_t) { return std::optional<Direction>(d); };
}

DeviceInfo reader_device() {
  DeviceInfo d;
  d.path = "/sys/devices/till/usb1/1-1";
  d.busid = "1-1";
  d.busnum = 1;
  d.devnum = 2;
  d.speed = Speed::High;
  d.id_vendor = 0x1209;
  d.id_product = 0x7111;
  d.bcd_device = 0x0140;
  d.configuration_value = 1;
  d.num_configurations = 1;
  d.num_interfaces = 1;
  return d;
}

// --- random PDUs ---
std::uint32_t u32(Random& r) { return static_cast<std::uint32_t>(r.next_u64()); }
std::vector<std::uint8_t> bytes(Random& r, std::size_t n) {
  std::vector<std::uint8_t> v(n);
  r.fill(v);
  return v;
}
std::string text(Random& r, std::size_t max, bool allow_empty) {
  std::string s;
  const std::size_t n = (allow_empty ? 0 : 1) + r.uniform(max - (allow_empty ? 0 : 1) + 1);
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>(0x20 + r.uniform(0x5f));
  return s;
}
std::size_t small_length(Random& r) {
  // Mostly small, sometimes empty, now and then a few kilobytes.
  switch (r.uniform(4)) {
    case 0: return 0;
    case 1: return 1 + r.uniform(64);
    case 2: return r.uniform(600);
    default: return r.uniform(5000);
  }
}
UrbHeader header(Random& r) {
  return UrbHeader{u32(r), u32(r), r.uniform(2) ? Direction::In : Direction::Out,
                   static_cast<std::uint32_t>(r.uniform(16))};
}
DeviceInfo device(Random& r, bool with_interfaces) {
  DeviceInfo d;
  d.path = text(r, kPathSize - 1, true);
  d.busid = text(r, kBusIdSize - 1, false);
  d.busnum = u32(r);
  d.devnum = u32(r);
  d.speed = static_cast<Speed>(r.uniform(6));
  d.id_vendor = static_cast<std::uint16_t>(r.next_u64());
  d.id_product = static_cast<std::uint16_t>(r.next_u64());
  d.bcd_device = static_cast<std::uint16_t>(r.next_u64());
  d.device_class = static_cast<std::uint8_t>(r.next_u64());
  d.device_subclass = static_cast<std::uint8_t>(r.next_u64());
  d.device_protocol = static_cast<std::uint8_t>(r.next_u64());
  d.configuration_value = static_cast<std::uint8_t>(r.next_u64());
  d.num_configurations = static_cast<std::uint8_t>(r.next_u64());
  d.num_interfaces = static_cast<std::uint8_t>(r.uniform(kMaxInterfaces + 1));
  if (with_interfaces)
    for (int i = 0; i < d.num_interfaces; ++i)
      d.interfaces.push_back({static_cast<std::uint8_t>(r.next_u64()), static_cast<std::uint8_t>(r.next_u64()),
                              static_cast<std::uint8_t>(r.next_u64())});
  return d;
}
std::int32_t iso_free_packets(Random& r) { return r.uniform(2) ? 0 : -1; }

Request random_request(Random& r) {
  switch (r.uniform(4)) {
    case 0: return OpReqDevlist{};
    case 1: return OpReqImport{text(r, kBusIdSize - 1, false)};
    case 2: {
      CmdSubmit s;
      s.header = header(r);
      s.transfer_flags = u32(r);
      s.transfer_buffer_length = static_cast<std::uint32_t>(small_length(r));
      s.start_frame = static_cast<std::int32_t>(u32(r));
      s.number_of_packets = iso_free_packets(r);
      s.interval = static_cast<std::int32_t>(u32(r));
      r.fill(s.setup);
      if (s.header.direction == Direction::Out) s.data = bytes(r, s.transfer_buffer_length);
      return s;
    }
    default: return CmdUnlink{header(r), u32(r)};
  }
}

// Replies, with the direction their RET_SUBMIT answers (by seqnum).
Reply random_reply(Random& r, std::map<std::uint32_t, Direction>& directions) {
  switch (r.uniform(4)) {
    case 0: {
      OpRepDevlist l;
      const auto n = r.uniform(4);
      for (std::uint64_t i = 0; i < n; ++i) l.devices.push_back(device(r, true));
      return l;
    }
    case 1: {
      if (r.uniform(4) == 0) return OpRepImport{1 + static_cast<std::uint32_t>(r.uniform(0xffff)), std::nullopt};
      return OpRepImport{0, device(r, false)};
    }
    case 2: {
      RetSubmit s;
      s.header = header(r);
      const auto dir = r.uniform(2) ? Direction::In : Direction::Out;
      directions[s.header.seqnum] = dir;
      s.status = r.uniform(3) ? 0 : -static_cast<std::int32_t>(r.uniform(200));
      s.actual_length = static_cast<std::uint32_t>(small_length(r));
      s.start_frame = static_cast<std::int32_t>(u32(r));
      s.number_of_packets = iso_free_packets(r);
      if (dir == Direction::In) s.data = bytes(r, s.actual_length);
      return s;
    }
    default: return RetUnlink{header(r), r.uniform(2) ? 0 : -kECONNRESET};
  }
}

}  // namespace

TEST_CASE("usbip handshake PDUs have the kernel's byte layout") {
  const auto devlist = enc(Request(OpReqDevlist{}));
  CHECK(devlist == std::vector<std::uint8_t>{0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0});

  const auto import = enc(Request(OpReqImport{"1-1"}));
  REQUIRE(import.size() == kOpHeaderSize + kBusIdSize);
  CHECK(be16(import, 0) == 0x0111);
  CHECK(be16(import, 2) == 0x8003);
  CHECK(import[8] == '1');
  CHECK(import[9] == '-');
  CHECK(import[10] == '1');
  CHECK(import[11] == 0);

  const auto rep = enc(Reply(OpRepImport{0, reader_device()}));
  REQUIRE(rep.size() == kImportReplySize);  // 320 bytes, as vhci attach expects
  CHECK(be16(rep, 2) == 0x0003);
  CHECK(be32(rep, 4) == 0);
  CHECK(rep[8] == '/');
  CHECK(rep[8 + 256] == '1');                // busid at 0x108
  CHECK(be32(rep, 8 + 0x120) == 1);          // busnum
  CHECK(be32(rep, 8 + 0x124) == 2);          // devnum
  CHECK(be32(rep, 8 + 0x128) == 3);          // speed: high
  CHECK(be16(rep, 8 + 0x12c) == 0x1209);     // idVendor
  CHECK(be16(rep, 8 + 0x12e) == 0x7111);     // idProduct
  CHECK(be16(rep, 8 + 0x130) == 0x0140);     // bcdDevice
  CHECK(rep[8 + 0x135] == 1);                // bConfigurationValue
  CHECK(rep[8 + 0x137] == 1);                // bNumInterfaces

  auto d = reader_device();
  d.interfaces = {{0xff, 0x01, 0x02}};
  const auto list = enc(Reply(OpRepDevlist{{d}}));
  REQUIRE(list.size() == 12 + kDeviceBlockSize + 4);
  CHECK(be32(list, 8) == 1);
  CHECK(list[12 + kDeviceBlockSize] == 0xff);
  CHECK(list[12 + kDeviceBlockSize + 3] == 0);

  const auto refused = enc(Reply(OpRepImport{1, std::nullopt}));
  CHECK(refused.size() == kOpHeaderSize);
}

TEST_CASE("usbip URB PDUs have the kernel's byte layout") {
  CmdSubmit s;
  s.header = {7, 0x00010002, Direction::Out, 2};
  s.transfer_buffer_length = 3;
  s.number_of_packets = -1;
  s.setup = {1, 2, 3, 4, 5, 6, 7, 8};
  s.data = {0xaa, 0xbb, 0xcc};
  const auto b = enc(Request(s));
  REQUIRE(b.size() == kUrbHeaderSize + 3);
  CHECK(be32(b, 0) == kCmdSubmit);
  CHECK(be32(b, 4) == 7);
  CHECK(be32(b, 8) == 0x00010002);
  CHECK(be32(b, 12) == 0);
  CHECK(be32(b, 16) == 2);
  CHECK(be32(b, 24) == 3);
  CHECK(be32(b, 32) == 0xffffffff);
  CHECK(b[40] == 1);
  CHECK(b[47] == 8);
  CHECK(b[48] == 0xaa);

  RetSubmit r;
  r.header.seqnum = 7;
  r.status = -kEPIPE;
  const auto rb = enc(Reply(r));
  REQUIRE(rb.size() == kUrbHeaderSize);
  CHECK(be32(rb, 0) == kRetSubmit);
  CHECK(be32(rb, 20) == static_cast<std::uint32_t>(-32));

  const auto ub = enc(Reply(RetUnlink{{9, 0, Direction::Out, 0}, -kECONNRESET}));
  REQUIRE(ub.size() == kUrbHeaderSize);
  CHECK(be32(ub, 0) == kRetUnlink);
  CHECK(be32(ub, 20) == static_cast<std::uint32_t>(-104));

  const auto cu = enc(Request(CmdUnlink{{10, 0, Direction::Out, 0}, 7}));
  REQUIRE(cu.size() == kUrbHeaderSize);
  CHECK(be32(cu, 0) == kCmdUnlink);
  CHECK(be32(cu, 20) == 7);
}

TEST_CASE("usbip PDUs from SeededRandom survive an encode/decode round trip and every prefix asks for more") {
  SeededRandom rnd(20240611);
  for (int i = 0; i < 400; ++i) {
    INFO("case " << i);
    const Request req = random_request(rnd);
    const auto b = enc(req);
    auto d = decode_request(b);
    REQUIRE(d);
    REQUIRE(d->has_value());
    CHECK((*d)->size == b.size());
    CHECK((*d)->pdu == req);
    // A stream delivers any prefix first: none of them is an error or a PDU.
    for (std::size_t n : {std::size_t{0}, std::size_t{3}, b.size() / 2, b.size() - 1}) {
      if (n >= b.size()) continue;
      auto p = decode_request(std::span(b).first(n));
      REQUIRE(p);
      CHECK_FALSE(p->has_value());
    }
    // Trailing bytes belong to the next PDU.
    auto two = b;
    two.insert(two.end(), b.begin(), b.end());
    auto first = decode_request(two);
    REQUIRE(first);
    REQUIRE(first->has_value());
    CHECK((*first)->size == b.size());

    std::map<std::uint32_t, Direction> dirs;
    const Reply rep = random_reply(rnd, dirs);
    const auto rb = enc(rep);
    auto lookup = [&dirs](std::uint32_t seq) -> std::optional<Direction> {
      auto it = dirs.find(seq);
      if (it == dirs.end()) return std::nullopt;
      return it->second;
    };
    auto rd = decode_reply(rb, lookup);
    REQUIRE(rd);
    REQUIRE(rd->has_value());
    CHECK((*rd)->size == rb.size());
    CHECK((*rd)->pdu == rep);
    for (std::size_t n : {std::size_t{0}, std::size_t{7}, rb.size() / 2, rb.size() - 1}) {
      if (n >= rb.size()) continue;
      auto p = decode_reply(std::span(rb).first(n), lookup);
      REQUIRE(p);
      CHECK_FALSE(p->has_value());
    }
  }
}

TEST_CASE("usbip mutated PDUs either fail with a message or decode to something that re-encodes exactly") {
  SeededRandom rnd(77);
  int errors = 0, decoded = 0;
  for (int i = 0; i < 1500; ++i) {
    auto b = enc(random_request(rnd));
    const auto flips = 1 + rnd.uniform(3);
    for (std::uint64_t f = 0; f < flips; ++f)
      b[rnd.uniform(std::min<std::size_t>(b.size(), 80))] ^= static_cast<std::uint8_t>(1 + rnd.uniform(255));
    auto d = decode_request(b);
    if (!d) {
      ++errors;
      CHECK(d.error().kind == ErrorKind::DataLoss);
      CHECK(d.error().message.rfind("usbip: ", 0) == 0);
      continue;
    }
    if (!d->has_value()) continue;  // e.g. a grown length: waits for more
    ++decoded;
    const auto again = enc((*d)->pdu);
    CHECK(again == std::vector<std::uint8_t>(b.begin(), b.begin() + static_cast<std::ptrdiff_t>((*d)->size)));
  }
  // Both branches must have been exercised for the property to mean anything.
  CHECK(errors > 100);
  CHECK(decoded > 100);
}

TEST_CASE("usbip malformed requests fail with a clear error naming the field") {
  SECTION("an unsupported version") {
    auto b = enc(Request(OpReqDevlist{}));
    b[1] = 0x06;
    CHECK_THAT(error_of_request(b), Catch::Contains("unsupported protocol version 0x0106"));
  }
  SECTION("an unknown operation code") {
    auto b = enc(Request(OpReqDevlist{}));
    b[3] = 0x42;
    CHECK_THAT(error_of_request(b), Catch::Contains("unknown operation code 0x8042"));
  }
  SECTION("garbage") {
    CHECK_THAT(error_of_request({0xde, 0xad, 0xbe, 0xef}), Catch::Contains("unknown PDU (first word 0xdeadbeef)"));
  }
  SECTION("a non-zero request status") {
    auto b = enc(Request(OpReqDevlist{}));
    b[7] = 1;
    CHECK_THAT(error_of_request(b), Catch::Contains("status 1"));
  }
  SECTION("a busid without terminator, with junk after it, empty, or not printable") {
    auto b = enc(Request(OpReqImport{"1-1"}));
    std::fill(b.begin() + 8, b.end(), 'x');
    CHECK_THAT(error_of_request(b), Catch::Contains("busid is not NUL-terminated"));
    b = enc(Request(OpReqImport{"1-1"}));
    b.back() = 'x';
    CHECK_THAT(error_of_request(b), Catch::Contains("non-zero bytes after its terminator"));
    b = enc(Request(OpReqImport{"1-1"}));
    std::fill(b.begin() + 8, b.end(), 0);
    CHECK_THAT(error_of_request(b), Catch::Contains("busid is empty"));
    b = enc(Request(OpReqImport{"1-1"}));
    b[9] = 0x07;
    CHECK_THAT(error_of_request(b), Catch::Contains("non-printable"));
  }
  SECTION("a reply sent the wrong way") {
    const auto b = enc(Reply(RetUnlink{}));
    CHECK_THAT(error_of_request(b), Catch::Contains("RET_UNLINK sent to the exporting side"));
  }
  SECTION("an oversized transfer is refused from its header, before any data arrives") {
    CmdSubmit s;
    s.header.direction = Direction::Out;
    auto b = enc(Request(s));
    put32(b, 24, kMaxTransferLength + 1);
    CHECK_THAT(error_of_request(b), Catch::Contains("transfer_buffer_length 1048577 exceeds 1048576"));
  }
  SECTION("an isochronous submit") {
    CmdSubmit s;
    s.header.direction = Direction::In;
    auto b = enc(Request(s));
    put32(b, 32, 8);
    CHECK_THAT(error_of_request(b), Catch::Contains("isochronous transfers are not supported"));
  }
  SECTION("a bad direction or endpoint") {
    auto b = enc(Request(CmdUnlink{}));
    put32(b, 12, 2);
    CHECK_THAT(error_of_request(b), Catch::Contains("CMD_UNLINK direction 2"));
    b = enc(Request(CmdSubmit{}));
    put32(b, 16, 16);
    CHECK_THAT(error_of_request(b), Catch::Contains("CMD_SUBMIT endpoint 16 out of range"));
  }
  SECTION("non-zero unlink padding") {
    auto b = enc(Request(CmdUnlink{}));
    b[40] = 1;
    CHECK_THAT(error_of_request(b), Catch::Contains("CMD_UNLINK padding is not zero"));
  }
}

TEST_CASE("usbip malformed replies fail with a clear error naming the field") {
  const auto in = all(Direction::In);
  SECTION("a RET_SUBMIT for a seqnum never submitted") {
    const auto b = enc(Reply(RetSubmit{{5, 0, Direction::Out, 0}, 0, 0, 0, 0, 0, {}}));
    auto r = decode_reply(b, [](std::uint32_t) { return std::optional<Direction>(); });
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("seqnum 5, which was never submitted"));
  }
  SECTION("a positive status") {
    auto b = enc(Reply(RetSubmit{}));
    put32(b, 20, 5);
    auto r = decode_reply(b, in);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("RET_SUBMIT status 5"));
  }
  SECTION("too many devices or interfaces in a devlist") {
    auto b = enc(Reply(OpRepDevlist{}));
    put32(b, 8, kMaxDevices + 1);
    auto r = decode_reply(b, in);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("lists 65 devices"));
    b = enc(Reply(OpRepImport{0, reader_device()}));
    b[8 + 0x137] = kMaxInterfaces + 1;
    r = decode_reply(b, in);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("declares 33 interfaces"));
  }
  SECTION("an unknown speed") {
    auto b = enc(Reply(OpRepImport{0, reader_device()}));
    put32(b, 8 + 0x128, 9);
    auto r = decode_reply(b, in);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("device speed 9 unknown"));
  }
  SECTION("a command sent the wrong way") {
    auto r = decode_reply(enc(Request(CmdSubmit{})), in);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("CMD_SUBMIT sent to the importing side"));
  }
}

TEST_CASE("usbip encoders refuse fields that do not fit the wire format") {
  CHECK_FALSE(encode(Request(OpReqImport{std::string(32, 'a')})));
  CHECK_FALSE(encode(Request(OpReqImport{""})));
  CmdSubmit s;
  s.header.direction = Direction::Out;
  s.transfer_buffer_length = 4;
  s.data = {1, 2};
  CHECK_FALSE(encode(Request(s)));
  s.header.direction = Direction::In;
  CHECK_FALSE(encode(Request(s)));  // data on an IN submit
  auto d = reader_device();
  d.interfaces = {{1, 2, 3}};
  CHECK_FALSE(encode(Reply(OpRepImport{0, d})));  // import replies carry no interface list
  d.interfaces.clear();
  CHECK_FALSE(encode(Reply(OpRepDevlist{{d}})));  // devlist wants num_interfaces entries
  CHECK_FALSE(encode(Reply(OpRepImport{0, std::nullopt})));
  CHECK_FALSE(encode(Reply(RetUnlink{{}, 3})));
}
