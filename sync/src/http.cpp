// The only translation unit of till_sync that includes Beast and OpenSSL (they are slow to
// compile and must stay out of public headers).
#include "till/sync/http.hpp"

#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <charconv>
#include <deque>

namespace till::sync {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_tls_verification_error(const boost::system::error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return false;
  return ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

TransportError make_error(TransportError::Stage stage, const boost::system::error_code& ec,
                          std::string_view what) {
  TransportError e;
  e.stage = stage;
  e.timed_out = ec == beast::error::timeout || ec == asio::error::timed_out;
  e.tls_verification_failed = is_tls_verification_error(ec);
  e.message = std::string(what) + ": " + (e.timed_out ? std::string("timed out") : ec.message());
  return e;
}

}  // namespace

std::string_view to_string(TransportError::Stage stage) noexcept {
  switch (stage) {
    case TransportError::Stage::Config: return "config";
    case TransportError::Stage::Resolve: return "resolve";
    case TransportError::Stage::Connect: return "connect";
    case TransportError::Stage::Handshake: return "handshake";
    case TransportError::Stage::Write: return "write";
    case TransportError::Stage::Read: return "read";
  }
  return "unknown";
}

std::string Url::authority() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string h = ipv6 ? "[" + host + "]" : host;
  const std::uint16_t default_port = tls() ? 443 : 80;
  if (port != default_port) h += ":" + std::to_string(port);
  return h;
}

Result<Url> Url::parse(std::string_view text) {
  Url url;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return fail(ErrorKind::InvalidArgument, "URL without scheme");
  url.scheme = lower(text.substr(0, sep));
  if (url.scheme != "https" && url.scheme != "http") {
    return fail(ErrorKind::InvalidArgument, "URL scheme must be https or http");
  }
  std::string_view rest = text.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return fail(ErrorKind::InvalidArgument, "URL without host");
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return fail(ErrorKind::InvalidArgument, "base URL must be scheme://host[:port] only");
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail(ErrorKind::InvalidArgument, "URL: unclosed '['");
    host = rest.substr(1, close - 1);
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(ErrorKind::InvalidArgument, "URL: junk after IPv6 host");
      port = after.substr(1);
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return fail(ErrorKind::InvalidArgument, "URL without host");
  url.host = lower(host);
  url.port = url.tls() ? 443 : 80;
  if (!port.empty() || (rest.back() == ':')) {
    unsigned value = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || p != port.data() + port.size() || value == 0 || value > 65535) {
      return fail(ErrorKind::InvalidArgument, "URL: bad port");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  return url;
}

bool is_loopback_host(std::string_view host) {
  if (iequals(host, "localhost")) return true;
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(std::string(host), ec);
  return !ec && addr.is_loopback();
}

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

namespace {

struct Connection {
  explicit Connection(asio::io_context& io, ssl::context* tls_ctx) {
    if (tls_ctx != nullptr) {
      tls.emplace(io, *tls_ctx);
    } else {
      plain.emplace(io);
    }
    // Beast reads as much as the buffer has room for, 512 bytes when it is new: a PaymentIntent
    // (1-5 KiB) then took several reads. Room for a whole answer makes it one read.
    buffer.reserve(kReadBufferBytes);
  }
  static constexpr std::size_t kReadBufferBytes = 16 * 1024;
  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  SteadyClock::time_point idle_since{};
};

// A header name or value that could end the header early (CR, LF, NUL) or a name with ':' or
// spaces would let a caller's text inject headers: such a request is refused, never sent.
bool header_text_ok(std::string_view text, bool name) {
  for (const char c : text) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
    if (name && (c == ':' || c == ' ' || c == '\t')) return false;
  }
  return !name || !text.empty();
}

// The request's bytes in one buffer, written with one send: request line, Host, the default
// headers (already written out, see set_default_headers), the request's headers in their order, Content-Length when there is a body or the method is POST, a blank
// line and the body. Byte for byte what Beast's serializer wrote for the same request
// (client_test pins it), at a fraction of the cost.
bool serialize_request(const HttpRequest& request, const std::string& authority, const std::string& defaults,
                       std::string& out) {
  if (request.method.empty() || !header_text_ok(request.method, true) || request.target.empty() ||
      request.target.find_first_of(" \r\n") != std::string::npos) {
    return false;
  }
  out.clear();
  out += request.method;
  out += ' ';
  out += request.target;
  out += " HTTP/1.1\r\nHost: ";
  out += authority;
  out += "\r\n";
  out += defaults;
  for (const auto& h : request.headers) {
    if (!header_text_ok(h.name, true) || !header_text_ok(h.value, false)) return false;
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "OPTIONS") {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, request.body.size());
    (void)ec;
    out += "Content-Length: ";
    out.append(digits, end);
    out += "\r\n";
  }
  out += "\r\n";
  out += request.body;
  return true;
}

