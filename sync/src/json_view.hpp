#pragma once
// A read-only view of a JSON document for reading Stripe's answers without building a tree.
//
// parse() checks the whole text once, exactly as strictly as nlohmann::json::parse (which it
// replaces on the client's path, where it cost more than the rest of a call together): RFC 8259
// with an optional leading UTF-8 byte-order mark, strings of valid UTF-8 with valid escapes and
// paired surrogates, no trailing text, and numbers that overflow a double refused. After that,
// values are read lazily from the text: only the members a caller looks at are decoded.
//
// Reading follows nlohmann::json's model too, so results do not change: a key given twice keeps
// its last value; members() lists an object in key order (bytewise), duplicates dropped; an
// integer is a number without fraction or exponent that fits int64 (negative) or uint64 (read
// as int64 like nlohmann's get<std::int64_t>()); anything else numeric is a Float.
//
// Views point into the parsed text, which must outlive them. Internal to till_sync.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace till::sync::json_view {

enum class Kind { Null, Bool, Integer, Float, String, Array, Object };

class Value {
 public:
  Value() = default;
  Kind kind() const noexcept { return kind_; }
  bool is_string() const noexcept { return kind_ == Kind::String; }
  bool is_object() const noexcept { return kind_ == Kind::Object; }
  bool is_array() const noexcept { return kind_ == Kind::Array; }
  bool is_integer() const noexcept { return kind_ == Kind::Integer; }
  bool is_bool() const noexcept { return kind_ == Kind::Bool; }
  // The value's exact bytes in the document (a string with its quotes).
  std::string_view raw() const noexcept { return raw_; }

  // The decoded text of a String (escapes resolved); empty for any other kind.
  std::string string() const;
  // A String's text when it has no escapes, else nullopt (use string()).
  std::optional<std::string_view> plain_string() const noexcept;
  // An Integer's value; 0 for any other kind.
  std::int64_t integer() const noexcept;
  // A Bool's value; false for any other kind.
  bool boolean() const noexcept { return kind_ == Kind::Bool && raw_.front() == 't'; }
  // The items of an Array, in order; empty for any other kind.
  std::vector<Value> items() const;

 private:
  friend class Object;
  friend std::optional<Value> parse(std::string_view text);
  Value(Kind kind, std::string_view raw) : kind_(kind), raw_(raw) {}
  static Value at(const char*& p, const char* end);  // reads one checked value, advances past it
  static Value of_raw(std::string_view raw);          // one checked value, exactly these bytes

  Kind kind_ = Kind::Null;
  std::string_view raw_ = "null";
  std::int64_t integer_ = 0;
};

// The members of one object, indexed in one pass over its text.
class Object {
 public:
  Object() = default;
  explicit Object(const Value& object);  // empty unless `object` is an Object
  // parse() for a text that must be an object, indexed while it is checked (one pass); nullopt
  // when the text is refused or is not an object.
  static std::optional<Object> parse(std::string_view text);

  // The value of `key` (its last occurrence), if present.
  std::optional<Value> find(std::string_view key) const;
  // (key, value) in key order, each key once with its last value (nlohmann::json's order).
  std::vector<std::pair<std::string, Value>> members() const;
  bool empty() const noexcept { return members_.empty(); }

 private:
  struct Member {
    std::string_view key;  // raw text between the quotes when it has no escapes
    std::string decoded;   // the key when it has escapes
    bool escaped = false;
    Value value;
    std::string_view name() const noexcept { return escaped ? std::string_view(decoded) : key; }
  };
  std::vector<Member> members_;  // in document order
};

// Checks `text` as one JSON value; nullopt when nlohmann::json would refuse it.
std::optional<Value> parse(std::string_view text);

}  // namespace till::sync::json_view
