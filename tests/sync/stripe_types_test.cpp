#include "till/sync/stripe_types.hpp"

#include <catch2/catch.hpp>

#include "till/sync/stripe_client.hpp"

using namespace till;
using namespace till::sync;

TEST_CASE("a PaymentIntent parses with card-present receipt fields and ignores unknown fields") {
  const std::string json = R"({
    "id": "pi_3Abc", "object": "payment_intent", "status": "requires_capture",
    "amount": 2500, "amount_capturable": 2500, "amount_received": 0, "currency": "eur",
    "capture_method": "manual", "application_fee_amount": 75, "client_secret": "pi_3Abc_secret_xyz",
    "created": 1790000000, "livemode": false, "some_future_field": {"nested": [1, 2, 3]},
    "metadata": {"sale_id": "s-42", "register_id": "r-1", "attempt": "2"},
    "payment_method": {"id": "pm_1", "object": "payment_method",
      "card_present": {"brand": "visa", "last4": "4242", "read_method": "contactless_emv",
                       "exp_month": 12, "exp_year": 2030}},
    "latest_charge": {"id": "ch_1", "object": "charge", "payment_method_details": {"type": "card_present",
      "card_present": {"brand": "visa", "last4": "4242", "receipt": {
        "application_preferred_name": "VISA CREDIT", "dedicated_file_name": "A0000000031010",
        "authorization_code": "123456", "authorization_response_code": "3030",
        "application_cryptogram": "ABCDEF", "cardholder_verification_method": "none",
        "terminal_verification_results": "0000000000", "transaction_status_information": "0000",
        "account_type": "credit"}}}},
    "last_payment_error": null
  })";
  auto pi = parse_payment_intent(json);
  REQUIRE(pi.has_value());
  CHECK(pi->id == "pi_3Abc");
  CHECK(pi->status == PaymentIntentStatus::RequiresCapture);
  CHECK(pi->amount == 2500);
  CHECK(pi->amount_capturable == 2500);
  CHECK(pi->currency == "eur");
  CHECK(pi->capture_method == "manual");
  CHECK(pi->application_fee_amount == 75);
  CHECK(pi->latest_charge == "ch_1");
  CHECK(pi->payment_method == "pm_1");
  CHECK(*pi->metadata_value("sale_id") == "s-42");
  CHECK(pi->metadata_value("missing") == nullptr);
  CHECK_FALSE(pi->last_payment_error.has_value());
  REQUIRE(pi->card_present.has_value());
  CHECK(pi->card_present->brand == "visa");
  CHECK(pi->card_present->last4 == "4242");
  CHECK(pi->card_present->read_method == "contactless_emv");
  CHECK(pi->card_present->exp_year == 2030);
  CHECK(pi->card_present->dedicated_file_name == "A0000000031010");
  CHECK(pi->card_present->authorization_code == "123456");
  CHECK(pi->card_present->application_preferred_name == "VISA CREDIT");
}

TEST_CASE("a declined PaymentIntent carries last_payment_error and unexpanded ids") {
  auto pi = parse_payment_intent(R"({"id":"pi_1","object":"payment_intent","status":"requires_payment_method",
    "amount":100,"currency":"usd","latest_charge":"ch_9","payment_method":null,"application_fee_amount":null,
    "last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds",
    "message":"Your card has insufficient funds."}})");
  REQUIRE(pi.has_value());
  CHECK(pi->status == PaymentIntentStatus::RequiresPaymentMethod);
  CHECK(pi->latest_charge == "ch_9");
  CHECK(pi->payment_method.empty());
  CHECK_FALSE(pi->application_fee_amount.has_value());
  REQUIRE(pi->last_payment_error.has_value());
  CHECK(pi->last_payment_error->decline_code == "insufficient_funds");
  CHECK_FALSE(pi->card_present.has_value());
}

TEST_CASE("an unknown PaymentIntent status is Unknown, not a failure") {
  auto pi = parse_payment_intent(R"({"id":"pi_1","object":"payment_intent","status":"requires_reauthorization"})");
  REQUIRE(pi.has_value());
  CHECK(pi->status == PaymentIntentStatus::Unknown);
  CHECK(pi->status_text == "requires_reauthorization");
}

