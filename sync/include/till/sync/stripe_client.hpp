#pragma once
// The Stripe API client (shared/design/stripe.md): form-encoded requests with Till's headers,
// the SDKs' in-call retries with the caller's idempotency key, client-side rate limiting, one
// log line per attempt, and answers classified so that a write whose answer never came is
// never mistaken for a failure.
//
// Every call ends in one of three ways:
//   Succeeded       -> the Result holds the response (or the typed object).
//   Failed          -> an Error whose kind says what to do (Declined, InvalidArgument, ...),
//                      with StripeErrorDetail when Stripe answered.
//   OutcomeUnknown  -> an Error of kind OutcomeUnknown: a POST that may have been applied
//                      (timeout, connection lost after sending, 5xx, 409 key still in use).
//                      Resolve by retrying with the SAME key, or by looking the object up.
// A GET that cannot complete is Unavailable (it changed nothing).
//
// Threading: a StripeClient belongs to one io_context (the core thread); async_ functions run
// there and may overlap. The blocking wrappers are for CLIs and tests (see run_blocking).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "till/base/clock.hpp"
#include "till/base/random.hpp"
#include "till/base/result.hpp"
#include "till/base/secret.hpp"
#include "till/sync/form.hpp"
#include "till/sync/http.hpp"
#include "till/sync/rate_limiter.hpp"
#include "till/sync/retry.hpp"
#include "till/sync/stripe_types.hpp"

namespace till::sync {

// The one pinned API version (one of the two newest published; see stripe.md section 1).
inline constexpr std::string_view kStripeVersion = "2026-10-28.endive";
inline constexpr std::string_view kStripeApiBase = "https://api.stripe.com";

// What setAppInfo carries in the SDKs. partner_id goes only into X-Stripe-Client-User-Agent.
struct AppInfo {
  std::string name = "Till";
  std::string version;  // Till's semantic version
  std::string url;
  std::string partner_id;
};

// Waits without blocking the core thread. Tests inject a recording sleeper that returns at
// once, so retries and pacing are checked without real time passing.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual boost::asio::awaitable<void> async_sleep(std::chrono::milliseconds duration) = 0;
};

struct StripeConfig {
  HttpConfig http;  // http.base_url defaults to https://api.stripe.com
  Secret api_key;
  AppInfo app;
  int max_retries = kDefaultMaxRetries;
};

// A g++ 12 bug destroys a braced AGGREGATE temporary twice when it is written inside a co_await
// expression (`co_await f(Options{a, b})` -> double free; seen in Release builds). The parameter
// structs below therefore have user-provided constructors, which makes brace-initialisation a
// constructor call and avoids the bug; keep it that way for anything passed to an async_ call.
struct RequestOptions {
  RequestOptions() = default;
  RequestOptions(std::string stripe_account_, std::string idempotency_key_ = {})
      : stripe_account(std::move(stripe_account_)), idempotency_key(std::move(idempotency_key_)) {}

  std::string stripe_account;   // acct_... for a connected account; empty for the platform
  std::string idempotency_key;  // REQUIRED for POST: from the durable attempt/operation row
};

// A response Stripe sent (any status), with what Till reads from every response.
struct StripeResponse {
  int status = 0;
  std::string body;
  std::string request_id;             // Request-Id
  bool idempotent_replayed = false;   // Idempotent-Replayed: true
  std::optional<bool> should_retry;   // Stripe-Should-Retry
  int attempts = 1;                   // 1 + in-call retries made
};

// The headers Till sends: exposed for tests and the SDK-conformance check.
std::string user_agent(const AppInfo& app);
std::string client_user_agent_json(const AppInfo& app);

// How a Stripe error response maps to an ErrorKind (pure; used by the client after its
// retries are spent). `is_post` decides between OutcomeUnknown and Unavailable for answers
// that leave a write's fate open.
Error classify_response(bool is_post, const StripeResponse& response);
// How a transport failure maps to an ErrorKind (pure).
Error classify_transport(bool is_post, const TransportError& error);

// ---- Typed request parameters (only what Till uses; `extra` takes anything else) ----

