// The only Beast translation unit of till-office (Beast is slow to compile).

#include "till/office/server.hpp"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "till/base/log.hpp"

namespace till::office {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Stream = beast::ssl_stream<beast::tcp_stream>;

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(ServerConfig c, Api& a) : config(std::move(c)), api(a), tls(ssl::context::tls_server), acceptor(io) {}

  ServerConfig config;
  Api& api;
  asio::io_context io;
  ssl::context tls;
  tcp::acceptor acceptor;
  std::vector<std::thread> workers;
  std::uint16_t port = 0;
  std::atomic<bool> stopped{false};
  std::atomic<std::size_t> served{0};
  std::mutex streams_mutex;
  std::set<Stream*> streams;

  static http::response<http::string_body> to_http(const ApiResponse& r, bool keep_alive) {
    http::response<http::string_body> res;
    res.version(11);
    res.result(static_cast<unsigned>(r.status));
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    for (const auto& [k, v] : r.headers) res.set(k, v);
    res.body() = r.body;
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
  }

  // Reads and throws away what is left of a refused body, so the client sees our 413 rather
  // than a reset, bounded in bytes and time.
  asio::awaitable<void> drain(Stream& stream, beast::flat_buffer& buffer, std::uint64_t remaining) {
    remaining = std::min<std::uint64_t>(remaining, 8 * 1024 * 1024);
    const auto buffered = std::min<std::uint64_t>(remaining, buffer.size());
    buffer.consume(buffered);
    remaining -= buffered;
    std::vector<char> sink(16 * 1024);
    stream.next_layer().expires_after(std::chrono::seconds(2));
    while (remaining > 0) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      remaining -= std::min<std::uint64_t>(remaining, n);
    }
  }

  // One connection: TLS handshake, then requests until the client closes, a deadline passes or
  // the server stops.
  asio::awaitable<void> serve(tcp::socket socket) {
    auto self = shared_from_this();
    error_code pec;
    const auto ep = socket.remote_endpoint(pec);
    const std::string peer = pec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
    Stream stream(std::move(socket), tls);
    {
      std::lock_guard lock(streams_mutex);
      streams.insert(&stream);
    }
    struct Untrack {
      Impl& s;
      Stream* p;
      ~Untrack() {
        std::lock_guard lock(s.streams_mutex);
        s.streams.erase(p);
      }
    } untrack{*this, &stream};
    stream.next_layer().expires_after(config.handshake_timeout);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (hec) {
      log::debug("office.tls_handshake_failed", {{"peer", peer}, {"error", hec.message()}});
      co_return;
    }
    beast::flat_buffer buffer;
    while (!stopped) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      // No limit while the header is read (Beast would fail the header on a large
      // Content-Length, leaving nothing to answer); the size is checked below, then limited.
      parser.body_limit(boost::none);
      stream.next_layer().expires_after(config.read_timeout);
      auto [eh, nh] = co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)nh;
      if (eh) co_return;  // closed, timed out, or not HTTP: nothing to answer
      bool keep_alive = parser.get().keep_alive();
      ApiResponse reply;
      const auto length = parser.content_length();
      if (length && *length > api.config().max_body_bytes) {
        reply = error_response(413, "body_too_large", "the request body is too large");
        keep_alive = false;
        co_await drain(stream, buffer, *length);
      } else {
        parser.body_limit(api.config().max_body_bytes);  // a chunked body has no length up front
        auto [eb, nb] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        (void)nb;
        if (eb == http::error::body_limit) {
          reply = error_response(413, "body_too_large", "the request body is too large");
          keep_alive = false;
        } else if (eb) {
          co_return;
        } else {
          const auto& req = parser.get();
          ApiRequest a;
          a.method = std::string(req.method_string());
          a.target = std::string(req.target());
          a.authorization = std::string(req[http::field::authorization]);
          a.content_type = std::string(req[http::field::content_type]);
          a.body = req.body();
          a.peer = peer;
          // Blocking on PostgreSQL here is the design: this is one of the worker threads.
          reply = api.handle(a);
          ++served;
        }
      }
      auto res = to_http(reply, keep_alive && !stopped);
      stream.next_layer().expires_after(config.read_timeout);
      auto [ew, nw] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      (void)nw;
      if (ew || !res.keep_alive()) break;
    }
    stream.next_layer().expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      // Each connection on its own strand: its coroutine never runs on two workers at once.
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) co_return;
        log::warn("office.accept_failed", {{"error", ec.message()}});
        continue;
      }
      auto executor = socket.get_executor();
      asio::co_spawn(executor, serve(std::move(socket)), asio::detached);
    }
  }

  void stop() {
    if (stopped.exchange(true)) return;
    asio::post(io, [this] {
      error_code ec;
      acceptor.close(ec);
      std::lock_guard lock(streams_mutex);
      for (Stream* s : streams) s->next_layer().socket().close(ec);
    });
    asio::post(io, [this] { io.stop(); });
    for (auto& t : workers) {
      if (t.joinable()) t.join();
    }
    // Let the cancelled operations complete on this thread, so every connection's coroutine
    // unwinds and drops its reference to this Impl (otherwise the frames left in the
    // io_context would keep it alive for ever).
    io.restart();
    while (io.poll() > 0) {
    }
  }
};

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { stop(); }

Result<std::unique_ptr<Server>> Server::start(ServerConfig config, Api& api) {
  error_code ec;
  const auto address = asio::ip::make_address(config.host, ec);
  if (ec) return fail(ErrorKind::InvalidArgument, "listen address '" + config.host + "' is not an IP address");
  auto impl = std::make_shared<Impl>(std::move(config), api);
  auto& tls = impl->tls;
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  tls.use_certificate_chain_file(impl->config.cert_file, ec);
  if (!ec) tls.use_private_key_file(impl->config.key_file, ssl::context::pem, ec);
  if (ec) return fail(ErrorKind::InvalidArgument, "cannot load the TLS certificate or key: " + ec.message());
  const tcp::endpoint endpoint(address, impl->config.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(ErrorKind::Unavailable, "cannot listen on " + impl->config.host + ":" +
                                            std::to_string(impl->config.port) + ": " + ec.message());
  }
  impl->port = impl->acceptor.local_endpoint().port();
  asio::co_spawn(impl->io, impl->accept_loop(), asio::detached);
  const std::size_t n = std::max<std::size_t>(1, impl->config.threads);
  for (std::size_t i = 0; i < n; ++i) {
    impl->workers.emplace_back([io = &impl->io] { io->run(); });
  }
  log::info("office.listening", {{"host", impl->config.host}, {"port", static_cast<int>(impl->port)},
                                 {"threads", static_cast<int>(n)}});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint16_t Server::port() const noexcept { return impl_->port; }
std::string Server::base_url() const {
  const bool v6 = impl_->config.host.find(':') != std::string::npos;
  return "https://" + (v6 ? "[" + impl_->config.host + "]" : impl_->config.host) + ":" + std::to_string(impl_->port);
}
void Server::stop() { impl_->stop(); }
std::size_t Server::requests_served() const noexcept { return impl_->served; }

}  // namespace till::office
