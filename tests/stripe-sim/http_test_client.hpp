#pragma once
// Test-only HTTP pieces (Beast stays in http_test_client.cpp): a blocking keep-alive client for
// the simulator (plain or TLS with the simulator's CA file) and a recording webhook receiver.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace till::stripesim::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  int status = 0;                              // 0: the connection failed or was dropped
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  nlohmann::json json;  // parsed body (null when not JSON)
  std::string error;    // transport error text when status == 0

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// One connection, reopened on demand. Not thread-safe; one per thread.
class TestHttpClient {
 public:
  // ca_file non-empty: TLS, trusting exactly that CA and verifying the name 127.0.0.1.
  explicit TestHttpClient(std::uint16_t port, std::string ca_file = {});
  ~TestHttpClient();

  HttpResult request(const std::string& method, const std::string& target, const Headers& headers,
                     const std::string& body = {});
  // Writes a request and returns without reading (to hold a request in flight).
  bool send(const std::string& method, const std::string& target, const Headers& headers,
            const std::string& body = {});
  HttpResult receive();
  // How many TCP connections this client has opened (keep-alive checks).
  int connections_opened() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

struct ReceivedWebhook {
  std::string target;
  std::string signature;  // Stripe-Signature header
  std::string body;
};

// A loopback HTTP server that records every POST and answers with scripted statuses (then 200).
class RecordingWebhookReceiver {
 public:
  explicit RecordingWebhookReceiver(std::vector<int> scripted_statuses = {});
  ~RecordingWebhookReceiver();
  std::uint16_t port() const;
  std::string url(const std::string& path = "/webhook") const;
  // Blocks (real time, bounded) until at least n requests arrived; returns a copy of all.
  std::vector<ReceivedWebhook> wait_for(std::size_t n, std::chrono::milliseconds timeout);
  std::vector<ReceivedWebhook> received() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace till::stripesim::testing
