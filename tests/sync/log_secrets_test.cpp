// Every Stripe call is logged with what an operator needs (method, path, status, duration,
// Request-Id, idempotency key, replay flag, error type/code) and nothing secret.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <sstream>

#include "scripted_server.hpp"
#include "till/base/log.hpp"
#include "till/sync/stripe_client.hpp"

using namespace till;
using namespace till::sync;
using namespace till::sync::testing;

namespace {
class NoSleep final : public Sleeper {
 public:
  boost::asio::awaitable<void> async_sleep(std::chrono::milliseconds) override { co_return; }
};
}  // namespace

TEST_CASE("the call log carries request ids and keys but never an API key, webhook secret or client secret") {
  // Planted secrets: none of these strings may reach the log, masked forms of the key aside.
  const std::string api_key = "sk_test_" "51PlantedApiKeyQwertyuiopAsdfghjkl7777";
  const std::string api_key_body = "PlantedApiKeyQwertyuiop";
  const std::string client_secret_body = "PlantedClientSecretZxcvbnm";
  const std::string whsec_body = "PlantedWebhookSecretPoiuy";
  const std::string log_path = std::string(TILL_BINARY_DIR) + "/tests/sync/log_secrets_test.jsonl";
  std::remove(log_path.c_str());
  REQUIRE(log::init(log::Config{log_path, 1024 * 1024, 2, log::Level::Debug, false}).has_value());

  {
    ScriptedServer server;
    server.push(ScriptedReply::json(
        200,
        R"({"id":"pi_1","object":"payment_intent","status":"succeeded","client_secret":"pi_1_secret_)" +
            client_secret_body + R"(","metadata":{"note":"whsec_)" + whsec_body + R"("}})",
        {{"Request-Id", "req_LogOne"}, {"Idempotent-Replayed", "true"}}));
    // An error whose message echoes the key, as a careless proxy might.
    server.push(ScriptedReply::json(
        401, R"({"error":{"type":"invalid_request_error","code":"api_key_invalid","message":"Invalid API Key provided: )" +
                 api_key + R"("}})",
        {{"Request-Id", "req_LogTwo"}}));
    server.push(ScriptedReply::json(402, R"({"error":{"type":"card_error","code":"card_declined",
        "decline_code":"stolen_card"}})", {{"Request-Id", "req_LogThree"}}));

    boost::asio::io_context io;
    NoSleep sleeper;
    StripeConfig config;
    config.http.base_url = server.url();
    config.api_key = Secret(api_key);
    StripeClientDeps deps;
    deps.sleeper = &sleeper;
    auto client = StripeClient::create(io, config, deps);
    REQUIRE(client.has_value());
    auto& c = **client;
    CHECK(c.request("POST", "/v1/payment_intents", FormParams{{"amount", 100}}, {"acct_1", "idem-log-1"}).has_value());
    auto unauth = c.request("GET", "/v1/payment_intents/pi_1", {}, {"acct_1", ""});
    REQUIRE_FALSE(unauth.has_value());
    CHECK(unauth.error().kind == ErrorKind::Unauthenticated);
    CHECK(unauth.error().describe().find(api_key_body) == std::string::npos);
    CHECK_FALSE(c.request("POST", "/v1/payment_intents", FormParams{{"amount", 100}}, {"acct_1", "idem-log-3"}));
    CHECK_FALSE(c.request("POST", "/v1/refunds", FormParams{{"payment_intent", "pi_1"}}, {"acct_1", ""}));
  }
  log::shutdown();

  std::ifstream in(log_path);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  INFO(text);
  // What must be there.
  CHECK(text.find("\"event\":\"stripe.call\"") != std::string::npos);
  CHECK(text.find("\"request_id\":\"req_LogOne\"") != std::string::npos);
  CHECK(text.find("\"request_id\":\"req_LogTwo\"") != std::string::npos);
  CHECK(text.find("\"idempotency_key\":\"idem-log-1\"") != std::string::npos);
  CHECK(text.find("\"idempotent_replayed\":true") != std::string::npos);
  CHECK(text.find("\"path\":\"/v1/payment_intents\"") != std::string::npos);
  CHECK(text.find("\"status\":401") != std::string::npos);
  CHECK(text.find("\"error_code\":\"card_declined\"") != std::string::npos);
  CHECK(text.find("\"error_type\":\"card_error\"") != std::string::npos);
  CHECK(text.find("\"decline_code\":\"stolen_card\"") != std::string::npos);
  CHECK(text.find("\"duration_ms\":") != std::string::npos);
  CHECK(text.find("\"event\":\"stripe.refused\"") != std::string::npos);
  // What must not.
  CHECK(text.find(api_key_body) == std::string::npos);
  CHECK(text.find(client_secret_body) == std::string::npos);
  CHECK(text.find(whsec_body) == std::string::npos);
  CHECK(text.find("_secret_") == std::string::npos);  // not even masked: bodies are never logged
  CHECK(text.find("Bearer") == std::string::npos);
  CHECK(text.find("sk_test_") == std::string::npos);  // the key is not logged at all, masked or not
}