// Reads a response straight into an HttpResponse: Beast's parser (all of its checks, the body
// limit, chunked bodies, keep-alive) without the intermediate message and field list that
// response_parser<string_body> would build and the caller then copied.
class ResponseReader final : public http::basic_parser<false> {
 public:
  explicit ResponseReader(HttpResponse& out) : out_(out) {}

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int, beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override { out_.status = code; }
  void on_field_impl(http::field, beast::string_view name, beast::string_view value, beast::error_code&) override {
    out_.headers.push_back(HttpHeader{std::string(name), std::string(value)});
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, beast::error_code&) override {
    if (length) out_.body.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    out_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
    out_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  HttpResponse& out_;
};

// True when an idle kept-alive socket is still usable: nothing to read and no EOF. A server
// that closed it (or sent anything unprompted) makes it unusable.
bool idle_socket_healthy(Connection& c) {
  auto& sock = c.tcp().socket();
  if (!sock.is_open()) return false;
  char byte;
  const auto n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || n > 0) return false;
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

}  // namespace

struct HttpClient::Impl {
  asio::io_context& io;
  HttpConfig config;
  Url url;
  std::optional<ssl::context> tls_ctx;
  std::string authority;  // the Host header
  std::string default_headers;  // "Name: value\r\n" lines; may hold the API key

  ~Impl() { wipe(default_headers); }
  static void wipe(std::string& s) {
    volatile char* p = s.data();
    for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
  }
  std::deque<std::unique_ptr<Connection>> idle;
  std::size_t opened = 0;

  Impl(asio::io_context& io_, HttpConfig config_, Url url_)
      : io(io_), config(std::move(config_)), url(std::move(url_)), authority(url.authority()) {}