struct CreatePaymentIntentParams {
  CreatePaymentIntentParams() {}  // not an aggregate: see RequestOptions
  std::int64_t amount = 0;
  std::string currency;  // lowercase ISO
  std::vector<std::string> allowed_payment_method_types{"card_present"};
  std::string capture_method;  // automatic | automatic_async | manual; empty: Stripe's default
  std::optional<std::int64_t> application_fee_amount;
  std::string payment_method;  // with confirm = true: create and confirm in one call
  bool confirm = false;
  std::string description;
  std::string statement_descriptor_suffix;
  std::string receipt_email;
  Metadata metadata;
  std::vector<std::string> expand;
  FormParams extra;

  FormParams to_params() const;
  // encode(to_params()), written directly (the create call's hot path; a test holds them equal).
  std::string encode() const;
};

struct CaptureParams {
  CaptureParams() = default;
  CaptureParams(std::optional<std::int64_t> amount_to_capture_,
                std::optional<std::int64_t> application_fee_amount_ = std::nullopt)
      : amount_to_capture(amount_to_capture_), application_fee_amount(application_fee_amount_) {}
  std::optional<std::int64_t> amount_to_capture;
  std::optional<std::int64_t> application_fee_amount;
  FormParams to_params() const;
};

struct CreateRefundParams {
  CreateRefundParams() {}  // not an aggregate: see RequestOptions
  std::string payment_intent;
  std::optional<std::int64_t> amount;  // empty: the whole remaining amount
  std::string reason;                  // duplicate | fraudulent | requested_by_customer
  std::optional<bool> refund_application_fee;
  Metadata metadata;
  FormParams to_params() const;
};

struct ListParams {
  ListParams() = default;
  ListParams(int limit_, std::string starting_after_ = {}, std::string type_ = {})
      : limit(limit_), starting_after(std::move(starting_after_)), type(std::move(type_)) {}
  int limit = 0;  // 0: Stripe's default
  std::string starting_after;
  std::string type;  // events only
  FormParams to_params() const;
};

// Optional collaborators of a StripeClient; null means the production default (SystemRandom, an
// Asio timer, a rate limiter of the client's own for the key's mode, SystemClock).
struct StripeClientDeps {
  Random* random = nullptr;
  Sleeper* sleeper = nullptr;
  std::shared_ptr<RateLimiter> limiter;  // share one per process for all clients of an account
  const Clock* clock = nullptr;
};

class StripeClient {
 public:
  using Deps = StripeClientDeps;

  // Fails with InvalidArgument when the key is missing or malformed, and as HttpClient::create.
  static Result<std::unique_ptr<StripeClient>> create(boost::asio::io_context& io, StripeConfig config,
                                                      Deps deps = {});
  ~StripeClient();
  StripeClient(const StripeClient&) = delete;
  StripeClient& operator=(const StripeClient&) = delete;

  // One API call with retries. `path` starts with "/v1/". For GET/DELETE, params go into the
  // query string; for POST, into the body. A POST without options.idempotency_key fails with
  // InvalidArgument before anything is sent: the client never invents a key.
  // Succeeded holds the 2xx response; every non-2xx ends as an Error (see the top of the file).
  boost::asio::awaitable<Result<StripeResponse>> async_request(std::string method, std::string path,
                                                               FormParams params, RequestOptions options);
  // Same, with the body / query already encoded (the sync engine stores exact bytes so a retry
  // after a crash sends identical params).
  boost::asio::awaitable<Result<StripeResponse>> async_request_encoded(std::string method, std::string path,
                                                                       std::string encoded,
                                                                       RequestOptions options);

