// The Stripe client against a scripted loopback server: headers, retries with one key,
// classification of every fault class, keep-alive, timeouts and TLS verification.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "scripted_server.hpp"
#include "till/sync/stripe_client.hpp"

using namespace till;
using namespace till::sync;
using namespace till::sync::testing;
using namespace std::chrono_literals;

namespace {

class RecordingSleeper final : public Sleeper {
 public:
  boost::asio::awaitable<void> async_sleep(std::chrono::milliseconds d) override {
    sleeps.push_back(d);
    co_return;
  }
  std::vector<std::chrono::milliseconds> sleeps;
};

constexpr const char* kKey = "sk_test_" "51PlantedKeyAbcdefghijklmnopqrstuv1234";

struct Harness {
  explicit Harness(std::function<void(StripeConfig&)> tweak = {}, ScriptedServer* external = nullptr)
      : server_ptr(external != nullptr ? external : &own_server()) {
    StripeConfig config;
    config.http.base_url = server_ptr->url();
    config.api_key = Secret(kKey);
    config.app = AppInfo{"Till", "0.1.0", "https://till.example", "pp_partner_123"};
    if (tweak) tweak(config);
    StripeClientDeps deps;
    deps.random = &random;
    deps.sleeper = &sleeper;
    deps.clock = &clock;
    deps.limiter = limiter;
    auto made = StripeClient::create(io, config, deps);
    REQUIRE(made.has_value());
    client = std::move(*made);
  }

  ScriptedServer& own_server() {
    owned.emplace();
    return *owned;
  }
  ScriptedServer& server() { return *server_ptr; }

  Result<StripeResponse> post(std::string path, FormParams params, std::string key = "key-1",
                              std::string account = "acct_1Merchant") {
    return client->request("POST", std::move(path), std::move(params), RequestOptions{std::move(account), std::move(key)});
  }
  Result<StripeResponse> get(std::string path, FormParams params = {}) {
    return client->request("GET", std::move(path), std::move(params), RequestOptions{"acct_1Merchant", ""});
  }

  boost::asio::io_context io;
  std::optional<ScriptedServer> owned;
  ScriptedServer* server_ptr;
  RecordingSleeper sleeper;
  SeededRandom random{99};
  FakeClock clock;
  std::shared_ptr<RateLimiter> limiter =
      std::make_shared<RateLimiter>(RateLimiterConfig{1000.0, 1000.0, 1.0, 0.5, 1000ms, 1.0}, clock);
  std::unique_ptr<StripeClient> client;
};

std::string error_body(std::string type, std::string code, std::string message = "x",
                       std::string decline_code = "") {
  nlohmann::json e = {{"type", type}, {"code", code}, {"message", message}};
  if (!decline_code.empty()) e["decline_code"] = decline_code;
  return nlohmann::json{{"error", e}}.dump();
}

const std::string kPi = R"({"id":"pi_1","object":"payment_intent","status":"succeeded","amount":1299,
  "amount_received":1299,"currency":"usd","client_secret":"pi_1_secret_abc","metadata":{"sale_id":"s-1"}})";

CreatePaymentIntentParams pi_params(std::int64_t amount, std::string currency) {
  CreatePaymentIntentParams p;
  p.amount = amount;
  p.currency = std::move(currency);
  return p;
}

}  // namespace

TEST_CASE("a POST carries Till's headers, the caller's key and a form body") {
  Harness h;
  h.server().push(ScriptedReply::json(200, kPi, {{"Request-Id", "req_123"}}));
  FormParams params{{"amount", 1299}, {"currency", "usd"},
                    {"metadata", FormValue::object({{"sale_id", "s-1"}})}};
  auto r = h.post("/v1/payment_intents", params, "attempt-key-7");
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->request_id == "req_123");
  CHECK(r->attempts == 1);
  const auto reqs = h.server().requests();
  REQUIRE(reqs.size() == 1);
  const auto& q = reqs[0];
  CHECK(q.method == "POST");
  CHECK(q.target == "/v1/payment_intents");
  CHECK(q.header("Authorization") == "Bearer " + std::string(kKey));
  CHECK(q.header("Stripe-Version") == "2026-10-28.endive");
  CHECK(q.header("Stripe-Account") == "acct_1Merchant");
  CHECK(q.header("Idempotency-Key") == "attempt-key-7");
  CHECK(q.header("Content-Type") == "application/x-www-form-urlencoded");
  CHECK(q.header("User-Agent") == "Stripe/v1 Till/0.1.0 (https://till.example)");
  CHECK_FALSE(q.header("Stripe-Context").has_value());
  CHECK(q.body == "amount=1299&currency=usd&metadata[sale_id]=s-1");
  const auto ua = nlohmann::json::parse(q.header("X-Stripe-Client-User-Agent").value());
  CHECK(ua["lang"] == "cpp");
  CHECK(ua["bindings_version"] == "0.1.0");
  CHECK(ua["application"]["name"] == "Till");
  CHECK(ua["application"]["version"] == "0.1.0");
  CHECK(ua["application"]["url"] == "https://till.example");
  CHECK(ua["application"]["partner_id"] == "pp_partner_123");
  CHECK(q.header("User-Agent")->find("pp_partner_123") == std::string::npos);
}

