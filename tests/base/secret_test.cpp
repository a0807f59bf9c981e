#include "till/base/secret.hpp"

#include <catch2/catch.hpp>
#include <cctype>
#include <cstdint>
#include <sstream>
#include <string>

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

namespace {

// The plain definition redact_secrets() must agree with: try every prefix at every position.
std::string redact_by_definition(std::string_view text) {
  const std::string_view starts[] = {"sk_test_", "sk_live_", "rk_test_", "rk_live_",
                                     "whsec_",   "pst_test_", "pst_live_", "_secret_"};
  const auto token = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    for (auto s : starts) {
      if (text.substr(i, s.size()) != s) continue;
      if (s != "_secret_" && i > 0 && token(text[i - 1])) continue;
      std::size_t end = i + s.size();
      while (end < text.size() && token(text[end])) ++end;
      out += s == "_secret_" ? std::string("_secret_****") : Secret::mask_secret(text.substr(i, end - i));
      i = end;
      matched = true;
      break;
    }
    if (!matched) out.push_back(text[i++]);
  }
  return out;
}

}  // namespace

TEST_CASE("redact_secrets gives the same text as trying every prefix at every position") {
  // Random strings over an alphabet dense in prefix fragments, so matches, near-misses, overlaps
  // and boundaries all occur.
  const std::string_view pieces[] = {"sk_",  "rk_",   "test_", "live_", "whsec_", "pst_", "_secret_", "s", "r",
                                     "w",    "p",     "_",     "k",     "a",      "Z",    "9",        " ", "\"",
                                     "desk", "pi_3x", "=",     "\n",    "é"};
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  const auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const int n = static_cast<int>(next() % 24);
    for (int k = 0; k < n; ++k) text += pieces[next() % std::size(pieces)];
    INFO(text);
    const std::string redacted = redact_by_definition(text);
    REQUIRE(redact_secrets(text) == redacted);
    REQUIRE(has_secret(text) == (redacted != text));
  }
}
