#include "till/base/secret.hpp"

#include <catch2/catch.hpp>
#include <sstream>

using namespace till;

TEST_CASE("a secret prints as a mask that keeps the scheme and last four characters") {
  Secret s("sk_test_" "51AbCdEfGhIjKlMnOpQrStUvWx1234");
  std::ostringstream os;
  os << s;
  CHECK(os.str() == "sk_test_...1234");
  CHECK(s.masked() == "sk_test_...1234");
  CHECK(Secret::mask_secret("whsec_" "abcdefghijklmnop9876") == "whsec_...9876");
  CHECK(Secret::mask_secret("short") == "****");
  CHECK(Secret::mask_secret("unknownprefix_abcdef") == "...cdef");
}

TEST_CASE("redact_secrets masks keys, webhook secrets and client secrets inside text") {
  const std::string text =
      "key=sk_live_" "abcdefghijklmnopqrstuvwx9999 rk=rk_test_" "zzzzzzzzzzzzzzzz0001 "
      "wh=whsec_" "qqqqqqqqqqqqqqqqqqqq4444 cs=pi_3Abc_secret_VerySecretValue desk_test_x";
  const std::string out = redact_secrets(text);
  CHECK(out.find("abcdefghijklmnop") == std::string::npos);
  CHECK(out.find("zzzzzzzz") == std::string::npos);
  CHECK(out.find("qqqqqqqq") == std::string::npos);
  CHECK(out.find("VerySecretValue") == std::string::npos);
  CHECK(out.find("sk_live_...9999") != std::string::npos);
  CHECK(out.find("pi_3Abc_secret_****") != std::string::npos);
  CHECK(out.find("desk_test_x") != std::string::npos);  // not at a token boundary
}