TEST_CASE("a POST's header lines are Host, Till's headers in order, then Content-Length") {
  Harness h;
  h.server().push(ScriptedReply::json(200, kPi));
  REQUIRE(h.post("/v1/payment_intents", FormParams{{"amount", 1299}, {"currency", "usd"}}, "k-1").has_value());
  h.server().push(ScriptedReply::json(200, kPi));
  REQUIRE(h.post("/v1/payment_intents/pi_1/cancel", FormParams{}, "k-2").has_value());
  h.server().push(ScriptedReply::json(200, kPi));
  REQUIRE(h.get("/v1/payment_intents/pi_1").has_value());
  const auto reqs = h.server().requests();
  REQUIRE(reqs.size() == 3);
  std::vector<std::string> names;
  for (const auto& [name, value] : reqs[0].headers) names.push_back(name);
  const std::vector<std::string> expected = {"Host",           "Authorization", "Stripe-Version",
                                             "User-Agent",     "X-Stripe-Client-User-Agent",
                                             "Accept",         "Stripe-Account", "Idempotency-Key",
                                             "Content-Type",   "Content-Length"};
  CHECK(names == expected);
  CHECK(reqs[0].header("Host") == h.server().url().substr(std::string("http://").size()));
  CHECK(reqs[0].header("Accept") == "application/json");
  CHECK(reqs[0].header("Content-Length") == "24");
  CHECK(reqs[0].body == "amount=1299&currency=usd");
  // A POST without params still says its body is empty; a GET says nothing about a body.
  CHECK(reqs[1].header("Content-Length") == "0");
  CHECK(reqs[1].body.empty());
  CHECK_FALSE(reqs[2].header("Content-Length").has_value());
  CHECK_FALSE(reqs[2].header("Content-Type").has_value());
}

TEST_CASE("a chunked answer is read whole and its headers as sent") {
  Harness h;
  auto reply = ScriptedReply::json(200, kPi, {{"Request-Id", "req_chunked"}, {"Idempotent-Replayed", "true"}});
  reply.chunked = true;
  h.server().push(reply);
  h.server().push(ScriptedReply::json(200, kPi));
  auto r = h.client->wait(h.client->async_create_payment_intent(pi_params(1299, "usd"), RequestOptions{"acct_1", "k-c"}));
  REQUIRE(r.has_value());
  CHECK(r->id == "pi_1");
  CHECK(r->metadata_value("sale_id") != nullptr);
  auto raw = h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "k-d");
  REQUIRE(raw.has_value());
  CHECK(raw->body == kPi);
  CHECK(h.client->http().connections_opened() == 1);  // the chunked answer left the connection usable
}

TEST_CASE("an answer longer than max_response_bytes is a read failure, unknown for a write") {
  Harness h([](StripeConfig& c) {
    c.http.max_response_bytes = 64;
    c.max_retries = 0;
  });
  h.server().push(ScriptedReply::json(200, kPi));
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "k-big");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::OutcomeUnknown);
}

TEST_CASE("a header value with a line break is refused before anything is sent") {
  Harness h;
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 100}}, "key\r\nX-Injected: 1");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::FailedPrecondition);
  auto g = h.client->request("GET", "/v1/payment_intents/pi_1", FormParams{},
                             RequestOptions{"acct_1\nX-Injected: 1", ""});
  REQUIRE_FALSE(g.has_value());
  CHECK(h.server().requests().empty());
  CHECK(h.client->http().connections_opened() == 0);
}

