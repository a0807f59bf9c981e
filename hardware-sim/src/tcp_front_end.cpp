#include "till/hwsim/tcp_front_end.hpp"

#include <array>
#include <deque>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "till/base/log.hpp"

namespace till::hwsim {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// One host connection; it is the device's DeviceIo while attached.
class Connection final : public terminal::protocol::DeviceIo, public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, tcp::socket socket, terminal::protocol::DeviceEndpoint& device,
             std::function<void()> on_gone)
      : io_(io), socket_(std::move(socket)), device_(device), on_gone_(std::move(on_gone)) {}

  bool start() {
    if (auto st = device_.attach(this); !st) {
      log::info("hwsim.tcp.refused", {{"reason", st.error().message}});
      return false;
    }
    attached_ = true;
    read();
    return true;
  }

  void close() {
    if (closed_) return;
    auto keep = shared_from_this();  // on_gone_ drops the front end's reference to us
    closed_ = true;
    if (attached_) device_.attach(nullptr);
    attached_ = false;
    for (auto& t : timers_) t->cancel();
    timers_.clear();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (on_gone_) {
      auto cb = std::move(on_gone_);
      cb();
    }
  }

  void send_bytes(std::vector<std::uint8_t> bytes) override {
    if (closed_ || dropping_) return;
    queue_.push_back(std::move(bytes));
    write_next();
  }

  void drop_link() override {
    // Detach at once (the device says nothing more), but let frames it already sent reach the
    // socket first, as they would have left a real reader before the cable was pulled.
    if (attached_) device_.attach(nullptr);
    attached_ = false;
    dropping_ = true;
    if (!writing_ && queue_.empty()) close();
  }

  void schedule(std::chrono::milliseconds delay, std::function<void()> fn) override {
    if (closed_ || dropping_) return;
    auto timer = std::make_shared<asio::steady_timer>(io_, delay);
    timers_.push_back(timer);
    timer->async_wait([self = shared_from_this(), fn = std::move(fn), weak = std::weak_ptr(timer)](auto ec) {
      if (ec || self->closed_ || self->dropping_) return;
      if (auto t = weak.lock()) std::erase(self->timers_, t);
      fn();
    });
  }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](auto ec, std::size_t n) {
      if (self->closed_) return;
      if (ec) return self->close();
      if (self->dropping_) return;  // unplugged: nobody listens any more
      self->device_.receive_bytes(std::span<const std::uint8_t>(self->buffer_.data(), n));
      if (!self->closed_) self->read();
    });
  }

  void write_next() {
    if (writing_ || queue_.empty() || closed_) return;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(queue_.front()), [self = shared_from_this()](auto ec, std::size_t) {
      self->writing_ = false;
      if (self->closed_) return;
      if (ec) return self->close();
      self->queue_.pop_front();
      if (self->dropping_ && self->queue_.empty()) return self->close();
      self->write_next();
    });
  }

  asio::io_context& io_;
  tcp::socket socket_;
  terminal::protocol::DeviceEndpoint& device_;
  std::function<void()> on_gone_;
  bool attached_ = false;
  bool closed_ = false;
  bool writing_ = false;
  bool dropping_ = false;
  std::deque<std::vector<std::uint8_t>> queue_;
  std::array<std::uint8_t, 4096> buffer_{};
  std::vector<std::shared_ptr<asio::steady_timer>> timers_;
};

}  // namespace

struct TcpFrontEnd::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, terminal::protocol::DeviceEndpoint& device) : io(io), device(device), acceptor(io) {}
  asio::io_context& io;
  terminal::protocol::DeviceEndpoint& device;
  tcp::acceptor acceptor;
  std::shared_ptr<Connection> current;
  std::uint16_t port = 0;
  int accepted = 0;
  int refused = 0;
  bool stopped = false;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](auto ec, tcp::socket socket) {
      if (self->stopped) return;
      if (!ec) self->on_accept(std::move(socket));
      self->accept();
    });
  }

  void on_accept(tcp::socket socket) {
    if (current) {
      // Lesson 5: the reader is held by one host at a time; a second host is told so by a closed socket.
      ++refused;
      boost::system::error_code ignored;
      socket.close(ignored);
      return;
    }
    // Frames are small and latency matters more than packet count (Nagle + delayed ACK would
    // stall each reply by ~40 ms).
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto weak = weak_from_this();
    auto conn = std::make_shared<Connection>(io, std::move(socket), device, [weak] {
      if (auto s = weak.lock()) s->current.reset();
    });
    current = conn;
    if (!conn->start()) {
      ++refused;
      conn->close();
      return;
    }
    ++accepted;
    log::info("hwsim.tcp.connected", {{"port", static_cast<int>(port)}});
  }
};

TcpFrontEnd::TcpFrontEnd(asio::io_context& io, terminal::protocol::DeviceEndpoint& device)
    : impl_(std::make_shared<Impl>(io, device)) {}

TcpFrontEnd::~TcpFrontEnd() { stop(); }

Result<std::uint16_t> TcpFrontEnd::listen(const std::string& address, std::uint16_t port) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(address, ec);
  if (ec) return fail(ErrorKind::InvalidArgument, "listen: not a numeric address: " + address);
  tcp::endpoint ep(addr, port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ErrorKind::Unavailable, "listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  return impl_->port;
}

void TcpFrontEnd::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  if (auto c = impl_->current) c->close();
  impl_->current.reset();
}

std::uint16_t TcpFrontEnd::port() const noexcept { return impl_->port; }
int TcpFrontEnd::connections_accepted() const noexcept { return impl_->accepted; }
int TcpFrontEnd::connections_refused() const noexcept { return impl_->refused; }

}  // namespace till::hwsim
