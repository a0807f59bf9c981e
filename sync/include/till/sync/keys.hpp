#pragma once
// Where Till's Stripe API key comes from: the STRIPE_API_KEY environment variable or a key file
// readable only by its owner (mode 0600 or stricter). Never the repository, the database or a
// command line. Secret keys (sk_) and restricted keys (rk_, preferred) are accepted; publishable
// keys are refused. Any thread.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "till/base/result.hpp"
#include "till/base/secret.hpp"

namespace till::sync {

inline constexpr std::string_view kApiKeyEnv = "STRIPE_API_KEY";

// Checks the shape of a key: sk_test_/sk_live_/rk_test_/rk_live_ followed by [A-Za-z0-9_],
// no whitespace. Fails with InvalidArgument (the message never includes the key).
Status validate_api_key(std::string_view key);

// Reads a key file: must be a regular file owned by this user with no group/other permission
// bits (PermissionDenied otherwise, naming the mode and the fix); one key, surrounding
// whitespace ignored. NotFound when the file does not exist.
Result<Secret> load_api_key_file(const std::string& path);

// Looks up a variable; tests inject one, production uses std::getenv.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup process_env();

// The environment variable if set and non-empty, else the key file if a path is given, else
// NotFound with a message saying how to configure a key. A set but malformed variable is an
// error, not a fall-through to the file.
Result<Secret> load_api_key(const EnvLookup& env, const std::string& key_file = {});

}  // namespace till::sync