TEST_CASE("a GET puts params in the query string and sends no idempotency key or content type") {
  Harness h;
  h.server().push(ScriptedReply::json(200, R"({"object":"search_result","data":[],"has_more":false})"));
  auto r = h.client->wait(h.client->async_search_payment_intents(search_query_metadata("sale_id", "s-1"),
                                                                  RequestOptions{"acct_1Merchant", ""}, 5));
  REQUIRE(r.has_value());
  const auto q = h.server().requests().at(0);
  CHECK(q.method == "GET");
  CHECK(q.target == "/v1/payment_intents/search?query=metadata%5B%27sale_id%27%5D%3A%27s-1%27&limit=5");
  CHECK_FALSE(q.header("Idempotency-Key").has_value());
  CHECK_FALSE(q.header("Content-Type").has_value());
  CHECK(q.header("Stripe-Version") == "2026-10-28.endive");
}

TEST_CASE("the client refuses a POST without an idempotency key and sends nothing") {
  Harness h;
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 100}}, "");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::InvalidArgument);
  CHECK(h.server().requests().empty());
  CHECK(h.server().connections_accepted() == 0);
}

TEST_CASE("a 500 is retried with the same idempotency key and identical body until it succeeds") {
  Harness h;
  h.server().push(ScriptedReply::json(500, error_body("api_error", "")));
  h.server().push(ScriptedReply::json(503, "{}"));
  h.server().push(ScriptedReply::json(200, kPi, {{"Idempotent-Replayed", "true"}}));
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1299}}, "same-key");
  REQUIRE(r.has_value());
  CHECK(r->attempts == 3);
  CHECK(r->idempotent_replayed);
  const auto reqs = h.server().requests();
  REQUIRE(reqs.size() == 3);
  for (const auto& q : reqs) {
    CHECK(q.header("Idempotency-Key") == "same-key");
    CHECK(q.body == reqs[0].body);
  }
  REQUIRE(h.sleeper.sleeps.size() == 2);
  CHECK(h.sleeper.sleeps[0] == 500ms);  // 0.5 s x [0.5, 1] floored at 0.5 s
  CHECK(h.sleeper.sleeps[1] >= 500ms);
  CHECK(h.sleeper.sleeps[1] <= 1000ms);
}

TEST_CASE("a POST whose responses are all lost is OutcomeUnknown after retrying with the same key") {
  Harness h;
  for (int i = 0; i < 3; ++i) h.server().push(ScriptedReply::drop());
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1299}}, "lost-key");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::OutcomeUnknown);
  const auto reqs = h.server().requests();
  REQUIRE(reqs.size() == 3);  // the first attempt and 2 retries
  for (const auto& q : reqs) CHECK(q.header("Idempotency-Key") == "lost-key");
}

TEST_CASE("a lost response followed by a replay succeeds with the replayed answer") {
  Harness h;
  h.server().push(ScriptedReply::drop());
  h.server().push(ScriptedReply::json(200, kPi, {{"Idempotent-Replayed", "true"}}));
  auto r = h.client->wait(h.client->async_create_payment_intent(
      pi_params(1299, "usd"), RequestOptions{"acct_1Merchant", "k-replay"}));
  REQUIRE(r.has_value());
  CHECK(r->id == "pi_1");
  CHECK(r->status == PaymentIntentStatus::Succeeded);
  CHECK(h.server().requests().size() == 2);
}

TEST_CASE("a GET whose responses are all lost is Unavailable, not OutcomeUnknown") {
  Harness h;
  for (int i = 0; i < 3; ++i) h.server().push(ScriptedReply::drop());
  auto r = h.get("/v1/payment_intents/pi_1");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::Unavailable);
  CHECK(h.server().requests().size() == 3);
}

TEST_CASE("a 400 idempotency_error is not retried and is surfaced as a bug") {
  Harness h;
  h.server().push(ScriptedReply::json(400, error_body("idempotency_error", "", "Keys for idempotent requests..."),
                                      {{"Request-Id", "req_idem"}}));
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "k");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::InvalidArgument);
  CHECK(r.error().message.rfind("BUG:", 0) == 0);
  REQUIRE(r.error().stripe.has_value());
  CHECK(r.error().stripe->type == "idempotency_error");
  CHECK(r.error().stripe->request_id == "req_idem");
  CHECK(h.server().requests().size() == 1);
  CHECK(h.sleeper.sleeps.empty());
}

