#include "till/sync/form.hpp"

#include <catch2/catch.hpp>

#include "till/base/random.hpp"
#include "till/sync/stripe_client.hpp"

using namespace till;
using namespace till::sync;

TEST_CASE("form encoding spells nested params and arrays as Stripe does") {
  struct Row {
    const char* name;
    FormParams params;
    std::string expected;
  };
  const std::vector<Row> rows = {
      {"scalars in order", FormParams{{"amount", 1299}, {"currency", "usd"}}, "amount=1299&currency=usd"},
      {"booleans", FormParams{{"confirm", true}, {"capture", false}}, "confirm=true&capture=false"},
      {"empty value unsets", FormParams{{"description", ""}}, "description="},
      {"metadata object",
       FormParams{{"metadata", FormValue::object({{"sale_id", "s-1"}, {"register_id", "r 2"}})}},
       "metadata[sale_id]=s-1&metadata[register_id]=r%202"},
      {"two levels",
       FormParams{{"payment_method_options",
                   FormValue::object({{"card_present", FormValue::object({{"capture_method", "manual"}})}})}},
       "payment_method_options[card_present][capture_method]=manual"},
      {"indexed array",
       FormParams{{"allowed_payment_method_types", FormValue::array({"card_present", "interac_present"})}},
       "allowed_payment_method_types[0]=card_present&allowed_payment_method_types[1]=interac_present"},
      {"array of objects",
       FormParams{{"cart", FormValue::object({{"line_items", FormValue::array({FormValue::object(
                                                                 {{"amount", 500}, {"quantity", 2}})})}})}},
       "cart[line_items][0][amount]=500&cart[line_items][0][quantity]=2"},
      {"reserved characters escaped",
       FormParams{{"query", "metadata['sale_id']:'a&b=c'"}},
       "query=metadata%5B%27sale_id%27%5D%3A%27a%26b%3Dc%27"},
      {"utf-8 and plus", FormParams{{"d", "caf\xC3\xA9+1"}}, "d=caf%C3%A9%2B1"},
      {"empty containers contribute nothing",
       FormParams{{"a", FormValue::object({})}, {"b", FormValue::array({})}, {"c", 1}}, "c=1"},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    CHECK(encode(row.params) == row.expected);
  }
}

TEST_CASE("form decoding returns flat bracketed pairs in order") {
  struct Row {
    const char* body;
    FlatParams expected;
  };
  const std::vector<Row> rows = {
      {"", {}},
      {"a=1", {{"a", "1"}}},
      {"a=", {{"a", ""}}},
      {"a=x+y&b=%41%62", {{"a", "x y"}, {"b", "Ab"}}},
      {"metadata%5Bsale_id%5D=s1", {{"metadata[sale_id]", "s1"}}},
      {"metadata[sale_id]=s1&expand[0]=latest_charge", {{"metadata[sale_id]", "s1"}, {"expand[0]", "latest_charge"}}},
      {"a=1&a=2", {{"a", "1"}, {"a", "2"}}},
      {"q=%e2%82%ac", {{"q", "\xE2\x82\xAC"}}},
      {"a==b", {{"a", "=b"}}},
      {"expand[]=x", {{"expand[]", "x"}}},
  };
  for (const auto& row : rows) {
    INFO(row.body);
    auto decoded = decode(row.body);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == row.expected);
  }
}

TEST_CASE("form decoding rejects malformed bodies with InvalidArgument") {
  const std::vector<std::string> bad = {
      "a=1&&b=2",   // empty pair
      "a=1&",       // trailing separator
      "&a=1",       // leading separator
      "a",          // no '='
      "=1",         // empty key
      "a=%",        // truncated escape
      "a=%4",       // truncated escape
      "a=%G1",      // not hex
      "a=%C3%28",   // invalid UTF-8
      "a=%ED%A0%80",  // UTF-16 surrogate
      "a=%C0%80",   // overlong NUL
      "a[b=1",      // unclosed bracket
      "a]=1",       // stray bracket
      "a[b]c=1",    // text after bracket
      "a[b[c]]=1",  // bracket inside segment
      "[a]=1",      // empty base name
  };
  for (const auto& body : bad) {
    INFO(body);
    auto decoded = decode(body);
    REQUIRE_FALSE(decoded.has_value());
    CHECK(decoded.error().kind == ErrorKind::InvalidArgument);
  }
}

TEST_CASE("parse_key splits bracketed keys into a path") {
  CHECK(*parse_key("amount") == std::vector<std::string>{"amount"});
  CHECK(*parse_key("a[b][0]") == std::vector<std::string>{"a", "b", "0"});
  CHECK(*parse_key("expand[]") == std::vector<std::string>{"expand", ""});
  CHECK_FALSE(parse_key("a[b]]").has_value());
}

TEST_CASE("nest rebuilds objects and arrays from decoded pairs") {
  auto flat = decode(
      "amount=100&metadata[sale_id]=s1&metadata[attempt]=2&allowed_payment_method_types[1]=b"
      "&allowed_payment_method_types[0]=a&expand[]=x&expand[]=y&m[01]=z");
  REQUIRE(flat.has_value());
  auto nested = nest(*flat);
  REQUIRE(nested.has_value());
  const FormParams expected{
      {"amount", "100"},
      {"metadata", FormValue::object({{"sale_id", "s1"}, {"attempt", "2"}})},
      {"allowed_payment_method_types", FormValue::array({"a", "b"})},
      {"expand", FormValue::array({"x", "y"})},
      {"m", FormValue::object({{"01", "z"}})},  // a leading zero is a name, not an index
  };
  CHECK(*nested == expected);
}