  std::chrono::milliseconds remaining(SteadyClock::time_point deadline) const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    return std::max(left, std::chrono::milliseconds{1});
  }

  std::unique_ptr<Connection> take_idle() {
    const auto now = SteadyClock::now();
    while (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      if (now - c->idle_since <= config.idle_timeout && idle_socket_healthy(*c)) return c;
      beast::error_code ignored;
      c->tcp().socket().close(ignored);
    }
    return nullptr;
  }

  void give_back(std::unique_ptr<Connection> c) {
    if (idle.size() >= config.max_idle_connections) return;
    c->idle_since = SteadyClock::now();
    idle.push_back(std::move(c));
  }

  asio::awaitable<HttpExpected<std::unique_ptr<Connection>>> async_connect(SteadyClock::time_point deadline) {
    using namespace asio::experimental::awaitable_operators;
    using Stage = TransportError::Stage;
    const auto step_deadline = std::min(deadline, SteadyClock::now() + config.connect_timeout);

    tcp::resolver resolver(io);
    asio::steady_timer timer(io, step_deadline);
    auto raced = co_await (resolver.async_resolve(url.host, std::to_string(url.port), kTuple) ||
                           timer.async_wait(kTuple));
    if (raced.index() == 1) {
      TransportError e{Stage::Resolve, true, false, "resolve " + url.host + ": timed out"};
      co_return tl::unexpected(e);
    }
    auto [rec, results] = std::get<0>(std::move(raced));
    if (rec) co_return tl::unexpected(make_error(Stage::Resolve, rec, "resolve " + url.host));
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) {
      // Plain HTTP was allowed only because the host is loopback; make sure it resolved so.
      if (!url.tls() && !entry.endpoint().address().is_loopback()) continue;
      endpoints.push_back(entry.endpoint());
    }
    if (endpoints.empty()) {
      co_return tl::unexpected(TransportError{Stage::Config, false, false,
                                              "plain HTTP refused: " + url.host + " is not a loopback address"});
    }

    auto conn = std::make_unique<Connection>(io, tls_ctx ? &*tls_ctx : nullptr);
    conn->tcp().expires_at(step_deadline);
    auto [cec, ep] = co_await conn->tcp().async_connect(endpoints, kTuple);
    if (cec) co_return tl::unexpected(make_error(Stage::Connect, cec, "connect " + url.authority()));
    conn->tcp().socket().set_option(tcp::no_delay(true));
    ++opened;

    if (conn->tls) {
      // SNI, then RFC 6125 host-name (or IP) verification on top of chain verification.
      if (SSL_set_tlsext_host_name(conn->tls->native_handle(), url.host.c_str()) != 1) {
        co_return tl::unexpected(TransportError{Stage::Handshake, false, false, "cannot set SNI host name"});
      }
      conn->tls->set_verify_mode(ssl::verify_peer);
      conn->tls->set_verify_callback(ssl::host_name_verification(url.host));
      conn->tcp().expires_at(std::min(deadline, SteadyClock::now() + config.handshake_timeout));
      auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kTuple);
      if (hec) {
        auto err = make_error(Stage::Handshake, hec, "TLS handshake with " + url.host);
        if (err.tls_verification_failed) {
          const long verify = SSL_get_verify_result(conn->tls->native_handle());
          err.message += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
        }
        co_return tl::unexpected(err);
      }
    }
    co_return conn;
  }

  template <class Stream>
  asio::awaitable<HttpResult> exchange(Stream& stream, Connection& conn, const std::string& request_bytes,
                                       SteadyClock::time_point deadline, bool& keep_alive) {
    using Stage = TransportError::Stage;
    conn.tcp().expires_at(std::min(deadline, SteadyClock::now() + config.write_timeout));
    auto [wec, written] = co_await asio::async_write(stream, asio::buffer(request_bytes), kTuple);
    (void)written;
    if (wec) co_return tl::unexpected(make_error(Stage::Write, wec, "write request"));

    HttpResponse out;
    out.headers.reserve(12);
    ResponseReader parser(out);
    parser.body_limit(config.max_response_bytes);
    conn.tcp().expires_at(std::min(deadline, SteadyClock::now() + config.read_timeout));
    auto [rec, read] = co_await http::async_read(stream, conn.buffer, parser, kTuple);
    (void)read;
    if (rec) co_return tl::unexpected(make_error(Stage::Read, rec, "read response"));
    keep_alive = parser.keep_alive();
    co_return out;
  }

  asio::awaitable<HttpResult> send(HttpRequest request) {
    const auto deadline = SteadyClock::now() + config.total_timeout;
    std::string request_bytes;
    request_bytes.reserve(512 + request.body.size());
    if (!serialize_request(request, authority, default_headers, request_bytes)) {
      co_return tl::unexpected(TransportError{TransportError::Stage::Config, false, false,
                                              "request refused: CR, LF or NUL in its method, target or headers"});
    }
    bool reused = true;
    auto conn = take_idle();
    if (!conn) {
      reused = false;
      auto made = co_await async_connect(deadline);
      if (!made) co_return tl::unexpected(made.error());
      conn = std::move(*made);
    }

    bool keep_alive = false;
    // Plain if/else rather than ?: around co_await: g++ 12 mishandles temporaries there.
    HttpResult result;
    if (conn->tls) {
      result = co_await exchange(*conn->tls, *conn, request_bytes, deadline, keep_alive);
    } else {
      result = co_await exchange(*conn->plain, *conn, request_bytes, deadline, keep_alive);
    }
    if (result) {
      result->reused_connection = reused;
      if (keep_alive) give_back(std::move(conn));
    }
    // A failed connection is dropped here: its state is unknown.
    co_return result;
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(asio::io_context& io, HttpConfig config) {
  auto url = Url::parse(config.base_url);
  if (!url) return fail(url.error());
  if (!url->tls() && !is_loopback_host(url->host)) {
    return fail(ErrorKind::FailedPrecondition,
                "plain HTTP is allowed only to loopback addresses; use https:// for " + url->host);
  }
  auto impl = std::make_unique<Impl>(io, std::move(config), std::move(*url));
  if (impl->url.tls()) {
    impl->tls_ctx.emplace(ssl::context::tls_client);
    auto& ctx = *impl->tls_ctx;
    boost::system::error_code ec;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx.set_default_verify_paths(ec);
    if (ec) return fail(ErrorKind::Unavailable, "cannot load the system trust store: " + ec.message());
    if (!impl->config.extra_ca_file.empty()) {
      ctx.load_verify_file(impl->config.extra_ca_file, ec);
      if (ec) {
        return fail(ErrorKind::Unavailable,
                    "cannot load CA file " + impl->config.extra_ca_file + ": " + ec.message());
      }
    }
    ctx.set_verify_mode(ssl::verify_peer);
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

asio::awaitable<HttpResult> HttpClient::async_send(HttpRequest request) {
  try {
    co_return co_await impl_->send(std::move(request));
  } catch (const std::exception& e) {
    // Only allocation failures or Asio misuse can get here; the request's fate is unknown.
    co_return tl::unexpected(TransportError{TransportError::Stage::Read, false, false,
                                            std::string("internal transport error: ") + e.what()});
  }
}

Status HttpClient::set_default_headers(const std::vector<HttpHeader>& headers) {
  std::string block;
  for (const auto& h : headers) {
    if (!header_text_ok(h.name, true) || !header_text_ok(h.value, false)) {
      Impl::wipe(block);
      return fail(ErrorKind::InvalidArgument, "default header " + h.name + " has CR, LF or NUL in it");
    }
    block += h.name;
    block += ": ";
    block += h.value;
    block += "\r\n";
  }
  Impl::wipe(impl_->default_headers);
  impl_->default_headers = std::move(block);
  return ok();
}

const Url& HttpClient::url() const noexcept { return impl_->url; }
const HttpConfig& HttpClient::config() const noexcept { return impl_->config; }
std::size_t HttpClient::idle_connections() const noexcept { return impl_->idle.size(); }
std::size_t HttpClient::connections_opened() const noexcept { return impl_->opened; }
void HttpClient::close_idle() { impl_->idle.clear(); }

}  // namespace till::sync
