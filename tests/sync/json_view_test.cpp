// json_view (sync/src) against nlohmann::json, which it replaced on the client's path: the same
// texts are accepted and refused, and an accepted text reads as the same tree (duplicates keep
// their last value, members in key order, integers as nlohmann reads them).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "../../sync/src/json_view.hpp"

using till::sync::json_view::Kind;
using till::sync::json_view::Object;
using till::sync::json_view::Value;
namespace view = till::sync::json_view;

namespace {

bool nlohmann_accepts(std::string_view text) {
  return !nlohmann::json::parse(text.begin(), text.end(), nullptr, false).is_discarded();
}

// The view's reading of a value, as a nlohmann tree to compare with nlohmann's own.
nlohmann::json tree_of(const Value& v) {
  switch (v.kind()) {
    case Kind::Null: return nullptr;
    case Kind::Bool: return v.boolean();
    case Kind::Integer:
      if (v.raw().front() == '-') return v.integer();
      return static_cast<std::uint64_t>(v.integer());
    case Kind::Float: return std::strtod(std::string(v.raw()).c_str(), nullptr);
    case Kind::String: return v.string();
    case Kind::Array: {
      nlohmann::json out = nlohmann::json::array();
      for (const Value& item : v.items()) out.push_back(tree_of(item));
      return out;
    }
    case Kind::Object: {
      nlohmann::json out = nlohmann::json::object();
      const Object o(v);
      for (const auto& [key, value] : o.members()) {
        out[key] = tree_of(value);
        // find() must agree with the members' last-value rule.
        const auto found = o.find(key);
        REQUIRE(found.has_value());
        REQUIRE(found->raw() == value.raw());
      }
      return out;
    }
  }
  return nullptr;
}

void check_same(std::string_view text, bool compare_trees = true) {
  INFO("text: " << nlohmann::json(std::string(text)).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
  const bool reference = nlohmann_accepts(text);
  const auto parsed = view::parse(text);
  REQUIRE(parsed.has_value() == reference);
  // The one-pass object reader agrees with reading the checked value.
  const auto object = Object::parse(text);
  REQUIRE(object.has_value() == (reference && parsed->is_object()));
  if (object) {
    const auto a = object->members();
    const auto b = Object(*parsed).members();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      REQUIRE(a[i].first == b[i].first);
      REQUIRE(a[i].second.raw() == b[i].second.raw());
      REQUIRE(a[i].second.kind() == b[i].second.kind());
      REQUIRE(a[i].second.integer() == b[i].second.integer());
    }
  }
  if (!reference || !compare_trees) return;
  const auto expected = nlohmann::json::parse(text.begin(), text.end());
  REQUIRE(tree_of(*parsed) == expected);
  // Keys in the same order as nlohmann's std::map.
  if (parsed->is_object()) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : Object(*parsed).members()) keys.push_back(k);
    std::vector<std::string> expected_keys;
    for (auto it = expected.begin(); it != expected.end(); ++it) expected_keys.push_back(it.key());
    REQUIRE(keys == expected_keys);
  }
}

