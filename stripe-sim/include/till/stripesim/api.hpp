#pragma once
// The simulated Stripe API without any transport: a request goes in as plain values and a
// response comes out. The HTTP server (server.hpp) is a thin shell around it, and tests may
// drive it directly.
//
// A request is handled in two steps so that an in-flight request is observable, as on Stripe:
//   prepare()  authenticates, applies rate limits and pre-execution faults, and reserves the
//              idempotency key (a second request with the same key now gets 409);
//   execute()  runs the endpoint, stores the response under the key and releases it.
// Between the two the server may wait (injected latency) or drop the connection.
//
// Thread-safe: every member function may be called from any thread (one internal mutex).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "till/base/clock.hpp"
#include "till/base/result.hpp"
#include "till/stripesim/config.hpp"

namespace till::stripesim {

struct Request {
  std::string method;  // "GET", "POST", "DELETE"
  std::string target;  // path with optional query string: "/v1/payment_intents?limit=3"
  // Header names are matched case-insensitively.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // application/x-www-form-urlencoded for POST

  const std::string* header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // JSON

  const std::string* header(std::string_view name) const;
};

// What the transport must do with a prepared request.
enum class Transport {
  Answer,           // write the response
  ResetBeforeRead,  // drop the connection now; nothing was applied
  DropAfterCommit,  // execute, then drop the connection without answering
};

struct Prepared {
  Transport transport = Transport::Answer;
  std::optional<Response> immediate;     // answered without running the endpoint
  std::chrono::milliseconds latency{0};  // wait this long (key held) before execute()
  std::uint64_t ticket = 0;              // pass to execute() when !immediate
};

// One PaymentIntent as the simulator's books hold it: what tests count duplicates with.
struct LedgerEntry {
  std::string account;
  std::string id;
  std::int64_t amount = 0;
  std::string currency;
  std::optional<std::int64_t> application_fee_amount;
  std::string status;
  std::string capture_method;
  std::int64_t amount_capturable = 0;
  std::int64_t amount_received = 0;
  std::int64_t amount_refunded = 0;
  std::int64_t application_fee_refunded = 0;
  std::map<std::string, std::string> metadata;
  std::int64_t created = 0;  // unix seconds
};

// An event waiting to be delivered to one webhook endpoint.
struct Delivery {
  std::string url;
  std::string secret;
  std::string event_id;
  std::string payload;  // the event JSON, exactly the bytes to sign and send
};

// What the webhook sender reports back, kept for tests and GET /_sim/webhooks.
struct DeliveryRecord {
  std::string url;
  std::string event_id;
  int attempt = 0;
  int http_status = 0;  // 0: connection failed
};

class Api {
 public:
  explicit Api(SimConfig config);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Step one. Never fails: every error is an HTTP response in `immediate`.
  Prepared prepare(const Request& request);
  // Step two for a prepared request without `immediate`. Each ticket exactly once.
  Response execute(std::uint64_t ticket);
  // The transport gave up on a prepared request before execute() (connection closed during
  // the latency wait): releases the idempotency key without storing anything.
  void abandon(std::uint64_t ticket);
  // prepare + execute without waiting.
  Response handle(const Request& request);

  // Whether the books can be trusted to reach disk: FailedPrecondition when another simulator
  // holds the state folder (SimConfig::state_dir), DataLoss when it could not be opened or
  // replayed or a journal write failed. While it fails every API request is answered 503. ok()
  // without a state folder.
  Status state_status() const;

  // Reader actions finish asynchronously: the transport calls this after each answer.
  // Returns true when something changed.
  bool run_deferred();
  // Events to deliver to webhook endpoints since the last call.
  std::vector<Delivery> take_deliveries();
  void record_delivery(DeliveryRecord record);
  std::vector<DeliveryRecord> deliveries() const;
  // Blocks until at least `count` delivery attempts were recorded or the timeout passes (real
  // time; a synchronisation point for tests). Returns the log.
  std::vector<DeliveryRecord> wait_for_deliveries(std::size_t count, std::chrono::milliseconds timeout) const;

  // Test and control access.
  std::vector<LedgerEntry> ledger() const;
  std::vector<LedgerEntry> ledger(std::string_view account) const;
  void set_faults(std::vector<FaultSpec> faults);
  std::vector<FaultSpec> faults() const;
  void set_rate_limits(int live, int test);
  void add_webhook(WebhookEndpoint endpoint);
  std::size_t in_flight() const;
  // Blocks until at least `count` idempotency keys are in flight or the timeout passes
  // (real time; a synchronisation point for tests, not a sleep). Returns the last count seen.
  std::size_t wait_in_flight(std::size_t count, std::chrono::milliseconds timeout) const;
  // Adds to the offset applied on top of the configured clock (POST /_sim/clock).
  void advance_clock(std::chrono::milliseconds by);
  Timestamp now() const;
  const WebhookOptions& webhook_options() const;
  std::uint64_t requests_seen() const;

  struct Impl;  // internal (src/state.hpp)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace till::stripesim