  // PaymentIntents
  boost::asio::awaitable<Result<PaymentIntent>> async_create_payment_intent(CreatePaymentIntentParams params,
                                                                            RequestOptions options);
  boost::asio::awaitable<Result<PaymentIntent>> async_confirm_payment_intent(std::string id, FormParams params,
                                                                             RequestOptions options);
  boost::asio::awaitable<Result<PaymentIntent>> async_capture_payment_intent(std::string id, CaptureParams params,
                                                                             RequestOptions options);
  // reason: duplicate | fraudulent | requested_by_customer | abandoned (or empty)
  boost::asio::awaitable<Result<PaymentIntent>> async_cancel_payment_intent(std::string id, std::string reason,
                                                                            RequestOptions options);
  boost::asio::awaitable<Result<PaymentIntent>> async_retrieve_payment_intent(std::string id,
                                                                              RequestOptions options,
                                                                              std::vector<std::string> expand = {});
  // query: Stripe search syntax, e.g. search_query_metadata("sale_id", "s-1").
  boost::asio::awaitable<Result<ListPage<PaymentIntent>>> async_search_payment_intents(std::string query,
                                                                                       RequestOptions options,
                                                                                       int limit = 0,
                                                                                       std::string page = {});
  boost::asio::awaitable<Result<ListPage<PaymentIntent>>> async_list_payment_intents(ListParams params,
                                                                                     RequestOptions options);
  // Refunds
  boost::asio::awaitable<Result<Refund>> async_create_refund(CreateRefundParams params, RequestOptions options);
  boost::asio::awaitable<Result<Refund>> async_retrieve_refund(std::string id, RequestOptions options);
  // Terminal locations and readers
  boost::asio::awaitable<Result<Location>> async_create_location(FormParams params, RequestOptions options);
  boost::asio::awaitable<Result<ListPage<Location>>> async_list_locations(ListParams params,
                                                                          RequestOptions options);
  boost::asio::awaitable<Result<Reader>> async_create_reader(std::string registration_code, std::string label,
                                                             std::string location, RequestOptions options);
  boost::asio::awaitable<Result<Reader>> async_retrieve_reader(std::string id, RequestOptions options);
  boost::asio::awaitable<Result<ListPage<Reader>>> async_list_readers(ListParams params, RequestOptions options);
  boost::asio::awaitable<Result<Reader>> async_process_payment_intent(std::string reader_id,
                                                                      std::string payment_intent,
                                                                      FormParams process_config,
                                                                      RequestOptions options);
  // cart: the `cart` object (currency, line_items[i][description|amount|quantity], tax, total).
  boost::asio::awaitable<Result<Reader>> async_set_reader_display(std::string reader_id, FormValue cart,
                                                                  RequestOptions options);
  boost::asio::awaitable<Result<Reader>> async_refund_payment(std::string reader_id, std::string payment_intent,
                                                              std::optional<std::int64_t> amount,
                                                              RequestOptions options);
  boost::asio::awaitable<Result<Reader>> async_cancel_reader_action(std::string reader_id, RequestOptions options);
  // Test mode only: a card presented to a simulated reader.
  boost::asio::awaitable<Result<Reader>> async_present_payment_method(std::string reader_id,
                                                                      std::string card_number,
                                                                      std::optional<std::int64_t> amount_tip,
                                                                      RequestOptions options);
  // Events and accounts
  boost::asio::awaitable<Result<Event>> async_retrieve_event(std::string id, RequestOptions options);
  boost::asio::awaitable<Result<ListPage<Event>>> async_list_events(ListParams params, RequestOptions options);
  // account_id empty: the account of the key (GET /v1/account).
  boost::asio::awaitable<Result<Account>> async_retrieve_account(std::string account_id, RequestOptions options);

  // Blocking wrappers (CLIs, tests): the io_context must not be run by another thread.
  Result<StripeResponse> request(std::string method, std::string path, FormParams params, RequestOptions options);
  template <class T>
  T wait(boost::asio::awaitable<T> op) {
    return run_blocking(io_, std::move(op));
  }

  HttpClient& http() noexcept;
  RateLimiter& limiter() noexcept;
  const StripeConfig& config() const noexcept;

 private:
  struct Impl;
  StripeClient(boost::asio::io_context& io, std::unique_ptr<Impl> impl);
  boost::asio::io_context& io_;
  std::unique_ptr<Impl> impl_;
};

// Stripe search syntax for "metadata['key']:'value'", quoting the value.
std::string search_query_metadata(std::string_view key, std::string_view value);

}  // namespace till::sync
