#pragma once
// The HTTP/1.1 listener of till-sync's webhook endpoint (Beast stays in webhook_server.cpp).
// It reads one POST to `path` with a bounded body and deadline, hands the raw body and the
// Stripe-Signature header to the callback (WebhookHandler::handle) and writes its status with a
// short JSON body. Anything else is 404/405/413.
//
// Plain HTTP: in production it sits behind the TLS-terminating reverse proxy that Stripe's
// webhook URL points at; it binds 127.0.0.1 unless told otherwise.
//
// Threading: runs on the io_context given to start() (Till's core thread, which owns the
// Store); the callback is called there. stop() on that thread, or after the io_context stopped.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "till/base/result.hpp"

namespace till::sync {

struct WebhookServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 = ephemeral
  std::string path = "/webhooks/stripe";
  std::size_t max_body_bytes = 512 * 1024;  // Stripe's events are far smaller
  std::chrono::milliseconds read_timeout{10'000};
};

struct WebhookHttpReply {
  int status = 200;
  std::string body;  // JSON
};

using WebhookCallback = std::function<WebhookHttpReply(std::string_view raw_body, std::string_view signature)>;

class WebhookServer {
 public:
  // Binds and starts accepting. Unavailable when the address cannot be bound, InvalidArgument
  // for a bad host.
  static Result<std::unique_ptr<WebhookServer>> start(boost::asio::io_context& io, WebhookServerConfig config,
                                                      WebhookCallback callback);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  std::uint16_t port() const noexcept;
  std::string url() const;  // http://host:port/path
  std::size_t requests_served() const noexcept;
  // Stops accepting and closes open connections. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit WebhookServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace till::sync
