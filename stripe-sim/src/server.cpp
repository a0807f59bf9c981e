// The HTTP shell around the simulated API, and the webhook sender. The only Beast translation
// unit of the simulator (Beast is slow to compile).

#include "till/stripesim/server.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "till/base/log.hpp"
#include "till/base/random.hpp"
#include "till/stripesim/signature.hpp"
#include "tls.hpp"

namespace till::stripesim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct Server::Impl {
  explicit Impl(ServerOptions o) : options(std::move(o)), api(options.sim), dice(options.sim.seed + 7) {}

  ServerOptions options;
  Api api;
  asio::io_context io;
  // Every connection, the acceptor and every webhook delivery run on a strand of their own, so
  // the io threads (options.threads) never touch one socket at once; the books are behind the
  // Api's mutex.
  tcp::acceptor acceptor{asio::make_strand(io)};
  std::optional<asio::ssl::context> ssl;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  std::string ca_file;
  bool stopped = false;
  std::mutex stop_mutex;
  std::mutex dice_mutex;
  SeededRandom dice;  // webhook duplication / reordering (dice_mutex)
  std::atomic<std::size_t> deliveries_active{0};
  std::atomic<bool> closing{false};

  // How to close everything that can keep the io_context busy (sockets, timers), so that
  // stop() can end it. Each closer posts the close to the resource's own strand and holds the
  // resource (shared_ptr) until then, so it never races the coroutine that owns it.
  std::mutex track_mutex;
  std::uint64_t next_track = 0;
  std::map<std::uint64_t, std::function<void()>> closers;

  struct Tracked {
    Impl& s;
    std::uint64_t id;
    ~Tracked() {
      std::lock_guard lock(s.track_mutex);
      s.closers.erase(id);
    }
  };
  // Registers a closer; one registered after stop() began runs at once.
  Tracked track(std::function<void()> closer) {
    std::lock_guard lock(track_mutex);
    const std::uint64_t id = ++next_track;
    if (closing) {
      closer();
    } else {
      closers.emplace(id, std::move(closer));
    }
    return Tracked{*this, id};
  }
  template <class T, class F>
  Tracked track_on_strand(const std::shared_ptr<T>& resource, F close) {
    return track([resource, close] { asio::post(resource->get_executor(), [resource, close] { close(*resource); }); });
  }

  asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    if (d.count() <= 0 || closing) co_return;
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, d);
    Tracked tracked = track_on_strand(timer, [](asio::steady_timer& t) { t.cancel(); });
    error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  void close_all() {
    std::lock_guard lock(track_mutex);
    closing = true;
    for (auto& [id, close] : closers) close();
    asio::post(acceptor.get_executor(), [this] {
      error_code ec;
      acceptor.close(ec);
    });
  }

  static void reset(tcp::socket& sock) {
    error_code ec;
    sock.set_option(asio::socket_base::linger(true, 0), ec);
    sock.close(ec);
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, tcp::socket& raw) {
    beast::flat_buffer buffer;
    while (!closing) {
      http::request<http::string_body> req;
      error_code ec;
      co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;

      Request request;
      request.method = std::string(req.method_string());
      request.target = std::string(req.target());
      for (const auto& field : req) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      request.body = std::move(req.body());

      Prepared prepared = api.prepare(request);
      if (prepared.transport == Transport::ResetBeforeRead) {
        reset(raw);
        co_return;
      }
      co_await sleep_for(prepared.latency);
      Response response;
      if (prepared.immediate) {
        response = std::move(*prepared.immediate);
      } else {
        if (closing) {
          api.abandon(prepared.ticket);
          co_return;
        }
        response = api.execute(prepared.ticket);
        if (prepared.transport == Transport::DropAfterCommit) {
          after_request();
          reset(raw);
          co_return;
        }
      }

      http::response<http::string_body> res{static_cast<http::status>(response.status), req.version()};
      res.set(http::field::server, "till-stripe-sim");
      for (const auto& [k, v] : response.headers) res.set(k, v);
      res.body() = std::move(response.body);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      after_request();
      if (ec || !res.keep_alive()) co_return;
    }
  }

  asio::awaitable<void> session(std::shared_ptr<tcp::socket> sock) {
    Tracked tracked = track_on_strand(sock, [](tcp::socket& so) {
      error_code ec;
      so.close(ec);
    });
    if (ssl) {
      asio::ssl::stream<tcp::socket&> stream(*sock, *ssl);
      error_code ec;
      co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      co_await serve(stream, *sock);
    } else {
      co_await serve(*sock, *sock);
      error_code ec;
      sock->shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  asio::awaitable<void> accept_loop() {
    while (!closing) {
      error_code ec;
      auto strand = asio::make_strand(io);
      tcp::socket sock = co_await acceptor.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (closing || ec == asio::error::operation_aborted) co_return;
        continue;
      }
      asio::co_spawn(strand, session(std::make_shared<tcp::socket>(std::move(sock))), asio::detached);
    }
  }

  // Reader actions finish asynchronously; events go out to webhooks.
  void after_request() {
    api.run_deferred();
    const WebhookOptions& wo = api.webhook_options();
    for (Delivery& d : api.take_deliveries()) {
      std::lock_guard lock(dice_mutex);
      int copies = 1;
      if (wo.duplicate_probability > 0 && dice.unit() < wo.duplicate_probability) copies = 2;
      for (int i = 0; i < copies; ++i) {
        std::chrono::milliseconds delay{0};
        if (wo.max_reorder_delay.count() > 0) {
          delay = std::chrono::milliseconds(dice.uniform(static_cast<std::uint64_t>(wo.max_reorder_delay.count()) + 1));
        }
        ++deliveries_active;
        asio::co_spawn(asio::make_strand(io), deliver(d, delay), asio::detached);
      }
    }
  }

  // At-least-once: retried with doubling back-off until a 2xx or max_attempts. Each attempt is
  // signed afresh with the current time, as Stripe does.
  asio::awaitable<void> deliver(Delivery d, std::chrono::milliseconds delay) {
    struct Done {
      std::atomic<std::size_t>& n;
      ~Done() { --n; }
    } done{deliveries_active};
    co_await sleep_for(delay);
    const WebhookOptions wo = api.webhook_options();
    // http://host:port/path only (loopback receivers).
    std::string_view url = d.url;
    if (!url.starts_with("http://")) {
      log::warn("stripesim.webhook_bad_url", {{"url", d.url}});
      co_return;
    }
    url.remove_prefix(7);
    const auto slash = url.find('/');
    const std::string hostport(url.substr(0, slash));
    const std::string target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    const auto colon = hostport.rfind(':');
    const std::string host = hostport.substr(0, colon);
    const std::string port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);

    std::chrono::milliseconds backoff = wo.first_retry;
    for (int attempt = 1; attempt <= wo.max_attempts && !closing; ++attempt) {
      int status = 0;
      {
        error_code ec;
        const auto executor = co_await asio::this_coro::executor;
        tcp::resolver resolver(executor);
        auto endpoints = co_await resolver.async_resolve(host, port, asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
          auto shared = std::make_shared<beast::tcp_stream>(executor);
          beast::tcp_stream& stream = *shared;
          Tracked tracked = track_on_strand(shared, [](beast::tcp_stream& st) { st.close(); });
          stream.expires_after(std::chrono::seconds(10));
          co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
          if (!ec) {
            const std::int64_t t = to_unix_ms(api.now()) / 1000;
            http::request<http::string_body> req{http::verb::post, target, 11};
            req.set(http::field::host, hostport);
            req.set(http::field::user_agent, "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
            req.set(http::field::content_type, "application/json; charset=utf-8");
            req.set("Stripe-Signature", stripe_signature(d.secret, t, d.payload));
            req.body() = d.payload;
            req.keep_alive(false);
            req.prepare_payload();
            co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
            if (!ec) {
              beast::flat_buffer buffer;
              http::response<http::string_body> res;
              co_await http::async_read(stream, buffer, res, asio::redirect_error(asio::use_awaitable, ec));
              if (!ec) status = static_cast<int>(res.result_int());
            }
          }
          stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        }
      }
      if (closing) co_return;  // shutting down: not an attempt worth recording
      api.record_delivery(DeliveryRecord{d.url, d.event_id, attempt, status});
      if (status >= 200 && status < 300) co_return;
      co_await sleep_for(backoff);
      backoff *= 2;
    }
    if (!closing) log::warn("stripesim.webhook_gave_up", {{"url", d.url}, {"event_id", d.event_id}});
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

Result<std::unique_ptr<Server>> Server::start(ServerOptions options) {
  error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec || !address.is_loopback()) {
    return fail(ErrorKind::InvalidArgument, "till-stripe-sim binds loopback addresses only");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  Impl& s = *impl;
  if (auto state = s.api.state_status(); !state) return fail(state.error());
  const tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ErrorKind::Unavailable, "cannot listen on " + s.options.host + ": " + ec.message());
  s.port = s.acceptor.local_endpoint().port();

  if (s.options.tls) {
    auto pki = make_loopback_pki();
    if (!pki) return fail(pki.error());
    s.ssl.emplace(asio::ssl::context::tls_server);
    s.ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
    s.ssl->use_certificate_chain(asio::buffer(pki->server_cert_pem), ec);
    if (!ec) s.ssl->use_private_key(asio::buffer(pki->server_key_pem), asio::ssl::context::pem, ec);
    if (ec) return fail(ErrorKind::Internal, "TLS setup failed: " + ec.message());
    s.ca_file = s.options.ca_file;
    if (s.ca_file.empty()) {
      s.ca_file =
          (std::filesystem::temp_directory_path() / ("till-stripe-sim-ca-" + std::to_string(s.port) + ".pem"))
              .string();
    }
    std::ofstream out(s.ca_file, std::ios::binary | std::ios::trunc);
    out << pki->ca_cert_pem;
    if (!out) return fail(ErrorKind::Unavailable, "cannot write CA file " + s.ca_file);
  }

  if (s.options.threads < 1) return fail(ErrorKind::InvalidArgument, "till-stripe-sim needs at least one thread");
  asio::co_spawn(s.acceptor.get_executor(), s.accept_loop(), asio::detached);
  for (int i = 0; i < s.options.threads; ++i) s.threads.emplace_back([&s] { s.io.run(); });
  log::info("stripesim.listening",
            {{"port", static_cast<int>(s.port)}, {"tls", s.options.tls}, {"threads", s.options.threads}});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::stop() {
  if (!impl_) return;
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->io, [s = impl_.get()] { s->close_all(); });
  for (std::thread& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

std::uint16_t Server::port() const noexcept { return impl_->port; }

std::string Server::base_url() const {
  return std::string(impl_->ssl ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port);
}

const std::string& Server::ca_file() const { return impl_->ca_file; }

Api& Server::api() { return impl_->api; }

std::vector<LedgerEntry> Server::ledger() const { return impl_->api.ledger(); }

std::size_t Server::deliveries_in_progress() const { return impl_->deliveries_active.load(); }

}  // namespace till::stripesim
