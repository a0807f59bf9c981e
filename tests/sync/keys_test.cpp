#include "till/sync/keys.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <map>

using namespace till;
using namespace till::sync;

namespace {

constexpr const char* kKey = "rk_test_" "51RestrictedKeyAbcdefghijklmnop9876";

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string key_file(const std::string& name, const std::string& content, mode_t mode) {
  const std::string path = std::string(TILL_BINARY_DIR) + "/tests/sync/" + name;
  std::remove(path.c_str());
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fputs(content.c_str(), f);
  std::fclose(f);
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  return path;
}

}  // namespace

TEST_CASE("the key comes from STRIPE_API_KEY first") {
  auto key = load_api_key(env_of({{"STRIPE_API_KEY", kKey}}), "/nonexistent");
  REQUIRE(key.has_value());
  CHECK(key->reveal() == kKey);
  CHECK(key->masked() == "rk_test_...9876");
}

TEST_CASE("a key file with mode 0600 is read and trimmed") {
  const auto path = key_file("key_0600", std::string("  ") + kKey + "\n", 0600);
  auto key = load_api_key(env_of({}), path);
  REQUIRE(key.has_value());
  CHECK(key->reveal() == kKey);
  CHECK(load_api_key(env_of({{"STRIPE_API_KEY", ""}}), path).has_value());  // empty variable: use the file
  CHECK(load_api_key_file(key_file("key_0400", kKey, 0400)).has_value());
}

TEST_CASE("key files readable by group or others are refused with a clear error") {
  for (mode_t mode : {0644, 0640, 0604, 0660, 0666}) {
    INFO(mode);
    const auto path = key_file("key_loose", kKey, mode);
    auto key = load_api_key(env_of({}), path);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().kind == ErrorKind::PermissionDenied);
    CHECK(key.error().message.find("chmod 600") != std::string::npos);
    CHECK(key.error().message.find(kKey) == std::string::npos);
  }
}

TEST_CASE("without a variable or a file there is no key, and the message says how to configure one") {
  auto key = load_api_key(env_of({}));
  REQUIRE_FALSE(key.has_value());
  CHECK(key.error().kind == ErrorKind::NotFound);
  CHECK(key.error().message.find("STRIPE_API_KEY") != std::string::npos);
  auto missing = load_api_key(env_of({}), "/nonexistent/key");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().kind == ErrorKind::NotFound);
}

TEST_CASE("secret and restricted keys are accepted and anything else is refused without echoing it") {
  CHECK(validate_api_key("sk_test_51abcdefghijklmnop").has_value());
  CHECK(validate_api_key("sk_live_51abcdefghijklmnop").has_value());
  CHECK(validate_api_key("rk_live_51abcdefghijklmnop").has_value());
  for (const char* bad : {"pk_test_51abcdefghijklmnop", "whsec_" "abcdefghijklmnopqrst", "sk_test_short",
                          "sk_test_51abc defghijklmnop", "sk_test_51abcdefghijklmnop\n", ""}) {
    INFO(bad);
    auto st = validate_api_key(bad);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().kind == ErrorKind::InvalidArgument);
    if (std::string(bad).size() > 8) CHECK(st.error().message.find(bad) == std::string::npos);
  }
  auto env_bad = load_api_key(env_of({{"STRIPE_API_KEY", "pk_live_51abcdefghijklmnop"}}));
  REQUIRE_FALSE(env_bad.has_value());
  CHECK(env_bad.error().message.find("publishable") != std::string::npos);
}

TEST_CASE("a key file that is not a key is refused") {
  auto key = load_api_key_file(key_file("key_junk", "hello world\n", 0600));
  REQUIRE_FALSE(key.has_value());
  CHECK(key.error().kind == ErrorKind::InvalidArgument);
}