TEST_CASE("409 idempotency_key_in_use is retried with the same key") {
  Harness h;
  h.server().push(ScriptedReply::json(409, error_body("invalid_request_error", "idempotency_key_in_use")));
  h.server().push(ScriptedReply::json(200, kPi));
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "busy-key");
  REQUIRE(r.has_value());
  const auto reqs = h.server().requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].header("Idempotency-Key") == "busy-key");
}

TEST_CASE("a key still in use after every retry leaves the write's outcome unknown, never declined") {
  Harness h;
  for (int i = 0; i < 3; ++i) {
    h.server().push(ScriptedReply::json(409, error_body("invalid_request_error", "idempotency_key_in_use")));
  }
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "busy-key");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::OutcomeUnknown);
  CHECK(r.error().stripe->code == "idempotency_key_in_use");
}

TEST_CASE("a card decline is Declined with its codes and is not retried") {
  Harness h;
  h.server().push(ScriptedReply::json(402, error_body("card_error", "card_declined", "Your card has insufficient funds.",
                                                      "insufficient_funds")));
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::Declined);
  CHECK(r.error().stripe->code == "card_declined");
  CHECK(r.error().stripe->decline_code == "insufficient_funds");
  CHECK(r.error().stripe->http_status == 402);
  CHECK(h.server().requests().size() == 1);
}

TEST_CASE("Stripe-Should-Retry false stops retries of a 500 and the write stays unknown") {
  Harness h;
  h.server().push(ScriptedReply::json(500, error_body("api_error", ""), {{"Stripe-Should-Retry", "false"}}));
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::OutcomeUnknown);
  CHECK(r.error().stripe->should_retry == false);
  CHECK(h.server().requests().size() == 1);
}

TEST_CASE("Stripe-Should-Retry true makes a 400 retryable") {
  Harness h;
  h.server().push(ScriptedReply::json(400, error_body("invalid_request_error", "x"), {{"Stripe-Should-Retry", "true"}}));
  h.server().push(ScriptedReply::json(200, kPi));
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}});
  REQUIRE(r.has_value());
  CHECK(h.server().requests().size() == 2);
}

TEST_CASE("429 rate_limit is not retried in the call, is ResourceExhausted and slows the limiter") {
  Harness h;
  const double before = h.limiter->current_rate("acct_1Merchant");
  h.server().push(ScriptedReply::json(429, error_body("invalid_request_error", "rate_limit")));
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::ResourceExhausted);
  CHECK(h.server().requests().size() == 1);
  CHECK(h.limiter->current_rate("acct_1Merchant") == Approx(before / 2));
}

TEST_CASE("429 lock_timeout is retried") {
  Harness h;
  h.server().push(ScriptedReply::json(429, error_body("invalid_request_error", "lock_timeout")));
  h.server().push(ScriptedReply::json(200, kPi));
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}});
  REQUIRE(r.has_value());
  CHECK(h.server().requests().size() == 2);
}

TEST_CASE("authentication, permission and not-found answers map to their kinds without retries") {
  struct Row {
    int status;
    std::string body;
    ErrorKind kind;
  };
  const std::vector<Row> rows = {
      {401, error_body("invalid_request_error", ""), ErrorKind::Unauthenticated},
      {403, error_body("invalid_request_error", ""), ErrorKind::PermissionDenied},
      {404, error_body("invalid_request_error", "resource_missing"), ErrorKind::NotFound},
      {400, error_body("invalid_request_error", "parameter_missing"), ErrorKind::InvalidArgument},
      {400, error_body("invalid_request_error", "terminal_reader_busy"), ErrorKind::FailedPrecondition},
      {400, error_body("invalid_request_error", "terminal_reader_offline"), ErrorKind::Unavailable},
      {400, error_body("invalid_request_error", "terminal_reader_timeout"), ErrorKind::OutcomeUnknown},
  };
  for (const auto& row : rows) {
    INFO(row.status << " " << row.body);
    Harness h;
    h.server().push(ScriptedReply::json(row.status, row.body));
    auto r = h.post("/v1/terminal/readers/tmr_1/process_payment_intent", FormParams{{"payment_intent", "pi_1"}});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().kind == row.kind);
    CHECK(h.server().requests().size() == 1);
  }
}

