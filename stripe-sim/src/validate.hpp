#pragma once
// Internal: parameter checks shared by the endpoints (params.cpp). Each answers the way Stripe
// refuses a bad parameter: a 400 invalid_request_error with `param` and, where Stripe has one,
// a `code`; none of these errors is stored under an idempotency key.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <vector>
#include <string>
#include <string_view>

#include "state.hpp"

namespace till::stripesim {

// A required integer: parameter_missing when absent, parameter_invalid_empty when empty,
// parameter_invalid_integer when it is not a plain decimal integer.
Out<std::int64_t> parse_int(const Params& p, std::string_view key);
// A required string: parameter_missing when absent, parameter_invalid_empty when empty.
Out<std::string> required(const Params& p, std::string_view key);
// An optional enum: nullopt when absent; anything but one of `allowed` is refused the way
// Stripe words it ("Invalid capture_method: must be one of automatic, automatic_async, or
// manual", param set, no code).
Out<std::optional<std::string>> parse_enum(const Params& p, std::string_view key,
                                           std::initializer_list<std::string_view> allowed);
// The keys under the object param `name` must each be one of `suffixes` ("[card_present][capture_method]";
// "#" stands for an array index: "[line_items][#][amount]"). Anything else is parameter_unknown
// with the full key as param, as Stripe reports an unknown nested parameter.
Out<void> allow_nested(const Params& p, std::string_view name, std::initializer_list<std::string_view> suffixes);
// At most one of `names` may be given: parameters_exclusive otherwise.
Out<void> exclusive(const Params& p, std::initializer_list<std::string_view> names);
// Each expand[] entry names a field Stripe can expand on this object (the first dotted segment;
// "data." first on lists): otherwise 400 "This property cannot be expanded", param expand.
Out<void> allow_expand(const std::vector<std::string>& expand, bool list,
                       std::span<const std::string_view> expandable);
// An optional boolean: absent or empty is false; anything but true/false is refused.
Out<bool> parse_bool(const Params& p, std::string_view key);
// Refuses a top-level param not in `allowed` with parameter_unknown (expand is always allowed).
Out<void> allow_only(const Params& p, std::initializer_list<std::string_view> allowed);
// Metadata update semantics: keys merge, an empty value deletes a key, `metadata=` clears all;
// at most 50 keys, key <= 40 chars, value <= 500 chars.
Out<void> apply_metadata(const Params& p, std::map<std::string, std::string>& metadata);

}  // namespace till::stripesim
