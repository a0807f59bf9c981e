// TCP transport: the reader protocol over a stream socket to till-reader-sim.
#include <array>
#include <deque>
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "till/terminal/drivers.hpp"

namespace till::terminal {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Handlers hold the State, not the transport, so the transport may be destroyed at any time.
struct TcpState : std::enable_shared_from_this<TcpState> {
  explicit TcpState(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  Transport::Callbacks callbacks;
  bool open = false;
  bool closed = false;  // close() was called or the link failed: no more callbacks
  bool writing = false;
  std::deque<std::vector<std::uint8_t>> queue;
  std::array<std::uint8_t, 4096> buffer{};

  void fail(const std::string& what, const boost::system::error_code& ec) {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    socket.close(ignored);
    auto cb = callbacks.on_closed;
    if (cb) cb(Error{ErrorKind::Unavailable, "reader link " + what + ": " + ec.message(), std::nullopt});
  }

  void read() {
    socket.async_read_some(asio::buffer(buffer), [self = shared_from_this()](auto ec, std::size_t n) {
      if (self->closed) return;
      if (ec) return self->fail("closed", ec);
      auto cb = self->callbacks.on_bytes;
      cb(std::span<const std::uint8_t>(self->buffer.data(), n));
      if (!self->closed) self->read();
    });
  }

  void write_next() {
    if (writing || queue.empty() || closed) return;
    writing = true;
    asio::async_write(socket, asio::buffer(queue.front()), [self = shared_from_this()](auto ec, std::size_t) {
      self->writing = false;
      if (self->closed) return;
      if (ec) return self->fail("write failed", ec);
      self->queue.pop_front();
      self->write_next();
    });
  }
};

class TcpTransport final : public Transport {
 public:
  TcpTransport(asio::io_context& io, std::string host, std::uint16_t port)
      : io_(io), host_(std::move(host)), port_(port), state_(std::make_shared<TcpState>(io)) {}
  ~TcpTransport() override { close(); }

  void async_open(Callbacks callbacks, std::function<void(Status)> done) override {
    state_->callbacks = std::move(callbacks);
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host_, ec);
    if (ec) {
      asio::post(io_, [done = std::move(done), d = describe()] {
        done(fail(ErrorKind::InvalidArgument, d + ": not a numeric address"));
      });
      return;
    }
    state_->socket.async_connect(tcp::endpoint(address, port_),
                                 [s = state_, done = std::move(done), d = describe()](auto cec) {
                                   if (s->closed) return;
                                   if (cec) {
                                     s->closed = true;
                                     return done(fail(ErrorKind::Unavailable, "connect to " + d + ": " + cec.message()));
                                   }
                                   boost::system::error_code ignored;
                                   s->socket.set_option(tcp::no_delay(true), ignored);
                                   s->open = true;
                                   done(ok());
                                   if (s->closed) return;
                                   s->read();
                                   s->write_next();
                                 });
  }

  void write(std::vector<std::uint8_t> bytes) override {
    if (state_->closed) return;
    state_->queue.push_back(std::move(bytes));
    if (state_->open) state_->write_next();
  }

  void close() override {
    state_->closed = true;
    boost::system::error_code ignored;
    state_->socket.close(ignored);
  }

  std::string describe() const override { return "tcp " + host_ + ":" + std::to_string(port_); }

 private:
  asio::io_context& io_;
  std::string host_;
  std::uint16_t port_;
  std::shared_ptr<TcpState> state_;
};

}  // namespace

TransportFactory tcp_transport(asio::io_context& io, std::string host, std::uint16_t port) {
  return [&io, host = std::move(host), port]() -> std::unique_ptr<Transport> {
    return std::make_unique<TcpTransport>(io, host, port);
  };
}

}  // namespace till::terminal
