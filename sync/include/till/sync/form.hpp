#pragma once
// application/x-www-form-urlencoded bodies the way Stripe's API and official SDKs spell them
// (shared/design/stripe.md section 1): nested objects as bracketed keys
// (`metadata[sale_id]=s1`, `payment_method_options[card_present][capture_method]=manual`),
// arrays with explicit indices (`expand[0]=latest_charge`), booleans `true`/`false`, and an
// empty value to unset a field.
//
// The encoder is used by the client; the decoder by the Stripe simulator on the server side, so
// it is strict: anything malformed is an InvalidArgument error, never a guess.
//
// Every function here is pure and may be called from any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "till/base/result.hpp"

namespace till::sync {

struct FormField;

// One value in a parameter tree: a scalar string, an object (ordered fields) or an array.
class FormValue {
 public:
  enum class Type { Scalar, Object, Array };

  // Constructors are defined below FormField: a vector of an incomplete type may be declared
  // here but not destroyed, which an inline constructor would need (clang checks this).
  FormValue();  // the empty scalar, which unsets a field
  FormValue(std::string s);
  FormValue(std::string_view s);
  FormValue(const char* s);
  FormValue(std::int64_t n);
  FormValue(int n);
  FormValue(bool b);

  static FormValue object(std::vector<FormField> fields);
  static FormValue array(std::vector<FormValue> items);

  Type type() const noexcept { return type_; }
  const std::string& scalar() const noexcept { return scalar_; }
  const std::vector<FormField>& fields() const noexcept { return fields_; }
  const std::vector<FormValue>& items() const noexcept { return items_; }
  std::vector<FormField>& fields() noexcept { return fields_; }
  std::vector<FormValue>& items() noexcept { return items_; }

  bool operator==(const FormValue& other) const;

 private:
  Type type_ = Type::Scalar;
  std::string scalar_;
  std::vector<FormField> fields_;
  std::vector<FormValue> items_;
};

struct FormField {
  std::string key;
  FormValue value;
  bool operator==(const FormField& other) const { return key == other.key && value == other.value; }
};

inline FormValue::FormValue() = default;
inline FormValue::FormValue(std::string s) : scalar_(std::move(s)) {}
inline FormValue::FormValue(std::string_view s) : scalar_(s) {}
inline FormValue::FormValue(const char* s) : scalar_(s) {}
inline FormValue::FormValue(std::int64_t n) : scalar_(std::to_string(n)) {}
inline FormValue::FormValue(int n) : scalar_(std::to_string(n)) {}
inline FormValue::FormValue(bool b) : scalar_(b ? "true" : "false") {}

// An ordered parameter list: fields are encoded in the order they were added.
//
//   FormParams p;
//   p.add("amount", 1299).add("currency", "usd")
//    .add("allowed_payment_method_types", FormValue::array({"card_present"}))
//    .add("metadata", FormValue::object({{"sale_id", "s-1"}}));
class FormParams {
 public:
  FormParams() = default;
  FormParams(std::initializer_list<FormField> fields) : fields_(fields) {}

  FormParams& add(std::string key, FormValue value) {
    fields_.push_back(FormField{std::move(key), std::move(value)});
    return *this;
  }
  // The first top-level field with this key, or nullptr.
  const FormValue* find(std::string_view key) const;
  bool empty() const noexcept { return fields_.empty(); }
  const std::vector<FormField>& fields() const noexcept { return fields_; }
  bool operator==(const FormParams&) const = default;

 private:
  std::vector<FormField> fields_;
};

// A flat (key, value) pair as it travels on the wire, key with brackets, both decoded.
using FlatParam = std::pair<std::string, std::string>;
using FlatParams = std::vector<FlatParam>;

// The params as flat bracketed pairs, in order: objects recurse as `key[child]`, arrays as
// `key[i]`. An empty object or array contributes nothing (there is no way to spell it).
FlatParams flatten(const FormParams& params);

// The request body / query string (without '?'): flatten(), then every byte outside
// ALPHA / DIGIT / "-._~" percent-encoded (upper-case hex), except '[' and ']' in keys, which are
// left literal as Stripe's documentation and SDKs write them. Pairs joined with '&'.
std::string encode(const FormParams& params);
std::string encode(const FlatParams& params);

// Percent-encoding of one component, as encode() does it for values.
std::string percent_encode(std::string_view text);

// Writes, field by field, the body encode() gives for a FormParams holding the same fields in
// the same order (keys with their brackets spelled out: "metadata[sale_id]", "expand[0]"),
// without building the FormParams first: the Stripe client's path for its typed requests.
class FormWriter {
 public:
  FormWriter& add(std::string_view key, std::string_view scalar);
  FormWriter& add(std::string_view key, std::int64_t n);
  FormWriter& add_value(std::string_view key, const FormValue& value);  // nested, as encode() spells it
  std::string take() noexcept { return std::move(out_); }

 private:
  std::string out_;
  std::string key_;
};

// Decodes a body or query string into flat pairs, in order, keys still bracketed.
// '+' means a space; %XX is a byte (either hex case). Strict: fails with InvalidArgument on an
// empty pair ("a=1&&b=2", a trailing '&'), a pair without '=', an empty key, a bad or truncated
// escape, decoded bytes that are not valid UTF-8, or a key whose brackets do not parse (see
// parse_key). An empty body is an empty list.
Result<FlatParams> decode(std::string_view body);

// Splits a bracketed key into its path: "a[b][0]" -> {"a", "b", "0"}; "expand[]" -> {"expand", ""}
// (an empty segment means "append"). Fails with InvalidArgument on an empty base name, an
// unclosed or stray bracket, text after a closing bracket that does not open another one, or
// a bracket inside a segment.
Result<std::vector<std::string>> parse_key(std::string_view key);

// Rebuilds the tree from decoded pairs (server side). An object whose keys are exactly the
// decimal indices 0..n-1 (any order, no leading zeros) becomes an array; an empty last segment
// ("expand[]") appends to an array. Fails with InvalidArgument when a key is used both as a
// scalar and as a container, when a scalar is given twice, or when "[]" is not the last segment.
Result<FormParams> nest(const FlatParams& flat);

}  // namespace till::sync
