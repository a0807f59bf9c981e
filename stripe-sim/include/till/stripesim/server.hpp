#pragma once
// The embeddable till-stripe-sim: an HTTP/1.1 (keep-alive) server, optionally TLS with a
// loopback CA generated at start, around the simulated API (api.hpp). ServerOptions::threads
// io_context threads (default 2) serve the connections and deliver webhooks.
//
//   ServerOptions o;
//   o.sim.clock = &fake_clock;
//   auto server = Server::start(o);            // 127.0.0.1, ephemeral port
//   ... (*server)->port() ... (*server)->ledger() ...
//   (*server)->stop();                          // or let the destructor do it

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "till/base/result.hpp"
#include "till/stripesim/api.hpp"
#include "till/stripesim/config.hpp"

namespace till::stripesim {

struct ServerOptions {
  SimConfig sim;
  std::string host = "127.0.0.1";  // loopback only; anything else is refused
  std::uint16_t port = 0;          // 0 = ephemeral
  bool tls = false;
  // Where the generated CA certificate (PEM) is written when tls is on; empty = a file in the
  // system temp directory named after the port. Clients trust exactly this file.
  std::string ca_file;
  // io_context threads serving connections and webhook deliveries (at least 1). Each
  // connection runs on its own strand; the simulated books stay behind the Api's one mutex.
  int threads = 2;
};

class Server {
 public:
  // Binds, generates the TLS material if asked, and starts the server thread.
  // Fails with InvalidArgument (non-loopback host), Unavailable (bind failed) or Internal
  // (TLS generation failed). Any thread.
  static Result<std::unique_ptr<Server>> start(ServerOptions options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const noexcept;
  std::string base_url() const;        // "http://127.0.0.1:PORT" or "https://..."
  const std::string& ca_file() const;  // empty without TLS
  // Closes the listener and every connection, cancels pending webhook deliveries and joins the
  // server thread. Idempotent. Any thread except the server's own.
  void stop();

  // Direct access for tests (thread-safe; see api.hpp).
  Api& api();
  std::vector<LedgerEntry> ledger() const;
  // Number of webhook deliveries still being attempted (for tests that wait for quiescence).
  std::size_t deliveries_in_progress() const;

  struct Impl;  // internal

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace till::stripesim