TEST_CASE("parsing rejects non-JSON, the wrong object and a missing id") {
  CHECK(parse_payment_intent("not json").error().kind == ErrorKind::Internal);
  CHECK_FALSE(parse_payment_intent("[]").has_value());
  CHECK_FALSE(parse_payment_intent(R"({"id":"re_1","object":"refund"})").has_value());
  CHECK_FALSE(parse_payment_intent(R"({"object":"payment_intent"})").has_value());
  CHECK(parse_payment_intent(R"({"id":"pi_1"})").has_value());  // a missing `object` is tolerated
}

TEST_CASE("refunds, readers with actions, locations, accounts and events parse") {
  auto refund = parse_refund(R"({"id":"re_1","object":"refund","status":"succeeded","amount":500,
    "currency":"usd","payment_intent":"pi_1","charge":"ch_1","reason":"requested_by_customer"})");
  REQUIRE(refund.has_value());
  CHECK(refund->payment_intent == "pi_1");
  CHECK(refund->amount == 500);

  auto reader = parse_reader(R"({"id":"tmr_1","object":"terminal.reader","label":"Front","device_type":
    "simulated_wisepos_e","status":"online","location":"tml_1","action":{"type":"process_payment_intent",
    "status":"failed","failure_code":"card_declined","failure_message":"declined",
    "process_payment_intent":{"payment_intent":"pi_7"}}})");
  REQUIRE(reader.has_value());
  CHECK(reader->location == "tml_1");
  REQUIRE(reader->action.has_value());
  CHECK(reader->action->status == "failed");
  CHECK(reader->action->failure_code == "card_declined");
  CHECK(reader->action->payment_intent == "pi_7");
  auto idle = parse_reader(R"({"id":"tmr_2","object":"terminal.reader","action":null})");
  REQUIRE(idle.has_value());
  CHECK_FALSE(idle->action.has_value());

  auto loc = parse_location(R"({"id":"tml_1","object":"terminal.location","display_name":"Shop",
    "address":{"line1":"1 Main St","city":"Berlin","country":"DE","postal_code":"10115"}})");
  REQUIRE(loc.has_value());
  CHECK(loc->city == "Berlin");

  auto acct = parse_account(R"({"id":"acct_1","object":"account","charges_enabled":true,"country":"DE",
    "business_profile":{"name":"Corner Shop"}})");
  REQUIRE(acct.has_value());
  CHECK(acct->charges_enabled);
  CHECK(acct->business_name == "Corner Shop");

  auto ev = parse_event(R"({"id":"evt_1","object":"event","type":"payment_intent.succeeded","account":"acct_1",
    "api_version":"2026-10-28.endive","created":1790000000,
    "data":{"object":{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":100}}})");
  REQUIRE(ev.has_value());
  CHECK(ev->account == "acct_1");
  CHECK(ev->object_type == "payment_intent");
  CHECK(ev->object_id == "pi_1");
  auto inner = parse_payment_intent(ev->object_json);
  REQUIRE(inner.has_value());
  CHECK(inner->status == PaymentIntentStatus::Succeeded);
}

TEST_CASE("list and search pages parse with their cursors") {
  auto page = parse_page<PaymentIntent>(R"({"object":"search_result","has_more":true,"next_page":"cur_2",
    "data":[{"id":"pi_1","object":"payment_intent"},{"id":"pi_2","object":"payment_intent"}]})");
  REQUIRE(page.has_value());
  CHECK(page->data.size() == 2);
  CHECK(page->has_more);
  CHECK(page->next_page == "cur_2");
  CHECK(page->last_id() == "pi_2");
  auto events = parse_page<Event>(R"({"object":"list","has_more":false,"data":[]})");
  REQUIRE(events.has_value());
  CHECK(events->data.empty());
  CHECK_FALSE(parse_page<Refund>(R"({"object":"refund","id":"re_1"})").has_value());
}

TEST_CASE("error bodies parse and non-errors do not") {
  auto e = parse_error_body(R"({"error":{"type":"card_error","code":"card_declined","decline_code":"lost_card",
    "message":"m","param":"p","request_log_url":"https://dashboard.stripe.com/logs/req_1",
    "payment_intent":{"id":"pi_5","object":"payment_intent"}}})");
  REQUIRE(e.has_value());
  CHECK(e->decline_code == "lost_card");
  CHECK(e->payment_intent_id == "pi_5");
  CHECK(e->request_log_url == "https://dashboard.stripe.com/logs/req_1");
  CHECK_FALSE(parse_error_body("{}").has_value());
  CHECK_FALSE(parse_error_body("<html>").has_value());
}

