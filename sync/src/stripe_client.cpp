#include "till/sync/stripe_client.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <nlohmann/json.hpp>

#include "till/base/log.hpp"

namespace till::sync {

namespace asio = boost::asio;

namespace {

class AsioSleeper final : public Sleeper {
 public:
  explicit AsioSleeper(asio::io_context& io) : io_(io) {}
  asio::awaitable<void> async_sleep(std::chrono::milliseconds d) override {
    asio::steady_timer timer(io_, d);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }

 private:
  asio::io_context& io_;
};

std::string path_only(std::string_view target) {
  const auto q = target.find('?');
  return std::string(target.substr(0, q));
}

std::string id_segment(std::string_view id) { return percent_encode(id); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// The client

constexpr int kMaxPacingTurns = 64;  // waits for room in the window; bounded for clocks that do not move

struct StripeClient::Impl {
  asio::io_context& io;
  StripeConfig config;
  std::unique_ptr<HttpClient> http;
  Random* random;
  const Clock* clock;
  std::unique_ptr<Sleeper> own_sleeper;
  Sleeper* sleeper;
  std::shared_ptr<RateLimiter> limiter;
  std::string user_agent_header;
  std::string client_ua_header;

  Impl(asio::io_context& io_, StripeConfig config_) : io(io_), config(std::move(config_)) {}

  asio::awaitable<Result<StripeResponse>> call(std::string method, std::string path, std::string encoded,
                                               RequestOptions options) {
    const bool is_post = method == "POST";
    if (method != "GET" && method != "POST" && method != "DELETE") {
      co_return fail(ErrorKind::InvalidArgument, "unsupported method " + method);
    }
    if (path.rfind("/v1/", 0) != 0) co_return fail(ErrorKind::InvalidArgument, "path must start with /v1/");
    if (is_post && options.idempotency_key.empty()) {
      // A payment must never be sent under a key that is not in the durable attempt row.
      log::error("stripe.refused", {{"method", method}, {"path", path_only(path)},
                                    {"reason", "POST without Idempotency-Key"}});
      co_return fail(ErrorKind::InvalidArgument, "refusing to POST " + path_only(path) +
                                                     " without an Idempotency-Key supplied by the caller");
    }
    if (options.idempotency_key.size() > 255) {
      co_return fail(ErrorKind::InvalidArgument, "Idempotency-Key longer than 255 characters");
    }

    HttpRequest req;
    req.method = method;
    req.target = path;
    if (!is_post && !encoded.empty()) req.target += (path.find('?') == std::string::npos ? "?" : "&") + encoded;
    // Authorization, Stripe-Version, User-Agent, X-Stripe-Client-User-Agent and Accept go first,
    // from the transport's default headers (set once in create()).
    req.headers.reserve(3);
    if (!options.stripe_account.empty()) req.headers.push_back({"Stripe-Account", options.stripe_account});
    if (!options.idempotency_key.empty()) req.headers.push_back({"Idempotency-Key", options.idempotency_key});
    if (is_post) {
      req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
      req.body = std::move(encoded);
    }
    const std::string account_key = options.stripe_account.empty() ? "platform" : options.stripe_account;
    const std::string log_path = path_only(path);

    HttpResult last;
    StripeResponse response;
    for (int retries = 0;; ++retries) {
      if (const auto wait = limiter->reserve(account_key); wait.count() > 0) {
        log::debug("stripe.paced", {{"account", account_key}, {"wait_ms", static_cast<std::int64_t>(wait.count())}});
        co_await sleeper->async_sleep(wait);
      }
      // A caller that woke late together with others waits for room in the window (see
      // RateLimiter::admit). Bounded, for sleepers that do not move the limiter's clock.
      for (int turn = 0; turn < kMaxPacingTurns; ++turn) {
        const auto late = limiter->admit(account_key);
        if (late.count() == 0) break;
        co_await sleeper->async_sleep(late);
      }
      const auto started = std::chrono::steady_clock::now();
      HttpResult attempt = co_await http->async_send(req);
      last = std::move(attempt);
      const auto duration_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();

      AttemptOutcome outcome;
      std::optional<StripeApiError> api;
      if (last) {
        response = StripeResponse{};
        response.status = last->status;
        response.body = std::move(last->body);
        response.request_id = std::string(last->header("Request-Id").value_or(""));
        response.idempotent_replayed = last->header("Idempotent-Replayed").value_or("") == "true";
        if (auto h = last->header("Stripe-Should-Retry")) {
          if (*h == "true") response.should_retry = true;
          if (*h == "false") response.should_retry = false;
        }
        response.attempts = retries + 1;
        if (response.status >= 400) api = parse_error_body(response.body);
        outcome = AttemptOutcome::response(response.status, response.should_retry, api ? api->code : "");
        if (response.status == 429 && (!api || api->code != "lock_timeout")) {
          limiter->on_rate_limited(account_key);
        } else if (response.status < 400) {
          limiter->on_success(account_key);
        }
      } else {
        const auto& e = last.error();
        outcome = AttemptOutcome::of(e.tls_verification_failed ? AttemptOutcome::Kind::TlsVerification
                                     : e.timed_out             ? AttemptOutcome::Kind::Timeout
                                                               : AttemptOutcome::Kind::NetworkFailure);
      }
      // A refused configuration (plain HTTP to a public host) is not a network failure.
      const bool config_error = !last && last.error().stage == TransportError::Stage::Config;
      const auto decision = config_error ? RetryDecision{false, "configuration refused"}
                                         : decide_retry(retries, config.max_retries, outcome);

      const bool good = last && response.status < 400;
      const auto level = good || (last && response.status == 402) ? log::Level::Info : log::Level::Warn;
      log::write(level, "stripe.call",
                 {{"method", method},
                  {"path", log_path},
                  {"account", options.stripe_account},
                  {"attempt", retries + 1},
                  {"status", last ? response.status : 0},
                  {"duration_ms", static_cast<std::int64_t>(duration_ms)},
                  {"request_id", last ? response.request_id : std::string()},
                  {"idempotency_key", options.idempotency_key},
                  {"idempotent_replayed", last && response.idempotent_replayed},
                  {"error_type", api ? api->type : std::string()},
                  {"error_code", api ? api->code : std::string()},
                  {"decline_code", api ? api->decline_code : std::string()},
                  {"transport_error", last ? std::string() : last.error().message},
                  {"retry", decision.retry},
                  {"reason", decision.reason}});
      if (!decision.retry) break;
      co_await sleeper->async_sleep(retry_delay(retries + 1, *random));
    }

    if (!last) co_return fail(classify_transport(is_post, last.error()));
    if (response.status >= 200 && response.status < 300) co_return response;
    co_return fail(classify_response(is_post, response));
  }

  template <class T, class Parse>
  asio::awaitable<Result<T>> typed(std::string method, std::string path, FormParams params, RequestOptions options,
                                   Parse parse) {
    return typed_encoded<T>(std::move(method), std::move(path), encode(params), std::move(options), parse);
  }

  template <class T, class Parse>
  asio::awaitable<Result<T>> typed_encoded(std::string method, std::string path, std::string encoded,
                                           RequestOptions options, Parse parse) {
    const bool is_post = method == "POST";
    auto r = co_await call(std::move(method), std::move(path), std::move(encoded), std::move(options));
    if (!r) co_return fail(r.error());
    auto parsed = parse(r->body);
    if (!parsed) {
      // A 2xx we cannot read: for a write we know it was applied but not to what, so the
      // caller must look it up rather than assume anything.
      Error e = parsed.error();
      e.kind = is_post ? ErrorKind::OutcomeUnknown : ErrorKind::Internal;
      e.message = "unreadable " + std::to_string(r->status) + " response (request " + r->request_id +
                  "): " + e.message;
      co_return fail(std::move(e));
    }
    co_return std::move(*parsed);
  }
};

StripeClient::StripeClient(asio::io_context& io, std::unique_ptr<Impl> impl) : io_(io), impl_(std::move(impl)) {}
StripeClient::~StripeClient() = default;

Result<std::unique_ptr<StripeClient>> StripeClient::create(asio::io_context& io, StripeConfig config, Deps deps) {
  if (config.api_key.empty()) return fail(ErrorKind::InvalidArgument, "no Stripe API key configured");
  if (config.max_retries < 0) return fail(ErrorKind::InvalidArgument, "max_retries must be >= 0");
  auto http = HttpClient::create(io, config.http);
  if (!http) return fail(http.error());
  auto impl = std::make_unique<Impl>(io, std::move(config));
  impl->http = std::move(*http);
  impl->random = deps.random != nullptr ? deps.random : &SystemRandom::instance();
  impl->clock = deps.clock != nullptr ? deps.clock : &SystemClock::instance();
  if (deps.sleeper != nullptr) {
    impl->sleeper = deps.sleeper;
  } else {
    impl->own_sleeper = std::make_unique<AsioSleeper>(io);
    impl->sleeper = impl->own_sleeper.get();
  }
  impl->limiter = deps.limiter ? std::move(deps.limiter)
                               : std::make_shared<RateLimiter>(
                                     RateLimiterConfig::for_key(impl->config.api_key.reveal()), *impl->clock);
  impl->user_agent_header = user_agent(impl->config.app);
  impl->client_ua_header = client_user_agent_json(impl->config.app);
  // The headers every call sends, in the order Till has always sent them (client_test pins it).
  if (auto st = impl->http->set_default_headers({
          {"Authorization", "Bearer " + impl->config.api_key.reveal()},
          {"Stripe-Version", std::string(kStripeVersion)},
          {"User-Agent", impl->user_agent_header},
          {"X-Stripe-Client-User-Agent", impl->client_ua_header},
          {"Accept", "application/json"},
      });
      !st) {
    return fail(ErrorKind::InvalidArgument, "API key or app info unusable in a header: " + st.error().message);
  }
  return std::unique_ptr<StripeClient>(new StripeClient(io, std::move(impl)));
}

HttpClient& StripeClient::http() noexcept { return *impl_->http; }
RateLimiter& StripeClient::limiter() noexcept { return *impl_->limiter; }
const StripeConfig& StripeClient::config() const noexcept { return impl_->config; }

asio::awaitable<Result<StripeResponse>> StripeClient::async_request(std::string method, std::string path,
                                                                    FormParams params, RequestOptions options) {
  return impl_->call(std::move(method), std::move(path), encode(params), std::move(options));
}

asio::awaitable<Result<StripeResponse>> StripeClient::async_request_encoded(std::string method, std::string path,
                                                                            std::string encoded,
                                                                            RequestOptions options) {
  return impl_->call(std::move(method), std::move(path), std::move(encoded), std::move(options));
}

Result<StripeResponse> StripeClient::request(std::string method, std::string path, FormParams params,
                                             RequestOptions options) {
  return wait(async_request(std::move(method), std::move(path), std::move(params), std::move(options)));
}

asio::awaitable<Result<PaymentIntent>> StripeClient::async_create_payment_intent(CreatePaymentIntentParams params,
                                                                                 RequestOptions options) {
  return impl_->typed_encoded<PaymentIntent>("POST", "/v1/payment_intents", params.encode(), std::move(options),
                                             parse_payment_intent);
}

asio::awaitable<Result<PaymentIntent>> StripeClient::async_confirm_payment_intent(std::string id, FormParams params,
                                                                                  RequestOptions options) {
  return impl_->typed<PaymentIntent>("POST", "/v1/payment_intents/" + id_segment(id) + "/confirm",
                                     std::move(params), std::move(options), parse_payment_intent);
}

asio::awaitable<Result<PaymentIntent>> StripeClient::async_capture_payment_intent(std::string id,
                                                                                  CaptureParams params,
                                                                                  RequestOptions options) {
  return impl_->typed<PaymentIntent>("POST", "/v1/payment_intents/" + id_segment(id) + "/capture",
                                     params.to_params(), std::move(options), parse_payment_intent);
}

asio::awaitable<Result<PaymentIntent>> StripeClient::async_cancel_payment_intent(std::string id, std::string reason,
                                                                                 RequestOptions options) {
  FormParams p;
  if (!reason.empty()) p.add("cancellation_reason", reason);
  return impl_->typed<PaymentIntent>("POST", "/v1/payment_intents/" + id_segment(id) + "/cancel", std::move(p),
                                     std::move(options), parse_payment_intent);
}

asio::awaitable<Result<PaymentIntent>> StripeClient::async_retrieve_payment_intent(std::string id,
                                                                                   RequestOptions options,
                                                                                   std::vector<std::string> expand) {
  FormParams p;
  if (!expand.empty()) p.add("expand", FormValue::array(std::vector<FormValue>(expand.begin(), expand.end())));
  return impl_->typed<PaymentIntent>("GET", "/v1/payment_intents/" + id_segment(id), std::move(p),
                                     std::move(options), parse_payment_intent);
}

asio::awaitable<Result<ListPage<PaymentIntent>>> StripeClient::async_search_payment_intents(std::string query,
                                                                                            RequestOptions options,
                                                                                            int limit,
                                                                                            std::string page) {
  FormParams p;
  p.add("query", query);
  if (limit > 0) p.add("limit", limit);
  if (!page.empty()) p.add("page", page);
  return impl_->typed<ListPage<PaymentIntent>>("GET", "/v1/payment_intents/search", std::move(p),
                                               std::move(options), parse_page<PaymentIntent>);
}

asio::awaitable<Result<ListPage<PaymentIntent>>> StripeClient::async_list_payment_intents(ListParams params,
                                                                                          RequestOptions options) {
  return impl_->typed<ListPage<PaymentIntent>>("GET", "/v1/payment_intents", params.to_params(), std::move(options),
                                               parse_page<PaymentIntent>);
}

asio::awaitable<Result<Refund>> StripeClient::async_create_refund(CreateRefundParams params, RequestOptions options) {
  return impl_->typed<Refund>("POST", "/v1/refunds", params.to_params(), std::move(options), parse_refund);
}

asio::awaitable<Result<Refund>> StripeClient::async_retrieve_refund(std::string id, RequestOptions options) {
  return impl_->typed<Refund>("GET", "/v1/refunds/" + id_segment(id), FormParams{}, std::move(options),
                              parse_refund);
}

asio::awaitable<Result<Location>> StripeClient::async_create_location(FormParams params, RequestOptions options) {
  return impl_->typed<Location>("POST", "/v1/terminal/locations", std::move(params), std::move(options),
                                parse_location);
}

asio::awaitable<Result<ListPage<Location>>> StripeClient::async_list_locations(ListParams params,
                                                                               RequestOptions options) {
  return impl_->typed<ListPage<Location>>("GET", "/v1/terminal/locations", params.to_params(), std::move(options),
                                          parse_page<Location>);
}

asio::awaitable<Result<Reader>> StripeClient::async_create_reader(std::string registration_code, std::string label,
                                                                  std::string location, RequestOptions options) {
  FormParams p;
  p.add("registration_code", registration_code);
  if (!label.empty()) p.add("label", label);
  if (!location.empty()) p.add("location", location);
  return impl_->typed<Reader>("POST", "/v1/terminal/readers", std::move(p), std::move(options), parse_reader);
}

asio::awaitable<Result<Reader>> StripeClient::async_retrieve_reader(std::string id, RequestOptions options) {
  return impl_->typed<Reader>("GET", "/v1/terminal/readers/" + id_segment(id), FormParams{}, std::move(options),
                              parse_reader);
}

asio::awaitable<Result<ListPage<Reader>>> StripeClient::async_list_readers(ListParams params,
                                                                           RequestOptions options) {
  return impl_->typed<ListPage<Reader>>("GET", "/v1/terminal/readers", params.to_params(), std::move(options),
                                        parse_page<Reader>);
}

asio::awaitable<Result<Reader>> StripeClient::async_process_payment_intent(std::string reader_id,
                                                                           std::string payment_intent,
                                                                           FormParams process_config,
                                                                           RequestOptions options) {
  FormParams p;
  p.add("payment_intent", payment_intent);
  if (!process_config.empty()) p.add("process_config", FormValue::object(process_config.fields()));
  return impl_->typed<Reader>("POST", "/v1/terminal/readers/" + id_segment(reader_id) + "/process_payment_intent",
                              std::move(p), std::move(options), parse_reader);
}

asio::awaitable<Result<Reader>> StripeClient::async_set_reader_display(std::string reader_id, FormValue cart,
                                                                       RequestOptions options) {
  FormParams p;
  p.add("type", "cart");
  p.add("cart", std::move(cart));
  return impl_->typed<Reader>("POST", "/v1/terminal/readers/" + id_segment(reader_id) + "/set_reader_display",
                              std::move(p), std::move(options), parse_reader);
}

asio::awaitable<Result<Reader>> StripeClient::async_refund_payment(std::string reader_id, std::string payment_intent,
                                                                   std::optional<std::int64_t> amount,
                                                                   RequestOptions options) {
  FormParams p;
  p.add("payment_intent", payment_intent);
  if (amount) p.add("amount", FormValue(*amount));
  return impl_->typed<Reader>("POST", "/v1/terminal/readers/" + id_segment(reader_id) + "/refund_payment",
                              std::move(p), std::move(options), parse_reader);
}

asio::awaitable<Result<Reader>> StripeClient::async_cancel_reader_action(std::string reader_id,
                                                                         RequestOptions options) {
  return impl_->typed<Reader>("POST", "/v1/terminal/readers/" + id_segment(reader_id) + "/cancel_action",
                              FormParams{}, std::move(options), parse_reader);
}

asio::awaitable<Result<Reader>> StripeClient::async_present_payment_method(std::string reader_id,
                                                                           std::string card_number,
                                                                           std::optional<std::int64_t> amount_tip,
                                                                           RequestOptions options) {
  FormParams p;
  p.add("type", "card_present");
  if (!card_number.empty()) p.add("card_present", FormValue::object({{"number", card_number}}));
  if (amount_tip) p.add("amount_tip", FormValue(*amount_tip));
  return impl_->typed<Reader>(
      "POST", "/v1/test_helpers/terminal/readers/" + id_segment(reader_id) + "/present_payment_method",
      std::move(p), std::move(options), parse_reader);
}

asio::awaitable<Result<Event>> StripeClient::async_retrieve_event(std::string id, RequestOptions options) {
  return impl_->typed<Event>("GET", "/v1/events/" + id_segment(id), FormParams{}, std::move(options), parse_event);
}

asio::awaitable<Result<ListPage<Event>>> StripeClient::async_list_events(ListParams params, RequestOptions options) {
  return impl_->typed<ListPage<Event>>("GET", "/v1/events", params.to_params(), std::move(options),
                                       parse_page<Event>);
}

asio::awaitable<Result<Account>> StripeClient::async_retrieve_account(std::string account_id,
                                                                      RequestOptions options) {
  const std::string path = account_id.empty() ? "/v1/account" : "/v1/accounts/" + id_segment(account_id);
  return impl_->typed<Account>("GET", path, FormParams{}, std::move(options), parse_account);
}

}  // namespace till::sync
