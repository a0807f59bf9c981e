#pragma once
// The office's HTTPS server: TLS 1.2+ only (OpenSSL), HTTP/1.1 keep-alive, a deadline on every
// read and write, bodies over the API's limit refused with 413 before they are read. Each
// request is decoded into an ApiRequest and answered by Api::handle() on one of the server's
// worker threads, which block on PostgreSQL (a pool of the same size): simple, and enough at
// POS scale (office/README.md has the figure measured). Beast and OpenSSL stay in server.cpp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "till/base/result.hpp"
#include "till/office/api.hpp"

namespace till::office {

struct ServerConfig {
  std::string host = "127.0.0.1";  // an IP address
  std::uint16_t port = 0;          // 0 = ephemeral
  std::string cert_file;           // PEM certificate (chain)
  std::string key_file;            // PEM private key
  std::size_t threads = 4;
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds read_timeout{30'000};
};

class Server {
 public:
  // Loads the TLS material, binds and starts the worker threads. InvalidArgument for a bad
  // address or unusable certificate, Unavailable when the port cannot be bound. Any thread.
  static Result<std::unique_ptr<Server>> start(ServerConfig config, Api& api);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const noexcept;
  std::string base_url() const;  // "https://127.0.0.1:PORT"
  // Closes the listener and every connection and joins the workers. Idempotent; any thread
  // except a worker.
  void stop();
  std::size_t requests_served() const noexcept;

  struct Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace till::office