struct Rng {
  std::uint64_t state = 0x2545F4914F6CDD1DULL;
  std::uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

std::string random_string(Rng& r) {
  static const char* const pieces[] = {"a",      "id",      "pi_1",   "\\n",     "\\\"",    "\\\\",  "\\/",
                                       "\\u00e9", "\\u0000", "\\ud83d\\ude00", "é",     "😀",      " ",     "metadata",
                                       "\\t",     "x\\u0041", "\\b\\f\\r"};
  std::string s = "\"";
  const std::size_t n = r.below(5);
  for (std::size_t i = 0; i < n; ++i) s += pieces[r.below(std::size(pieces))];
  return s + "\"";
}

std::string random_number(Rng& r) {
  static const char* const numbers[] = {"0",     "-0",   "7",      "1299",  "-42",   "3.25",  "1e3",
                                        "-2.5E-3", "1e999", "-1e999", "1e-999", "9223372036854775807",
                                        "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                                        "18446744073709551615", "18446744073709551616", "0.0", "10E+2"};
  return numbers[r.below(std::size(numbers))];
}

std::string ws(Rng& r) {
  static const char* const spaces[] = {"", "", "", " ", "\n  ", "\t", "\r\n"};
  return spaces[r.below(std::size(spaces))];
}

std::string random_value(Rng& r, int depth) {
  const std::size_t pick = r.below(depth > 3 ? 6 : 8);
  switch (pick) {
    case 0: return "null";
    case 1: return r.below(2) ? "true" : "false";
    case 2:
    case 3: return random_number(r);
    case 4:
    case 5: return random_string(r);
    case 6: {
      std::string s = "[" + ws(r);
      const std::size_t n = r.below(4);
      for (std::size_t i = 0; i < n; ++i) s += (i ? "," : "") + ws(r) + random_value(r, depth + 1) + ws(r);
      return s + "]";
    }
    default: {
      static const char* const keys[] = {"\"id\"", "\"object\"", "\"amount\"", "\"metadata\"", "\"a\"",
                                         "\"b\"",  "\"\\u0061\"", "\"\"",      "\"z\\n\"",     "\"é\""};
      std::string s = "{" + ws(r);
      const std::size_t n = r.below(5);
      for (std::size_t i = 0; i < n; ++i) {
        s += (i ? "," : "") + ws(r) + keys[r.below(std::size(keys))] + ws(r) + ":" + ws(r) +
             random_value(r, depth + 1) + ws(r);
      }
      return s + "}";
    }
  }
}

}  // namespace

TEST_CASE("json_view accepts and refuses the same texts as nlohmann::json") {
  const char* const cases[] = {
      "{}", "[]", "  {\"a\":1}  ", "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[01]",
      "[-]", "[1.]", "[.5]", "[1e]", "[+1]", "[1e999]", "[-1e999]", "[1e-999]", "[tru]", "[nul]", "[true ]",
      "\xEF\xBB\xBF{}", "\xEF\xBB{}", "\xEF{}", "{} x", "{}{}", "[\"a\x01\"]", "[\"\x7F\"]", "[\"\xC0\x80\"]",
      "[\"\xC2\xA9\"]", "[\"\xE0\x9F\x80\"]", "[\"\xED\xA0\x80\"]", "[\"\xF0\x9F\x98\x80\"]", "[\"\xF4\x90\x80\x80\"]",
      "[\"\xF5\x80\x80\x80\"]", "[\"\xE2\x82\"]", "[\"\\x\"]", "[\"\\u12\"]", "[\"\\ud800\"]", "[\"\\udc00\"]",
      "[\"\\ud800\\u0041\"]", "[\"\\ud800\\udbff\"]", "[\"\\ud83d\\ude00\"]", "[\"abc", "[\"\\", "{\"a\":[1,{\"b\":null}]}",
      "3", "\"top\"", "null", "[1 2]", "[,1]", "{,}", "{\"a\":1 \"b\":2}", "{\"a\":1}\n", "\t[\r\n]\t",
  };
  for (const char* text : cases) check_same(text);
  // Deep nesting is checked without recursion (the trees are not compared: this test's own
  // comparison recurses).
  check_same(std::string(10000, '[') + std::string(10000, ']'), false);
  check_same(std::string(10000, '[') + std::string(9999, ']'), false);
}

TEST_CASE("json_view reads random documents and their one-byte corruptions as nlohmann::json does") {
  Rng r;
  static const char bytes[] = {'"', '\\', ',', ':', '{', '}', '[', ']', 'e', '-', '0', 'u', ' ', '\x01', '\xC3', '\xFF'};
  for (int round = 0; round < 4000; ++round) {
    const std::string doc = ws(r) + random_value(r, 0) + ws(r);
    check_same(doc);
    for (int m = 0; m < 4 && !doc.empty(); ++m) {
      std::string bad = doc;
      const std::size_t at = r.below(bad.size());
      switch (r.below(3)) {
        case 0: bad.erase(at, 1); break;
        case 1: bad.insert(bad.begin() + static_cast<std::ptrdiff_t>(at), bytes[r.below(sizeof bytes)]); break;
        default: bad[at] = bytes[r.below(sizeof bytes)]; break;
      }
      check_same(bad);
    }
  }
}

TEST_CASE("json_view keeps the last value of a repeated key and lists members in key order") {
  const auto v = view::parse(R"({"b":1,"a":{"x":"first"},"b":"two","a":{"x":"second"}})");
  REQUIRE(v.has_value());
  const Object o(*v);
  REQUIRE(o.find("b").has_value());
  CHECK(o.find("b")->string() == "two");
  CHECK(Object(*o.find("a")).find("x")->string() == "second");
  CHECK_FALSE(o.find("c").has_value());
  const auto members = o.members();
  REQUIRE(members.size() == 2);
  CHECK(members[0].first == "a");
  CHECK(members[1].first == "b");
}