TEST_CASE("a 5xx on a GET ends Unavailable after the retries") {
  Harness h;
  for (int i = 0; i < 3; ++i) h.server().push(ScriptedReply::json(502, "not json"));
  auto r = h.get("/v1/payment_intents/pi_1");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::Unavailable);
  CHECK(h.server().requests().size() == 3);
}

TEST_CASE("consecutive calls reuse one kept-alive connection") {
  Harness h;
  for (int i = 0; i < 4; ++i) {
    h.server().push(ScriptedReply::json(200, kPi));
    REQUIRE(h.post("/v1/payment_intents", FormParams{{"amount", i}}, "k" + std::to_string(i)).has_value());
  }
  CHECK(h.server().connections_accepted() == 1);
  CHECK(h.client->http().connections_opened() == 1);
  for (const auto& q : h.server().requests()) CHECK(q.connection == 0);
}

TEST_CASE("a connection the server closed while idle is replaced, not used") {
  Harness h;
  auto reply = ScriptedReply::json(200, kPi);
  reply.close_after = true;
  h.server().push(reply);
  h.server().push(ScriptedReply::json(200, kPi));
  REQUIRE(h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "a").has_value());
  REQUIRE(h.post("/v1/payment_intents", FormParams{{"amount", 2}}, "b").has_value());
  CHECK(h.server().connections_accepted() == 2);
}

TEST_CASE("a server that never answers a POST times out as OutcomeUnknown") {
  Harness h([](StripeConfig& c) {
    c.http.read_timeout = 150ms;
    c.max_retries = 1;
  });
  h.server().push(ScriptedReply::silent());
  h.server().push(ScriptedReply::silent());
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "slow-key");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::OutcomeUnknown);
  CHECK(r.error().message.find("timed out") != std::string::npos);
  const auto reqs = h.server().requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].header("Idempotency-Key") == "slow-key");
}

TEST_CASE("the total deadline bounds a slow answer") {
  Harness h([](StripeConfig& c) {
    c.http.total_timeout = 150ms;
    c.max_retries = 0;
  });
  auto slow = ScriptedReply::json(200, kPi);
  slow.delay = 2s;
  h.server().push(slow);
  auto r = h.get("/v1/payment_intents/pi_1");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::Unavailable);
}

TEST_CASE("a refused connection never delivered the POST, so it is Unavailable rather than unknown") {
  std::uint16_t dead_port = 0;
  {
    ScriptedServer gone;
    dead_port = gone.port();
  }
  Harness h([dead_port](StripeConfig& c) { c.http.base_url = "http://127.0.0.1:" + std::to_string(dead_port); });
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::Unavailable);
  CHECK(h.sleeper.sleeps.size() == 2);  // connection failures are retried like any network failure
}

TEST_CASE("plain HTTP is refused for a host that is not loopback") {
  boost::asio::io_context io;
  StripeConfig config;
  config.api_key = Secret(kKey);
  config.http.base_url = "http://api.stripe.com";
  auto made = StripeClient::create(io, config);
  REQUIRE_FALSE(made.has_value());
  CHECK(made.error().kind == ErrorKind::FailedPrecondition);
  CHECK(made.error().message.find("loopback") != std::string::npos);
  config.http.base_url = "http://10.0.0.1:8080";
  CHECK_FALSE(StripeClient::create(io, config).has_value());
  config.http.base_url = "http://localhost:12111";
  CHECK(StripeClient::create(io, config).has_value());
  config.http.base_url = "https://api.stripe.com/v1";  // paths are refused, not silently dropped
  CHECK(StripeClient::create(io, config).error().kind == ErrorKind::InvalidArgument);
}

