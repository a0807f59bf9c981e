// The webhook endpoint's HTTP listener: the only Beast translation unit of the sync engine
// (Beast is slow to compile).

#include "till/sync/webhook_server.hpp"

#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "till/base/log.hpp"

namespace till::sync {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct WebhookServer::Impl : std::enable_shared_from_this<WebhookServer::Impl> {
  Impl(asio::io_context& io_, WebhookServerConfig c, WebhookCallback cb)
      : io(io_), config(std::move(c)), callback(std::move(cb)), acceptor(io_) {}

  asio::io_context& io;
  WebhookServerConfig config;
  WebhookCallback callback;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;
  bool stopped = false;
  std::size_t served = 0;
  std::set<beast::tcp_stream*> streams;

  static std::string json_reply(int status, std::string_view message) {
    std::string escaped;
    for (char c : message) {
      if (c == '"' || c == '\\') escaped.push_back('\\');
      if (static_cast<unsigned char>(c) >= 0x20) escaped.push_back(c);
    }
    return std::string("{\"status\":") + std::to_string(status) + ",\"message\":\"" + escaped + "\"}";
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    auto self = shared_from_this();
    beast::tcp_stream stream(std::move(socket));
    streams.insert(&stream);
    struct Untrack {
      Impl& s;
      beast::tcp_stream* p;
      ~Untrack() { s.streams.erase(p); }
    } untrack{*this, &stream};
    beast::flat_buffer buffer;
    while (!stopped) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(config.max_body_bytes);
      stream.expires_after(config.read_timeout);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)n;
      http::response<http::string_body> res;
      res.version(11);
      res.set(http::field::content_type, "application/json");
      if (ec == http::error::body_limit) {
        res.result(http::status::payload_too_large);
        res.body() = json_reply(413, "body too large");
        res.keep_alive(false);
      } else if (ec) {
        co_return;  // closed, timed out or garbage: nothing to answer
      } else {
        auto& req = parser.get();
        res.keep_alive(req.keep_alive());
        const std::string_view target(req.target().data(), req.target().size());
        const std::string_view path = target.substr(0, target.find('?'));
        if (path != config.path) {
          res.result(http::status::not_found);
          res.body() = json_reply(404, "not found");
        } else if (req.method() != http::verb::post) {
          res.result(http::status::method_not_allowed);
          res.set(http::field::allow, "POST");
          res.body() = json_reply(405, "POST only");
        } else {
          const auto sig = req["Stripe-Signature"];
          WebhookHttpReply reply = callback(req.body(), std::string_view(sig.data(), sig.size()));
          ++served;
          res.result(static_cast<unsigned>(reply.status));
          res.body() = reply.body.empty() ? json_reply(reply.status, "") : std::move(reply.body);
        }
      }
      res.prepare_payload();
      stream.expires_after(config.read_timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      (void)wn;
      if (wec || !res.keep_alive()) break;
    }
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) co_return;
        log::warn("webhook_server.accept_failed", {{"error", ec.message()}});
        continue;
      }
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    error_code ec;
    acceptor.close(ec);
    for (beast::tcp_stream* s : streams) s->socket().close(ec);
  }
};

WebhookServer::WebhookServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebhookServer::~WebhookServer() { stop(); }

Result<std::unique_ptr<WebhookServer>> WebhookServer::start(asio::io_context& io, WebhookServerConfig config,
                                                            WebhookCallback callback) {
  error_code ec;
  const auto address = asio::ip::make_address(config.host, ec);
  if (ec) return fail(ErrorKind::InvalidArgument, "webhook listen address '" + config.host + "' is not an IP address");
  if (config.path.empty() || config.path.front() != '/') {
    return fail(ErrorKind::InvalidArgument, "webhook path must start with '/'");
  }
  auto impl = std::make_shared<Impl>(io, std::move(config), std::move(callback));
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
  asio::co_spawn(io, impl->accept_loop(), asio::detached);
  log::info("webhook_server.listening", {{"host", impl->config.host}, {"port", static_cast<int>(impl->port)},
                                         {"path", impl->config.path}});
  return std::unique_ptr<WebhookServer>(new WebhookServer(std::move(impl)));
}

std::uint16_t WebhookServer::port() const noexcept { return impl_->port; }
std::string WebhookServer::url() const {
  return "http://" + impl_->config.host + ":" + std::to_string(impl_->port) + impl_->config.path;
}
std::size_t WebhookServer::requests_served() const noexcept { return impl_->served; }
void WebhookServer::stop() { impl_->stop(); }

}  // namespace till::sync
