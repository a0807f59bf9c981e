#pragma once
// HTTP/1.1 client for the Stripe API: TLS (OpenSSL, system trust store, SNI, host-name
// verification) or plain HTTP to loopback only, keep-alive connection reuse, and a deadline on
// every step. Beast and OpenSSL stay in http.cpp; this header shows only Asio's coroutine types.
//
// Threading: an HttpClient belongs to one io_context (Till's core thread). async_send() must be
// called from a coroutine running on that io_context; several sends may be in flight at once
// (each uses its own connection). The client must outlive every send it started.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "till/base/result.hpp"

namespace till::sync {

// A base URL such as "https://api.stripe.com" or "http://127.0.0.1:12111".
struct Url {
  std::string scheme;  // "https" or "http"
  std::string host;    // name or IP literal (IPv6 without brackets)
  std::uint16_t port = 0;

  bool tls() const noexcept { return scheme == "https"; }
  // "host" or "host:port" when the port is not the scheme's default, for the Host header.
  std::string authority() const;
  // Accepts scheme://host[:port][/]. Fails with InvalidArgument on anything else (paths,
  // user-info, queries and unknown schemes are refused rather than ignored).
  static Result<Url> parse(std::string_view text);
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

struct HttpHeader {
  std::string name;
  std::string value;
  bool operator==(const HttpHeader&) const = default;
};

// Not an aggregate on purpose (see RequestOptions in stripe_client.hpp): g++ 12
// destroys a braced aggregate temporary twice when it appears in a co_await expression.
struct HttpRequest {
  HttpRequest() = default;
  HttpRequest(std::string method_, std::string target_, std::vector<HttpHeader> headers_ = {},
              std::string body_ = {})
      : method(std::move(method_)), target(std::move(target_)), headers(std::move(headers_)),
        body(std::move(body_)) {}

  std::string method;  // "GET", "POST", "DELETE"
  std::string target;  // "/v1/payment_intents?limit=3"
  std::vector<HttpHeader> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::vector<HttpHeader> headers;
  std::string body;
  bool reused_connection = false;  // sent on a kept-alive connection

  // The first header with this name (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

// Why no response came back. `stage` says how far the request got, which is what decides
// whether Stripe might have acted on it.
struct TransportError {
  enum class Stage {
    Config,     // refused before any I/O (e.g. plain HTTP to a non-loopback host)
    Resolve,    // name resolution
    Connect,    // TCP connect
    Handshake,  // TLS handshake
    Write,      // sending the request
    Read,       // waiting for / reading the response
  };
  Stage stage = Stage::Config;
  bool timed_out = false;
  bool tls_verification_failed = false;  // the peer's certificate or host name did not verify
  std::string message;

  // False when the request certainly never left this machine; true once any byte may have.
  bool maybe_delivered() const noexcept { return stage == Stage::Write || stage == Stage::Read; }
};

std::string_view to_string(TransportError::Stage stage) noexcept;

template <class T>
using HttpExpected = tl::expected<T, TransportError>;
using HttpResult = HttpExpected<HttpResponse>;

struct HttpConfig {
  std::string base_url = "https://api.stripe.com";
  // An extra PEM CA bundle trusted IN ADDITION to the system store (the loopback simulator's
  // test CA). Nothing else relaxes verification.
  std::string extra_ca_file;
  std::chrono::milliseconds connect_timeout{10'000};    // resolve + TCP connect
  std::chrono::milliseconds handshake_timeout{10'000};  // TLS handshake
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds read_timeout{80'000};
  std::chrono::milliseconds total_timeout{80'000};  // the whole exchange; bounds every step
  std::size_t max_idle_connections = 64;
  std::chrono::milliseconds idle_timeout{30'000};  // idle connections older than this are closed
  std::size_t max_response_bytes = 16 * 1024 * 1024;
};

class HttpClient {
 public:
  // Fails with InvalidArgument for a bad URL, FailedPrecondition for plain HTTP to a host that
  // is not loopback, and Unavailable when the CA file cannot be loaded. Any thread.
  static Result<std::unique_ptr<HttpClient>> create(boost::asio::io_context& io, HttpConfig config);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request (adds Host, Content-Length and Connection: keep-alive) and reads one
  // response. Never throws; every failure is a TransportError. Core thread (see above).
  boost::asio::awaitable<HttpResult> async_send(HttpRequest request);

  // Headers sent with every request right after Host, before the request's own (the Stripe
  // client's Authorization, Stripe-Version, User-Agent...), so they are written once instead of
  // per request. The stored text may hold an API key and is wiped when replaced or destroyed.
  // Fails with InvalidArgument (nothing changed) for a name or value with CR, LF or NUL. Core
  // thread, before the first send.
  Status set_default_headers(const std::vector<HttpHeader>& headers);

  const Url& url() const noexcept;
  const HttpConfig& config() const noexcept;
  // Counters for tests and benchmarks. Core thread.
  std::size_t idle_connections() const noexcept;
  std::size_t connections_opened() const noexcept;
  // Closes idle connections. Core thread.
  void close_idle();

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs `op` on `io` from a thread that is NOT running `io` (a CLI's main thread, a test),
// driving `io` until `op` completes, and returns its value. For blocking convenience wrappers;
// production code on the core thread co_awaits instead. `op` must not throw.
template <class T>
T run_blocking(boost::asio::io_context& io, boost::asio::awaitable<T> op) {
  std::optional<T> out;
  boost::asio::co_spawn(io, std::move(op), [&out](std::exception_ptr e, T value) {
    if (e) std::rethrow_exception(e);
    out.emplace(std::move(value));
  });
  io.restart();
  while (!out.has_value()) {
    if (io.run_one() == 0) io.restart();
  }
  return std::move(*out);
}

}  // namespace till::sync
