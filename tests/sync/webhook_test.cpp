#include "till/sync/webhook.hpp"

#include <catch2/catch.hpp>

using namespace till;
using namespace till::sync;
using namespace std::chrono_literals;

namespace {
const Secret kSecret("whsec_test_5f3a9b0c1d2e3f405162738495a6b7c8");
const std::string kBody = R"({"id":"evt_1","type":"payment_intent.succeeded","account":"acct_1"})";
constexpr std::int64_t kT = 1'790'000'000;
Timestamp at(std::int64_t unix_s) { return from_unix_ms(unix_s * 1000); }
}  // namespace

TEST_CASE("a payload signed with sign_payload verifies") {
  const auto header = sign_payload(kSecret, kT, kBody);
  CHECK(header.rfind("t=1790000000,v1=", 0) == 0);
  CHECK(header.size() == std::string("t=1790000000,v1=").size() + 64);
  CHECK(check_signature(header, kBody, kSecret, at(kT)) == SignatureCheck::Valid);
  CHECK(verify_signature(header, kBody, kSecret, at(kT)).has_value());
}

TEST_CASE("the signature is HMAC-SHA256 of t.body in lower-case hex") {
  // Reference value from an independent implementation:
  //   printf '1.hello' | openssl dgst -sha256 -hmac Jefe
  CHECK(compute_signature(Secret("Jefe"), 1, "hello") ==
        "d061f30f69eb1954bef10b674989829edec4328e86a755bb0b52436f0555a4c2");
  CHECK(sign_payload(Secret("Jefe"), 1, "hello") ==
        "t=1,v1=d061f30f69eb1954bef10b674989829edec4328e86a755bb0b52436f0555a4c2");
}

TEST_CASE("webhook tolerance accepts exactly 300 s old and rejects 301 s") {
  FakeClock clock(at(kT));
  const auto header = sign_payload(kSecret, kT, kBody);
  clock.advance(300s);
  CHECK(check_signature(header, kBody, kSecret, clock.now()) == SignatureCheck::Valid);
  clock.advance(999ms);  // 300.999 s: still 300 whole seconds
  CHECK(check_signature(header, kBody, kSecret, clock.now()) == SignatureCheck::Valid);
  clock.advance(1ms);
  CHECK(check_signature(header, kBody, kSecret, clock.now()) == SignatureCheck::TimestampTooOld);
  auto st = verify_signature(header, kBody, kSecret, clock.now());
  REQUIRE_FALSE(st.has_value());
  CHECK(st.error().kind == ErrorKind::Unauthenticated);
  CHECK(check_signature(header, kBody, kSecret, clock.now(), 3600s) == SignatureCheck::Valid);
}

TEST_CASE("a timestamp slightly in the future is accepted as the SDKs do") {
  const auto header = sign_payload(kSecret, kT + 30, kBody);
  CHECK(check_signature(header, kBody, kSecret, at(kT)) == SignatureCheck::Valid);
}

TEST_CASE("any one of several v1 signatures may match and other schemes are ignored") {
  const auto good = compute_signature(kSecret, kT, kBody);
  const auto other = compute_signature(Secret("whsec_old_secret_000000000000"), kT, kBody);
  const std::string t = "t=" + std::to_string(kT);
  CHECK(check_signature(t + ",v1=" + other + ",v1=" + good, kBody, kSecret, at(kT)) == SignatureCheck::Valid);
  CHECK(check_signature(t + ",v1=" + good + ",v1=" + other, kBody, kSecret, at(kT)) == SignatureCheck::Valid);
  CHECK(check_signature(t + ", v0=" + good + ", v1=" + good, kBody, kSecret, at(kT)) == SignatureCheck::Valid);
  CHECK(check_signature(t + ",v0=" + good, kBody, kSecret, at(kT)) == SignatureCheck::NoV1Signature);
  CHECK(check_signature(t + ",v1=" + other, kBody, kSecret, at(kT)) == SignatureCheck::Mismatch);
  CHECK(check_signature(t + ",v1=zz" + good.substr(2) + ",v1=" + good, kBody, kSecret, at(kT)) ==
        SignatureCheck::Valid);
}

TEST_CASE("malformed signature headers are rejected") {
  const auto good = compute_signature(kSecret, kT, kBody);
  const std::vector<std::pair<std::string, SignatureCheck>> rows = {
      {"", SignatureCheck::MalformedHeader},
      {"   ", SignatureCheck::MalformedHeader},
      {"v1=" + good, SignatureCheck::MalformedHeader},                    // no t
      {"t=abc,v1=" + good, SignatureCheck::MalformedHeader},              // t not a number
      {"t=-5,v1=" + good, SignatureCheck::MalformedHeader},               // negative t
      {"t=,v1=" + good, SignatureCheck::MalformedHeader},                 // empty t
      {"t=1790000000x,v1=" + good, SignatureCheck::MalformedHeader},      // trailing junk
      {"t=1790000000,t=1790000000,v1=" + good, SignatureCheck::MalformedHeader},
      {"t=1790000000,garbage", SignatureCheck::MalformedHeader},           // item without '='
      {"t=1790000000", SignatureCheck::NoV1Signature},
      {"t=1790000000,v1=", SignatureCheck::NoV1Signature},
      {"t=1790000000,v1=abc", SignatureCheck::NoV1Signature},             // odd-length hex
      {"t=1790000000,v1=" + good.substr(0, 62), SignatureCheck::Mismatch},  // truncated
      {"t=1790000001,v1=" + good, SignatureCheck::Mismatch},              // t changed
  };
  for (const auto& [header, expected] : rows) {
    INFO(header);
    CHECK(check_signature(header, kBody, kSecret, at(kT)) == expected);
  }
}

TEST_CASE("a body altered by one byte or a wrong secret fails verification") {
  const auto header = sign_payload(kSecret, kT, kBody);
  for (std::size_t i = 0; i < kBody.size(); ++i) {
    std::string altered = kBody;
    altered[i] = static_cast<char>(altered[i] ^ 0x01);
    INFO(i);
    CHECK(check_signature(header, altered, kSecret, at(kT)) == SignatureCheck::Mismatch);
  }
  CHECK(check_signature(header, kBody + " ", kSecret, at(kT)) == SignatureCheck::Mismatch);
  CHECK(check_signature(header, kBody, Secret("whsec_test_5f3a9b0c1d2e3f405162738495a6b7c9"), at(kT)) ==
        SignatureCheck::Mismatch);
}

TEST_CASE("upper-case hex signatures are accepted") {
  auto sig = compute_signature(kSecret, kT, kBody);
  for (auto& c : sig) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(check_signature("t=" + std::to_string(kT) + ",v1=" + sig, kBody, kSecret, at(kT)) ==
        SignatureCheck::Valid);
}
