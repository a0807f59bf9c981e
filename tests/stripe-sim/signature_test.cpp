// The simulator's own webhook signer (stripe-sim/signature.hpp): a known HMAC-SHA256 answer, the
// header's shape, and a cross-check with the client's verifier (sync/webhook.hpp), which was
// written apart from it.

#include <catch2/catch.hpp>

#include "till/base/secret.hpp"
#include "till/stripesim/signature.hpp"
#include "till/sync/webhook.hpp"

using namespace till;
using namespace till::stripesim;

TEST_CASE("the signer's HMAC-SHA256 gives the published test vectors") {
  // RFC 4231, test case 2.
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // The empty key and message.
  CHECK(hmac_sha256_hex("", "") == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("the Stripe-Signature header signs '<t>.<body>' with the whole whsec_ secret") {
  const std::string body = R"({"id":"evt_1","object":"event"})";
  const std::string header = stripe_signature("whsec_test_secret", 1790000000, body);
  CHECK(header == "t=1790000000,v1=" + hmac_sha256_hex("whsec_test_secret", "1790000000." + body));
  CHECK(header.size() == std::string("t=1790000000,v1=").size() + 64);
}

TEST_CASE("the client's verifier accepts what the simulator signs and nothing else") {
  const std::string body = R"({"id":"evt_2","type":"payment_intent.succeeded"})";
  const Timestamp now = from_unix_ms(1'790'000'100'000);
  const std::string header = stripe_signature("whsec_cross", 1'790'000'000, body);
  CHECK(sync::check_signature(header, body, Secret("whsec_cross"), now) == sync::SignatureCheck::Valid);
  CHECK(sync::check_signature(header, body + " ", Secret("whsec_cross"), now) == sync::SignatureCheck::Mismatch);
  CHECK(sync::check_signature(header, body, Secret("whsec_other"), now) == sync::SignatureCheck::Mismatch);
  CHECK(sync::check_signature(header, body, Secret("whsec_cross"), now + std::chrono::seconds(400)) ==
        sync::SignatureCheck::TimestampTooOld);
  // And the other way round: what the client would sign, the simulator signs the same.
  CHECK(sync::compute_signature(Secret("whsec_cross"), 1'790'000'000, body) ==
        hmac_sha256_hex("whsec_cross", "1790000000." + body));
}