TEST_CASE("typed helpers encode their params exactly and parse the answer") {
  Harness h;
  h.server().push(ScriptedReply::json(200, kPi));
  CreatePaymentIntentParams p;
  p.amount = 1299;
  p.currency = "usd";
  p.capture_method = "automatic";
  p.application_fee_amount = 39;
  p.payment_method = "pm_card_present";
  p.confirm = true;
  p.metadata = {{"sale_id", "s-1"}, {"register_id", "r-1"}, {"attempt", "1"}};
  p.description = "Sale s-1";
  auto r = h.client->wait(h.client->async_create_payment_intent(p, RequestOptions{"acct_1Merchant", "sale-s-1-a1"}));
  REQUIRE(r.has_value());
  CHECK(r->amount == 1299);
  CHECK(*r->metadata_value("sale_id") == "s-1");
  CHECK(h.server().requests().at(0).body ==
        "amount=1299&currency=usd&allowed_payment_method_types[0]=card_present&capture_method=automatic"
        "&application_fee_amount=39&payment_method=pm_card_present&confirm=true&description=Sale%20s-1"
        "&metadata[sale_id]=s-1&metadata[register_id]=r-1&metadata[attempt]=1");

  h.server().push(ScriptedReply::json(200, kPi));
  REQUIRE(h.client->wait(h.client->async_capture_payment_intent("pi_1", CaptureParams{1000, 30},
                                                                RequestOptions{"acct_1Merchant", "cap-1"})));
  CHECK(h.server().requests().at(1).target == "/v1/payment_intents/pi_1/capture");
  CHECK(h.server().requests().at(1).body == "amount_to_capture=1000&application_fee_amount=30");

  h.server().push(ScriptedReply::json(200, R"({"id":"re_1","object":"refund","status":"succeeded","amount":500})"));
  CreateRefundParams rp;
  rp.payment_intent = "pi_1";
  rp.amount = 500;
  rp.refund_application_fee = true;
  auto refund = h.client->wait(h.client->async_create_refund(rp, RequestOptions{"acct_1Merchant", "ref-1"}));
  REQUIRE(refund.has_value());
  CHECK(refund->id == "re_1");
  CHECK(h.server().requests().at(2).body == "payment_intent=pi_1&amount=500&refund_application_fee=true");

  h.server().push(ScriptedReply::json(
      200, R"({"id":"tmr_1","object":"terminal.reader","action":{"type":"process_payment_intent",
      "status":"in_progress","process_payment_intent":{"payment_intent":"pi_1"}}})"));
  auto reader = h.client->wait(h.client->async_process_payment_intent(
      "tmr_1", "pi_1", FormParams{{"skip_tipping", true}}, RequestOptions{"acct_1Merchant", "proc-1"}));
  REQUIRE(reader.has_value());
  REQUIRE(reader->action.has_value());
  CHECK(reader->action->status == "in_progress");
  CHECK(reader->action->payment_intent == "pi_1");
  CHECK(h.server().requests().at(3).body == "payment_intent=pi_1&process_config[skip_tipping]=true");
}

TEST_CASE("an unreadable 200 to a write is OutcomeUnknown and to a read is Internal") {
  Harness h;
  h.server().push(ScriptedReply::json(200, "<html>proxy</html>"));
  auto w = h.client->wait(h.client->async_create_payment_intent(
      pi_params(100, "usd"), RequestOptions{"acct_1", "k"}));
  REQUIRE_FALSE(w.has_value());
  CHECK(w.error().kind == ErrorKind::OutcomeUnknown);
  h.server().push(ScriptedReply::json(200, "[]"));
  auto g = h.client->wait(h.client->async_retrieve_payment_intent("pi_1", RequestOptions{"acct_1", ""}));
  REQUIRE_FALSE(g.has_value());
  CHECK(g.error().kind == ErrorKind::Internal);
}

TEST_CASE("concurrent calls on one io_context each get an answer") {
  Harness h;
  for (int i = 0; i < 8; ++i) h.server().push(ScriptedReply::json(200, kPi));
  std::vector<Result<PaymentIntent>> results;
  auto all = [&]() -> boost::asio::awaitable<int> {
    // Start eight calls, then collect them; they overlap on the single thread.
    std::vector<std::optional<Result<PaymentIntent>>> slots(8);
    int done = 0;
    for (int i = 0; i < 8; ++i) {
      boost::asio::co_spawn(
          h.io,
          h.client->async_retrieve_payment_intent("pi_" + std::to_string(i), RequestOptions{"acct_1", ""}),
          [&slots, &done, i](std::exception_ptr, Result<PaymentIntent> r) {
            slots[static_cast<std::size_t>(i)] = std::move(r);
            ++done;
          });
    }
    boost::asio::steady_timer t(h.io);
    while (done < 8) {
      t.expires_after(1ms);
      co_await t.async_wait(boost::asio::use_awaitable);
    }
    for (auto& s : slots) results.push_back(std::move(*s));
    co_return done;
  };
  CHECK(run_blocking(h.io, all()) == 8);
  for (const auto& r : results) CHECK(r.has_value());
  CHECK(h.server().requests().size() == 8);
  CHECK(h.server().connections_accepted() > 1);  // overlapping calls need their own connections
}

