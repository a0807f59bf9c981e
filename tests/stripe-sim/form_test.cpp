// The simulator's own form decoder (stripe-sim/form.hpp): Stripe's bracket convention, strict
// refusals, random bytes that never crash it, round trips through a tiny encoder written here,
// and a cross-check against the client's encoder (sync/form.hpp): the two were written apart,
// so agreement means something.

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "till/stripesim/form.hpp"
#include "till/sync/form.hpp"

using namespace till::stripesim;
using form::Pair;
using form::Pairs;

namespace {

std::vector<std::string> keys_of(const Pairs& pairs) {
  std::vector<std::string> out;
  for (const Pair& p : pairs) out.push_back(p.key);
  return out;
}

// The test's own encoder: every byte but ALPHA / DIGIT / -._~ as %XX (brackets too, in some
// runs, since Stripe reads both spellings), and a space as '+' in some runs.
std::string escape(const std::string& s, bool escape_brackets, bool plus_for_space) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool plain = std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
                       (!escape_brackets && (c == '[' || c == ']'));
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ' && plus_for_space) {
      out.push_back('+');
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string encode(const std::vector<std::pair<std::string, std::string>>& pairs, bool brackets, bool plus) {
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out += escape(k, brackets, plus) + "=" + escape(v, brackets, plus);
  }
  return out;
}

// Random valid UTF-8 text: ASCII (specials included), 2-, 3- and 4-byte characters.
std::string random_text(std::mt19937_64& rng, std::size_t max_len) {
  static const std::vector<std::string> kPieces = {"a", "Z", "0", " ", "&", "=", "+", "%", "[", "]", "~",
                                                   "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x92\xB3", "\x00"};
  std::string out;
  const std::size_t n = rng() % (max_len + 1);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& piece = kPieces[rng() % kPieces.size()];
    out += piece.empty() ? std::string(1, '\0') : piece;
  }
  return out;
}

// A segment that cannot contain brackets (which the key syntax forbids inside a segment).
std::string random_segment(std::mt19937_64& rng) {
  std::string s;
  do {
    s = random_text(rng, 6);
    std::erase_if(s, [](char c) { return c == '[' || c == ']'; });
  } while (s.empty());
  return s;
}

}  // namespace

TEST_CASE("the form decoder reads bracketed keys, indexed and appended arrays and percent escapes") {
  auto pairs = form::decode_strict(
      "amount=1299&metadata[sale_id]=s%2D1&payment_method_options[card_present][capture_method]=manual"
      "&expand[0]=latest_charge&expand[1]=customer&description=caf%C3%A9+au+lait&note=a%26b%3Dc");
  REQUIRE(pairs);
  REQUIRE(pairs->size() == 7);
  CHECK((*pairs)[1] == Pair{"metadata[sale_id]", {"metadata", "sale_id"}, "s-1"});
  CHECK((*pairs)[2].path == std::vector<std::string>{"payment_method_options", "card_present", "capture_method"});
  CHECK((*pairs)[3].path == std::vector<std::string>{"expand", "0"});
  CHECK((*pairs)[5].value == "caf\xC3\xA9 au lait");
  CHECK((*pairs)[6].value == "a&b=c");
  auto appended = form::decode_strict("expand[]=a&expand[]=b");
  REQUIRE(appended);
  CHECK((*appended)[1].path == std::vector<std::string>{"expand", ""});
  // Brackets may be percent-encoded; the key is decoded before it is split.
  auto escaped = form::decode_strict("metadata%5Bsale_id%5D=s1");
  REQUIRE(escaped);
  CHECK((*escaped)[0].path == std::vector<std::string>{"metadata", "sale_id"});
  // An empty value is a value (it unsets a field); an empty body is no params.
  CHECK(form::decode_strict("description=")->front().value.empty());
  CHECK(form::decode_strict("")->empty());
}

TEST_CASE("the form decoder refuses what it cannot read without guessing") {
  const char* bad[] = {
      "a=1&&b=2",       "a=1&",           "&a=1",          "novalue",         "=1",
      "a=%",            "a=%4",           "a=%zz",         "%=1",             "a=%C3",
      "a=%C0%AF",       "a=%ED%A0%80",    "a=%F4%90%80%80", "a[=1",            "a]=1",
      "a[b]c=1",        "a[b[c]]=1",      "[a]=1",         "a[b]]=1",         "a=%FF",
  };
  for (const char* body : bad) {
    INFO(body);
    auto r = form::decode_strict(body);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == till::ErrorKind::InvalidArgument);
  }
  // Lexically fine but not one parameter tree.
  const char* shapes[] = {"a=1&a=2", "a=1&a[b]=2", "a[b]=2&a=1", "a[b]=1&a[b][c]=2", "a[][b]=1",
                          "a[]=1&a[0]=2", "a[0]=1&a[]=2", "metadata=&metadata[k]=v"};
  for (const char* body : shapes) {
    INFO(body);
    REQUIRE(form::decode(body));
    CHECK_FALSE(form::decode_strict(body));
  }
  // Appending twice, and sibling keys under one parent, are one tree.
  CHECK(form::decode_strict("a[]=1&a[]=2"));
  CHECK(form::decode_strict("a[b]=1&a[c]=2&a[d][e]=3"));
}

