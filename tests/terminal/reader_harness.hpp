#pragma once
// Test harnesses that put a protocol Reader in front of a simulated ReaderDevice on one
// io_context: SimHarness (in-process driver) and TcpHarness (tcp driver + TcpFrontEnd on
// 127.0.0.1:0). The shared contract suite and the scenario tests run against both.
//
// No sleeps: run_until() turns the io_context until a condition holds; a watchdog timer stops
// a hung test (it fails the test instead of hanging CI).

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "till/hwsim/reader_device.hpp"
#include "till/hwsim/tcp_front_end.hpp"
#include "till/terminal/drivers.hpp"

namespace till::terminal::testing {

using namespace std::chrono_literals;

// Fast defaults so a test's timeouts stay in the tens of milliseconds.
inline ProtocolReaderOptions fast_options() {
  ProtocolReaderOptions o;
  o.cancel_grace = 200ms;
  return o;
}

struct HarnessBase {
  explicit HarnessBase(hwsim::DeviceConfig cfg) : device(std::move(cfg)) {}
  virtual ~HarnessBase() = default;

  boost::asio::io_context io;
  hwsim::ReaderDevice device;
  std::unique_ptr<Reader> reader;
  std::vector<ReaderEvent> events;

  void watch_events() {
    reader->set_event_handler([this](const ReaderEvent& e) { events.push_back(e); });
  }

  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 5s) {
    auto expired = std::make_shared<bool>(false);
    boost::asio::steady_timer watchdog(io, limit);
    watchdog.async_wait([expired](auto ec) {
      if (!ec) *expired = true;
    });
    while (!pred() && !*expired) {
      if (io.run_one() == 0) {
        io.restart();
        break;
      }
    }
    watchdog.cancel();
    return pred();
  }

  // Runs pending work that is already due (events posted after a completion).
  void drain() {
    io.poll();
    io.restart();
  }

  Result<ReaderInfo> connect() {
    std::optional<Result<ReaderInfo>> got;
    reader->async_connect({}, 2s, [&](Result<ReaderInfo> r) { got = std::move(r); });
    REQUIRE(run_until([&] { return got.has_value(); }));
    return *got;
  }

  Result<CollectOutcome> collect(std::int64_t amount, CollectOptions options = {}, std::string currency = "usd") {
    if (options.deadline == CollectOptions{}.deadline) options.deadline = 3s;
    std::optional<Result<CollectOutcome>> got;
    reader->async_collect(pos::Money(amount, pos::Currency::of(currency)), options,
                          [&](Result<CollectOutcome> r) { got = std::move(r); });
    REQUIRE(run_until([&] { return got.has_value(); }));
    drain();
    return *got;
  }

  Status set_display(const Cart& cart) {
    std::optional<Status> got;
    reader->async_set_display(cart, 1s, [&](Status s) { got = std::move(s); });
    REQUIRE(run_until([&] { return got.has_value(); }));
    return *got;
  }

  bool saw(ReaderEventKind k) const {
    for (const auto& e : events)
      if (e.kind == k) return true;
    return false;
  }
  int count(ReaderEventKind k) const {
    int n = 0;
    for (const auto& e : events) n += e.kind == k ? 1 : 0;
    return n;
  }
};

struct SimHarness : HarnessBase {
  static constexpr const char* kName = "sim";
  explicit SimHarness(hwsim::DeviceConfig cfg = {}, ProtocolReaderOptions opts = fast_options())
      : HarnessBase(std::move(cfg)) {
    reader = make_sim_reader(io, device, std::move(opts));
    watch_events();
  }
};

struct TcpHarness : HarnessBase {
  static constexpr const char* kName = "tcp";
  explicit TcpHarness(hwsim::DeviceConfig cfg = {}, ProtocolReaderOptions opts = fast_options())
      : HarnessBase(std::move(cfg)), server(std::make_unique<hwsim::TcpFrontEnd>(io, device)) {
    auto port = server->listen("127.0.0.1", 0);
    REQUIRE(port);
    reader = make_tcp_reader(io, "127.0.0.1", *port, std::move(opts));
    watch_events();
  }
  ~TcpHarness() override {
    reader.reset();
    server.reset();
  }
  std::unique_ptr<hwsim::TcpFrontEnd> server;
};

}  // namespace till::terminal::testing
