// The device model at the byte level, through a RecordingDeviceIo whose timers the test fires
// by hand: no io_context, no clock, fully deterministic.
#include <catch2/catch.hpp>

#include <functional>
#include <vector>

#include "till/hwsim/reader_device.hpp"

using namespace till;
namespace p = till::terminal::protocol;

namespace {

class RecordingDeviceIo final : public p::DeviceIo {
 public:
  std::vector<p::Envelope> received;
  std::uint64_t malformed = 0;
  int drops = 0;
  std::vector<std::function<void()>> timers;

  void send_bytes(std::vector<std::uint8_t> bytes) override {
    decoder_.feed(bytes);
    while (auto m = decoder_.next()) {
      if (*m) received.push_back(**m);
      else ++malformed;
    }
  }
  void drop_link() override { ++drops; }
  void schedule(std::chrono::milliseconds, std::function<void()> fn) override { timers.push_back(std::move(fn)); }

  // Fires every pending timer (and those they schedule) in order.
  void fire_all() {
    for (std::size_t i = 0; i < timers.size() && i < 10'000; ++i) {
      auto fn = timers[i];
      fn();
    }
    timers.clear();
  }
  template <class M>
  std::vector<M> all() const {
    std::vector<M> out;
    for (const auto& e : received)
      if (auto* m = std::get_if<M>(&e.message)) out.push_back(*m);
    return out;
  }

 private:
  p::MessageDecoder decoder_;
};

void send(hwsim::ReaderDevice& d, std::uint16_t seq, p::Message m) {
  auto bytes = p::encode(p::Envelope{seq, std::move(m)});
  REQUIRE(bytes);
  d.receive_bytes(*bytes);
}

}  // namespace

TEST_CASE("the reader refuses a hello with no common protocol version") {
  hwsim::ReaderDevice d;
  RecordingDeviceIo io;
  REQUIRE(d.attach(&io));
  send(d, 1, p::Hello{2, 3, "future host"});
  auto acks = io.all<p::Ack>();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].request_seq == 1);
  CHECK(acks[0].error == p::ErrorCode::UnsupportedVersion);
  send(d, 2, p::Hello{1, 3, "host"});
  auto replies = io.all<p::HelloReply>();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0].version == 1);
}

TEST_CASE("the reader answers a second collect with busy and keeps the first") {
  hwsim::ReaderDevice d;
  RecordingDeviceIo io;
  REQUIRE(d.attach(&io));
  send(d, 1, p::Collect{1000, "usd", false, 60'000});
  send(d, 2, p::Collect{2000, "usd", false, 60'000});
  auto results = io.all<p::CollectResult>();
  REQUIRE(results.size() == 1);
  CHECK(results[0].request_seq == 2);
  CHECK(results[0].error == p::ErrorCode::Busy);
  REQUIRE(d.present_card("visa"));
  io.fire_all();
  results = io.all<p::CollectResult>();
  REQUIRE(results.size() == 2);
  CHECK(results[1].request_seq == 1);
  CHECK(results[1].outcome == p::Outcome::Approved);
}

TEST_CASE("the reader skips malformed host frames and still answers the next good one") {
  hwsim::ReaderDevice d;
  RecordingDeviceIo io;
  REQUIRE(d.attach(&io));
  const std::vector<std::uint8_t> noise{0xA7, 0x00, 0xFF, 0xA7, 0x54, 0x01, 0x77};
  d.receive_bytes(noise);
  auto good = p::encode(p::Envelope{5, p::StatusRequest{}});
  REQUIRE(good);
  auto corrupted = *good;
  corrupted[corrupted.size() - 1] ^= 1;
  d.receive_bytes(corrupted);
  d.receive_bytes(*good);
  CHECK(io.all<p::StatusMessage>().size() == 1);
  CHECK(d.malformed_frames_received() >= 2);
}

TEST_CASE("a host that sends a reader-bound message gets invalid_request") {
  hwsim::ReaderDevice d;
  RecordingDeviceIo io;
  REQUIRE(d.attach(&io));
  send(d, 9, p::StatusMessage{});
  auto acks = io.all<p::Ack>();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].error == p::ErrorCode::InvalidRequest);
}

TEST_CASE("a second host is refused while one holds the reader, and an unplugged reader refuses all") {
  hwsim::ReaderDevice d;
  RecordingDeviceIo a, b;
  REQUIRE(d.attach(&a));
  auto second = d.attach(&b);
  REQUIRE_FALSE(second);
  CHECK(second.error().kind == ErrorKind::Unavailable);
  d.unplug();
  CHECK(a.drops == 1);
  REQUIRE(d.attach(nullptr));
  CHECK_FALSE(d.attach(&b));
  d.plug();
  CHECK(d.attach(&b));
}

TEST_CASE("the link dropping mid-payment abandons it before authorizing and loses it after") {
  SECTION("before") {
    hwsim::ReaderDevice d;
    RecordingDeviceIo io;
    REQUIRE(d.attach(&io));
    send(d, 1, p::Collect{1000, "usd", false, 60'000});
    REQUIRE(d.present_card("visa"));
    REQUIRE(d.attach(nullptr));
    REQUIRE(d.records().size() == 1);
    CHECK(d.records()[0].outcome == "abandoned");
  }
  SECTION("after") {
    hwsim::DeviceConfig cfg;
    hwsim::ReaderDevice d(cfg);
    RecordingDeviceIo io;
    REQUIRE(d.attach(&io));
    send(d, 1, p::Collect{1000, "usd", false, 60'000});
    REQUIRE(d.present_card("visa"));
    // Fire the read; the decision is scheduled but its result not yet sent.
    auto read = io.timers;
    io.timers.clear();
    for (auto& t : read) t();
    REQUIRE_FALSE(io.all<p::Event>().empty());
    CHECK(io.all<p::Event>().back().kind == p::EventKind::Authorizing);
    REQUIRE(d.attach(nullptr));
    CHECK(d.records().back().outcome == "lost:authorizing");
    CHECK(io.all<p::CollectResult>().empty());
  }
}

TEST_CASE("the observer tells a person what the reader shows, without card numbers") {
  hwsim::ReaderDevice d;
  std::vector<std::string> told;
  d.set_observer([&](const std::string& s) { told.push_back(s); });
  RecordingDeviceIo io;
  REQUIRE(d.attach(&io));
  send(d, 1, p::Collect{1234, "eur", false, 60'000});
  REQUIRE(d.present_card("4000000000009995"));
  io.fire_all();
  REQUIRE(told.size() == 3);
  CHECK(told[0] == "host connected");
  CHECK(told[1] == "payment of 1234 eur (minor units): present a card (type: card visa)");
  CHECK(told[2] == "result: declined:insufficient_funds visa 9995");
  for (const auto& t : told) CHECK_FALSE(p::looks_like_card_number(t));
}