TEST_CASE("array indices are canonical") {
  CHECK(form::is_index("0"));
  CHECK(form::is_index("10"));
  CHECK(form::is_index("999999999"));
  CHECK_FALSE(form::is_index(""));
  CHECK_FALSE(form::is_index("01"));
  CHECK_FALSE(form::is_index("-1"));
  CHECK_FALSE(form::is_index("1a"));
  CHECK_FALSE(form::is_index("1000000000"));
}

TEST_CASE("random byte strings never crash the decoder and what it accepts is well formed") {
  std::mt19937_64 rng(20261028);
  static const std::string kAlphabet = "ab0=&%[]+.~\xC3\xA9\xFF";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input;
    const std::size_t n = rng() % 40;
    for (std::size_t k = 0; k < n; ++k) {
      // Half the bytes from the form's own special characters, half anything at all.
      input.push_back(rng() % 2 ? kAlphabet[rng() % kAlphabet.size()] : static_cast<char>(rng() % 256));
    }
    auto pairs = form::decode_strict(input);
    if (!pairs) {
      CHECK(pairs.error().kind == till::ErrorKind::InvalidArgument);
      continue;
    }
    ++accepted;
    for (const Pair& p : *pairs) {
      REQUIRE_FALSE(p.path.empty());
      CHECK_FALSE(p.path.front().empty());
      auto split = form::split_key(p.key);
      REQUIRE(split);
      CHECK(*split == p.path);
    }
  }
  CHECK(accepted > 100);  // the generator does reach the accepting paths
}

TEST_CASE("encode then decode gives back the same pairs, whatever the spelling") {
  std::mt19937_64 rng(7);
  for (int run = 0; run < 2000; ++run) {
    std::vector<std::pair<std::string, std::string>> pairs;
    const std::size_t n = 1 + rng() % 6;
    for (std::size_t i = 0; i < n; ++i) {
      // name, name[seg], name[seg][seg], or name[i] (distinct names keep it one tree).
      std::string key = "p" + std::to_string(i) + random_segment(rng);
      const int shape = static_cast<int>(rng() % 4);
      if (shape == 1) key += "[" + random_segment(rng) + "]";
      if (shape == 2) key += "[" + random_segment(rng) + "][" + random_segment(rng) + "]";
      if (shape == 3) key += "[0]";
      pairs.emplace_back(key, random_text(rng, 12));
    }
    const std::string body = encode(pairs, run % 2 == 0, run % 3 == 0);
    INFO(body);
    auto decoded = form::decode_strict(body);
    REQUIRE(decoded);
    REQUIRE(decoded->size() == pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      CHECK((*decoded)[i].key == pairs[i].first);
      CHECK((*decoded)[i].value == pairs[i].second);
    }
  }
}

TEST_CASE("what the client encodes, the simulator decodes to the client's own flat pairs") {
  // Cross-check: sync's encoder and the simulator's decoder were written apart.
  using till::sync::FormParams;
  using till::sync::FormValue;
  std::mt19937_64 rng(99);
  for (int run = 0; run < 500; ++run) {
    FormParams params;
    params.add("amount", static_cast<std::int64_t>(rng() % 100000));
    params.add("description", random_text(rng, 20));
    params.add("metadata", FormValue::object({{"sale_id", random_text(rng, 10)}, {"k y", random_text(rng, 5)}}));
    params.add("expand", FormValue::array({"latest_charge", random_text(rng, 4)}));
    params.add("payment_method_options",
               FormValue::object({{"card_present", FormValue::object({{"capture_method", "manual"}})}}));
    const std::string body = till::sync::encode(params);
    INFO(body);
    auto decoded = form::decode_strict(body);
    REQUIRE(decoded);
    const auto flat = till::sync::flatten(params);
    REQUIRE(decoded->size() == flat.size());
    for (std::size_t i = 0; i < flat.size(); ++i) {
      CHECK((*decoded)[i].key == flat[i].first);
      CHECK((*decoded)[i].value == flat[i].second);
    }
  }
  CHECK(keys_of(*form::decode_strict(till::sync::encode(FormParams{{"a", "1"}}))) == std::vector<std::string>{"a"});
}