TEST_CASE("responses are classified by what the caller should do next") {
  auto resp = [](int status, std::string body, std::optional<bool> should_retry = std::nullopt) {
    StripeResponse r;
    r.status = status;
    r.body = std::move(body);
    r.request_id = "req_1";
    r.should_retry = should_retry;
    return r;
  };
  const std::string api_error = R"({"error":{"type":"api_error"}})";
  struct Row {
    const char* name;
    bool post;
    StripeResponse response;
    ErrorKind kind;
  };
  const std::vector<Row> rows = {
      {"card error", true, resp(402, R"({"error":{"type":"card_error","code":"card_declined"}})"),
       ErrorKind::Declined},
      {"401", true, resp(401, R"({"error":{"type":"invalid_request_error"}})"), ErrorKind::Unauthenticated},
      {"403", true, resp(403, "{}"), ErrorKind::PermissionDenied},
      {"idempotency error", true, resp(400, R"({"error":{"type":"idempotency_error"}})"),
       ErrorKind::InvalidArgument},
      {"409 key in use, POST", true,
       resp(409, R"({"error":{"type":"invalid_request_error","code":"idempotency_key_in_use"}})"),
       ErrorKind::OutcomeUnknown},
      {"409 key in use typed idempotency_error, POST", true,
       resp(409, R"({"error":{"type":"idempotency_error","code":"idempotency_key_in_use"}})"),
       ErrorKind::OutcomeUnknown},
      {"409 on GET", false, resp(409, "{}"), ErrorKind::Unavailable},
      {"429 rate_limit", true, resp(429, R"({"error":{"code":"rate_limit"}})"), ErrorKind::ResourceExhausted},
      {"429 lock_timeout", true, resp(429, R"({"error":{"code":"lock_timeout"}})"), ErrorKind::Unavailable},
      {"404", false, resp(404, "{}"), ErrorKind::NotFound},
      {"500 POST", true, resp(500, api_error), ErrorKind::OutcomeUnknown},
      {"500 POST should-retry false", true, resp(500, api_error, false), ErrorKind::OutcomeUnknown},
      {"503 GET", false, resp(503, "<html>"), ErrorKind::Unavailable},
      {"400 validation", true, resp(400, R"({"error":{"type":"invalid_request_error","code":"parameter_missing"}})"),
       ErrorKind::InvalidArgument},
      {"reader busy", true, resp(400, R"({"error":{"code":"terminal_reader_busy"}})"),
       ErrorKind::FailedPrecondition},
      {"302", false, resp(302, ""), ErrorKind::Internal},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    const auto e = classify_response(row.post, row.response);
    CHECK(e.kind == row.kind);
    REQUIRE(e.stripe.has_value());
    CHECK(e.stripe->http_status == row.response.status);
    CHECK(e.stripe->request_id == "req_1");
  }
}

TEST_CASE("transport failures are unknown only for writes that may have been delivered") {
  using S = TransportError::Stage;
  struct Row {
    S stage;
    bool post;
    bool tls;
    ErrorKind kind;
  };
  const std::vector<Row> rows = {
      {S::Config, true, false, ErrorKind::FailedPrecondition}, {S::Resolve, true, false, ErrorKind::Unavailable},
      {S::Connect, true, false, ErrorKind::Unavailable},       {S::Handshake, true, true, ErrorKind::Unavailable},
      {S::Write, true, false, ErrorKind::OutcomeUnknown},      {S::Read, true, false, ErrorKind::OutcomeUnknown},
      {S::Read, false, false, ErrorKind::Unavailable},
  };
  for (const auto& row : rows) {
    INFO(to_string(row.stage) << " post=" << row.post);
    TransportError e{row.stage, false, row.tls, "x"};
    CHECK(classify_transport(row.post, e).kind == row.kind);
  }
}

TEST_CASE("the Stripe version is pinned to the newest published version") {
  CHECK(kStripeVersion == "2026-10-28.endive");
  CHECK(user_agent(AppInfo{"Till", "1.2.3", "https://till.example", "pp_1"}) ==
        "Stripe/v1 Till/1.2.3 (https://till.example)");
  CHECK(search_query_metadata("sale_id", "it's") == R"(metadata['sale_id']:'it\'s')");
}