// ---- TLS ----

namespace {
std::string write_temp(const std::string& name, const std::string& content) {
  const std::string path = std::string(TILL_BINARY_DIR) + "/tests/sync/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  std::fwrite(content.data(), 1, content.size(), f);
  std::fclose(f);
  return path;
}
}  // namespace

TEST_CASE("TLS to a loopback server verifies its certificate against the extra CA") {
  const auto certs = TestCertificates::make({"localhost"}, {"127.0.0.1"});
  ScriptedServer server(certs);
  const auto ca = write_temp("tls_ok_ca.pem", certs.ca_pem);
  Harness h([&](StripeConfig& c) { c.http.extra_ca_file = ca; }, &server);
  server.push(ScriptedReply::json(200, kPi));
  server.push(ScriptedReply::json(200, kPi));
  REQUIRE(h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "a").has_value());
  REQUIRE(h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "b").has_value());
  CHECK(server.connections_accepted() == 1);  // TLS connections are kept alive too
  CHECK(server.requests().at(0).header("Authorization") == "Bearer " + std::string(kKey));
}

TEST_CASE("a certificate from an unknown CA fails verification and is never retried") {
  const auto certs = TestCertificates::make({"localhost"}, {"127.0.0.1"});
  ScriptedServer server(certs);
  Harness h({}, &server);  // no extra CA: the system store does not know the test CA
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "tls-key");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::Unavailable);
  CHECK(r.error().message.find("TLS certificate verification failed") != std::string::npos);
  CHECK(server.requests().empty());  // nothing, API key included, was sent
  CHECK(server.connections_accepted() == 1);
  CHECK(h.sleeper.sleeps.empty());
}

TEST_CASE("a certificate for another host name fails verification even from a trusted CA") {
  const auto certs = TestCertificates::make({"other.example"}, {"10.9.8.7"});
  ScriptedServer server(certs);
  const auto ca = write_temp("tls_wrong_name_ca.pem", certs.ca_pem);
  Harness h([&](StripeConfig& c) { c.http.extra_ca_file = ca; }, &server);
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "tls-key");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("TLS certificate verification failed") != std::string::npos);
  CHECK(server.requests().empty());
}

TEST_CASE("a missing CA file is a configuration error") {
  boost::asio::io_context io;
  StripeConfig config;
  config.api_key = Secret(kKey);
  config.http.base_url = "https://127.0.0.1:1";
  config.http.extra_ca_file = "/nonexistent/ca.pem";
  auto made = StripeClient::create(io, config);
  REQUIRE_FALSE(made.has_value());
  CHECK(made.error().kind == ErrorKind::Unavailable);
}

TEST_CASE("a response cut off in the middle of its body leaves a POST unknown") {
  Harness h([](StripeConfig& c) { c.max_retries = 0; });
  h.server().push(ScriptedReply::truncated(200, kPi));
  auto r = h.post("/v1/payment_intents", FormParams{{"amount", 1}}, "cut-key");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::OutcomeUnknown);
  CHECK(h.client->http().idle_connections() == 0);  // a connection in an unknown state is not reused
}

TEST_CASE("braced option temporaries written inside co_await are destroyed once") {
  // Regression for a g++ 12 bug with aggregate temporaries in co_await expressions (double
  // free under ASan when RequestOptions was an aggregate). Long strings defeat SSO.
  Harness h;
  for (int i = 0; i < 3; ++i) h.server().push(ScriptedReply::json(200, kPi));
  auto body = [&]() -> boost::asio::awaitable<int> {
    int ok = 0;
    for (int i = 0; i < 3; ++i) {
      auto r = co_await h.client->async_retrieve_payment_intent(
          "pi_1", RequestOptions{std::string("acct_1ALongConnectedAccountId") + std::to_string(i),
                                 std::string(40, 'k')});
      if (r) ++ok;
    }
    auto cap = co_await h.client->async_capture_payment_intent(
        "pi_1", CaptureParams{100, 3}, RequestOptions{"acct_1ALongConnectedAccountIdX", std::string(40, 'c')});
    if (!cap) ++ok;  // the script is spent: any answer but a crash will do
    co_return ok;
  };
  CHECK(run_blocking(h.io, body()) >= 3);
}
