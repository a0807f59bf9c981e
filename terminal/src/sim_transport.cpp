// In-process transport: the host side of the protocol talks to a DeviceEndpoint (the simulated
// reader) on the same io_context. Every hop is posted, so the host sees the same asynchrony as
// over a socket, and nothing re-enters the caller.
#include <algorithm>
#include <memory>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "till/terminal/drivers.hpp"

namespace till::terminal {
namespace {

namespace asio = boost::asio;

class SimTransport final : public Transport, public protocol::DeviceIo {
 public:
  SimTransport(asio::io_context& io, protocol::DeviceEndpoint& device) : io_(io), device_(device) {}
  ~SimTransport() override { close(); }

  void async_open(Callbacks callbacks, std::function<void(Status)> done) override {
    callbacks_ = std::move(callbacks);
    asio::post(io_, [this, alive = alive_, done = std::move(done)] {
      if (!*alive) return;
      Status st = device_.attach(this);
      if (st) open_ = true;
      done(std::move(st));
    });
  }

  void write(std::vector<std::uint8_t> bytes) override {
    if (!open_) return;
    asio::post(io_, [this, alive = alive_, bytes = std::move(bytes)] {
      if (*alive && open_) device_.receive_bytes(bytes);
    });
  }

  void close() override {
    if (open_) device_.attach(nullptr);
    open_ = false;
    *alive_ = false;
    for (auto& t : timers_) t->cancel();
    timers_.clear();
  }

  std::string describe() const override { return "sim (in-process)"; }

  // DeviceIo
  void send_bytes(std::vector<std::uint8_t> bytes) override {
    if (!open_) return;
    // Bytes already sent are delivered even if the device unplugs right after (they were on
    // the wire); only a host-side close() discards them.
    asio::post(io_, [this, alive = alive_, bytes = std::move(bytes)] {
      if (!*alive) return;
      auto cb = callbacks_.on_bytes;  // the callback may destroy this transport
      cb(bytes);
    });
  }

  void drop_link() override {
    if (!open_) return;
    open_ = false;
    device_.attach(nullptr);
    for (auto& t : timers_) t->cancel();
    timers_.clear();
    asio::post(io_, [this, alive = alive_] {
      if (!*alive) return;
      auto cb = callbacks_.on_closed;
      cb(Error{ErrorKind::Unavailable, "reader link closed (simulated unplug)", std::nullopt});
    });
  }

  void schedule(std::chrono::milliseconds delay, std::function<void()> fn) override {
    if (!open_) return;
    auto timer = std::make_shared<asio::steady_timer>(io_, delay);
    timers_.push_back(timer);
    timer->async_wait([this, alive = alive_, fn = std::move(fn), weak = std::weak_ptr(timer)](auto ec) {
      if (ec || !*alive) return;
      if (auto t = weak.lock()) std::erase(timers_, t);
      if (open_) fn();
    });
  }

 private:
  asio::io_context& io_;
  protocol::DeviceEndpoint& device_;
  Callbacks callbacks_;
  bool open_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<std::shared_ptr<asio::steady_timer>> timers_;
};

}  // namespace

TransportFactory sim_transport(asio::io_context& io, protocol::DeviceEndpoint& device) {
  return [&io, &device]() -> std::unique_ptr<Transport> { return std::make_unique<SimTransport>(io, device); };
}

}  // namespace till::terminal