TEST_CASE("nest rejects conflicting keys") {
  for (const char* body : {"a=1&a=2", "a=1&a[b]=2", "a[b]=2&a=1", "a[]=1&a[x]=2", "a[x]=1&a[]=2", "a[][b]=1"}) {
    INFO(body);
    auto flat = decode(body);
    REQUIRE(flat.has_value());
    auto nested = nest(*flat);
    REQUIRE_FALSE(nested.has_value());
    CHECK(nested.error().kind == ErrorKind::InvalidArgument);
  }
}

namespace {

std::string random_text(SeededRandom& rng, bool key) {
  static const std::string kAlphabet = "abcXYZ019_-.~ &=+%[]'\"/?#\xC3\xA9\xE2\x82\xAC";
  const auto len = static_cast<std::size_t>(rng.uniform(key ? 6 : 10)) + (key ? 1 : 0);
  std::string out;
  while (out.size() < len) {
    const auto i = rng.uniform(kAlphabet.size());
    const auto c = static_cast<unsigned char>(kAlphabet[i]);
    if (key && (c == '[' || c == ']')) continue;  // keys are names, brackets come from nesting
    if (c >= 0x80) {
      // Keep multi-byte characters whole.
      if (c == 0xC3) out += "\xC3\xA9";
      else if (c == 0xE2) out += "\xE2\x82\xAC";
      continue;
    }
    out.push_back(static_cast<char>(c));
  }
  return out;
}

FormValue random_value(SeededRandom& rng, int depth) {
  const auto pick = depth >= 3 ? 0 : rng.uniform(3);
  if (pick == 0) return FormValue(random_text(rng, false));
  const auto n = static_cast<std::size_t>(rng.uniform(4));
  if (pick == 1) {
    std::vector<FormField> fields;
    for (std::size_t i = 0; i < n; ++i) fields.push_back({random_text(rng, true), random_value(rng, depth + 1)});
    return FormValue::object(std::move(fields));
  }
  std::vector<FormValue> items;
  for (std::size_t i = 0; i < n; ++i) items.push_back(random_value(rng, depth + 1));
  return FormValue::array(std::move(items));
}

}  // namespace

TEST_CASE("decoding an encoded random parameter tree gives back its flat pairs") {
  SeededRandom rng(20261123);
  for (int round = 0; round < 2000; ++round) {
    FormParams params;
    const auto n = rng.uniform(6);
    for (std::uint64_t i = 0; i < n; ++i) params.add(random_text(rng, true), random_value(rng, 0));
    const std::string body = encode(params);
    INFO(body);
    // The tree walk writes the same bytes as encoding the flattened pairs.
    REQUIRE(body == encode(flatten(params)));
    auto decoded = decode(body);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == flatten(params));
    CHECK(encode(*decoded) == body);
  }
}

TEST_CASE("the decoder never crashes on random bytes and re-encodes what it accepts") {
  SeededRandom rng(7);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string body(static_cast<std::size_t>(rng.uniform(40)), '\0');
    for (auto& c : body) {
      // Bias towards the characters the grammar cares about so parsing goes deep.
      static const std::string kInteresting = "a=&%[]+0F";
      c = rng.uniform(3) == 0 ? static_cast<char>(rng.uniform(256))
                              : kInteresting[static_cast<std::size_t>(rng.uniform(kInteresting.size()))];
    }
    auto decoded = decode(body);
    if (!decoded) {
      CHECK(decoded.error().kind == ErrorKind::InvalidArgument);
      continue;
    }
    ++accepted;
    auto again = decode(encode(*decoded));
    REQUIRE(again.has_value());
    CHECK(*again == *decoded);
    (void)nest(*decoded);  // may fail, must not crash
  }
  CHECK(accepted > 100);  // the generator does reach valid bodies
}

TEST_CASE("a create call's body written field by field is encode(to_params()) byte for byte") {
  SeededRandom rng(18);
  const auto maybe = [&](std::string& field) {
    if (rng.uniform(2) == 0) field = random_text(rng, false);
  };
  for (int round = 0; round < 2000; ++round) {
    CreatePaymentIntentParams p;
    p.amount = static_cast<std::int64_t>(rng.uniform(100000)) - 50;
    p.currency = random_text(rng, false);
    p.allowed_payment_method_types.clear();
    for (std::uint64_t i = 0, n = rng.uniform(3); i < n; ++i) p.allowed_payment_method_types.push_back(random_text(rng, false));
    maybe(p.capture_method);
    if (rng.uniform(2) == 0) p.application_fee_amount = static_cast<std::int64_t>(rng.uniform(1000));
    maybe(p.payment_method);
    p.confirm = rng.uniform(2) == 0;
    maybe(p.description);
    maybe(p.statement_descriptor_suffix);
    maybe(p.receipt_email);
    for (std::uint64_t i = 0, n = rng.uniform(4); i < n; ++i) p.metadata.emplace_back(random_text(rng, true), random_text(rng, false));
    for (std::uint64_t i = 0, n = rng.uniform(3); i < n; ++i) p.expand.push_back(random_text(rng, false));
    for (std::uint64_t i = 0, n = rng.uniform(3); i < n; ++i) p.extra.add(random_text(rng, true), random_value(rng, 0));
    const std::string expected = encode(p.to_params());
    INFO(expected);
    REQUIRE(p.encode() == expected);
  }
}
