#pragma once
// The simulator's own reader of application/x-www-form-urlencoded request bodies and query
// strings, the way Stripe's API takes them (shared/design/stripe.md section 1): nested objects as
// bracketed keys (`metadata[sale_id]=s1`), arrays with indices (`expand[0]=latest_charge`) or
// appended (`expand[]=latest_charge`), '+' for a space, %XX for any byte.
//
// Deliberately written apart from the client's encoder (sync/form.hpp): the simulator checks
// the client, so the two must not share a bug. It is strict: what it cannot read without
// guessing is an InvalidArgument error, never a best effort.
//
// Pure functions; any thread.

#include <string>
#include <string_view>
#include <vector>

#include "till/base/result.hpp"

namespace till::stripesim::form {

// One decoded pair. `key` is the decoded key as sent ("metadata[sale_id]"); `path` its segments
// ({"metadata", "sale_id"}; "expand[]" gives {"expand", ""}, the empty segment meaning append).
struct Pair {
  std::string key;
  std::vector<std::string> path;
  std::string value;
  bool operator==(const Pair&) const = default;
};
using Pairs = std::vector<Pair>;

// Splits a decoded key into its path. The key is a name followed by zero or more bracketed
// segments: `name([segment])*`. Fails on an empty name, a bracket in the name other than the
// first '[', an unclosed '[', text between ']' and the next '[', or a bracket inside a segment.
Result<std::vector<std::string>> split_key(std::string_view key);

// Lexical decoding: pairs separated by '&', each `key=value`, both percent-decoded ('+' is a
// space, %XX one byte, hex in either case). Fails on an empty pair (a doubled or trailing '&'),
// a pair without '=', an empty key, a truncated or non-hex escape, bytes that are not valid
// UTF-8 after decoding, or a key split_key() refuses. An empty input is no pairs.
Result<Pairs> decode(std::string_view text);

// Structural checks a whole request must pass (the shape Stripe can turn into one parameter
// tree): no name given twice as a scalar, no name used both as a scalar and as an object or
// array, and '[]' only as the last segment and never mixed with named or indexed children of
// the same parent. Fails with InvalidArgument naming the offending key.
Status check_tree(const Pairs& pairs);

// decode() then check_tree().
Result<Pairs> decode_strict(std::string_view text);

// True for a canonical array index: decimal digits, no sign, no leading zero (except "0"), at
// most 9 digits.
bool is_index(std::string_view segment) noexcept;

}  // namespace till::stripesim::form
