#pragma once
// Internal: parameter checks shared by the endpoints (params.cpp). Each answers the way Stripe
// refuses a bad parameter: a 400 invalid_request_error with `param` and, where Stripe has one,
// a `code`; none of these errors is stored under an idempotency key.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "state.hpp"

namespace till::stripesim {

// A required integer: parameter_missing when absent or empty, parameter_invalid_integer when
// it is not a plain decimal integer.
Out<std::int64_t> parse_int(const Params& p, std::string_view key);
// An optional boolean: absent or empty is false; anything but true/false is refused.
Out<bool> parse_bool(const Params& p, std::string_view key);
// Refuses a top-level param not in `allowed` with parameter_unknown (expand is always allowed).
Out<void> allow_only(const Params& p, std::initializer_list<std::string_view> allowed);
// Metadata update semantics: keys merge, an empty value deletes a key, `metadata=` clears all;
// at most 50 keys, key <= 40 chars, value <= 500 chars.
Out<void> apply_metadata(const Params& p, std::map<std::string, std::string>& metadata);

}  // namespace till::stripesim
