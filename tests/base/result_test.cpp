#include "till/base/result.hpp"

#include <catch2/catch.hpp>

using namespace till;

TEST_CASE("an error describes its kind, message and Stripe detail") {
  Error e{ErrorKind::Declined, "card declined", StripeErrorDetail{}};
  e.stripe->code = "card_declined";
  e.stripe->decline_code = "insufficient_funds";
  e.stripe->request_id = "req_123";
  CHECK(e.describe() == "declined: card declined [code=card_declined] [decline_code=insufficient_funds] [request_id=req_123]");
  CHECK(Error{ErrorKind::OutcomeUnknown, "timeout", std::nullopt}.describe() == "outcome_unknown: timeout");
}

TEST_CASE("fail() builds an unexpected Result with the given kind") {
  Result<int> r = fail(ErrorKind::NotFound, "nope");
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::NotFound);
  CHECK(to_string(ErrorKind::ResourceExhausted) == "resource_exhausted");
}
