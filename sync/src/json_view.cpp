#include "json_view.hpp"

#include <locale.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace till::sync::json_view {

namespace {

bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

void skip_ws(const char*& p, const char* end) noexcept {
  while (p < end && is_ws(*p)) ++p;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Four hex digits at p (p + 4 <= end checked by the caller), or -1.
int hex4(const char* p) noexcept {
  int v = 0;
  for (int i = 0; i < 4; ++i) {
    const int h = hex_value(p[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Checking (the one pass over untrusted text)

// Bytes a string may contain as they are (printable ASCII but the quote and the backslash).
struct PlainTable {
  bool plain[256] = {};
  constexpr PlainTable() {
    for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  }
};
constexpr PlainTable kPlain;

// A string starting at the opening quote; on success p is just past the closing quote.
bool check_string(const char*& p, const char* end) noexcept {
  ++p;
  while (p < end) {
    while (p < end && kPlain.plain[static_cast<unsigned char>(*p)]) ++p;
    if (p >= end) return false;
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') {
      ++p;
      return true;
    }
    if (c == '\\') {
      if (end - p < 2) return false;
      const char e = p[1];
      if (e == 'u') {
        if (end - p < 6) return false;
        const int cp = hex4(p + 2);
        if (cp < 0) return false;
        p += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          // A high surrogate must be followed by an escaped low one.
          if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return false;
          const int low = hex4(p + 2);
          if (low < 0xDC00 || low > 0xDFFF) return false;
          p += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return false;
        }
        continue;
      }
      if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') {
        return false;
      }
      p += 2;
      continue;
    }
    if (c < 0x20) return false;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // UTF-8 as RFC 3629 allows it (no overlong forms, no encoded surrogates, <= U+10FFFF).
    const auto at = [&](std::ptrdiff_t i) -> unsigned { return static_cast<unsigned char>(p[i]); };
    const auto cont = [&](std::ptrdiff_t i) { return (at(i) & 0xC0u) == 0x80u; };
    std::ptrdiff_t len = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    } else {
      return false;
    }
    if (end - p < len) return false;
    for (std::ptrdiff_t i = 1; i < len; ++i) {
      if (!cont(i)) return false;
    }
    if (c == 0xE0 && at(1) < 0xA0) return false;
    if (c == 0xED && at(1) > 0x9F) return false;
    if (c == 0xF0 && at(1) < 0x90) return false;
    if (c == 0xF4 && at(1) > 0x8F) return false;
    p += len;
  }
  return false;
}

locale_t c_locale() {
  static const locale_t loc = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
  return loc;
}

// How a number's text reads as an integer the way nlohmann::json's lexer does it: negative
// numbers as int64, others as uint64; a value that does not fit is a floating-point number.
bool integer_of(std::string_view text, std::int64_t& out) noexcept {
  const bool negative = text.front() == '-';
  std::uint64_t magnitude = 0;
  for (std::size_t i = negative ? 1 : 0; i < text.size(); ++i) {
    const auto d = static_cast<std::uint64_t>(text[i] - '0');
    if (magnitude > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    magnitude = magnitude * 10 + d;
  }
  if (negative) {
    if (magnitude > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) return false;
    out = magnitude == 0 ? 0 : static_cast<std::int64_t>(0 - magnitude);
    return true;
  }
  out = static_cast<std::int64_t>(magnitude);
  return true;
}

// A number (JSON grammar); a floating-point one must be finite (nlohmann refuses overflow).
bool check_number(const char*& p, const char* end) {
  const char* start = p;
  if (p < end && *p == '-') ++p;
  if (p >= end) return false;
  if (*p == '0') {
    ++p;
  } else if (*p >= '1' && *p <= '9') {
    while (p < end && is_digit(*p)) ++p;
  } else {
    return false;
  }
  bool integral = true;
  if (p < end && *p == '.') {
    integral = false;
    ++p;
    if (p >= end || !is_digit(*p)) return false;
    while (p < end && is_digit(*p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    integral = false;
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p >= end || !is_digit(*p)) return false;
    while (p < end && is_digit(*p)) ++p;
  }
  const std::string_view text(start, static_cast<std::size_t>(p - start));
  std::int64_t ignored = 0;
  if (integral && integer_of(text, ignored)) return true;
  const std::string copy(text);  // strtod needs a terminated string
  return std::isfinite(strtod_l(copy.c_str(), nullptr, c_locale()));
}

bool check_literal(const char*& p, const char* end, std::string_view word) noexcept {
  if (static_cast<std::size_t>(end - p) < word.size() || std::string_view(p, word.size()) != word) return false;
  p += word.size();
  return true;
}

// The whole document: one value, iteratively (no recursion, so depth is not limited by the
// stack, as with nlohmann's parser). On success [begin, value_end) is the top-level value.
// With `top`, the members of a top-level object are listed as they are checked (raw key with
// its quotes, raw value), so reading it needs no second pass.
using TopMembers = std::vector<std::pair<std::string_view, std::string_view>>;

bool check_document(std::string_view text, const char*& begin, const char*& value_end, TopMembers* top) {
  const char* p = text.data();
  const char* end = p + text.size();
  // nlohmann skips a UTF-8 byte-order mark, and refuses a text that starts like one but is not.
  if (p < end && static_cast<unsigned char>(*p) == 0xEF) {
    if (!check_literal(p, end, "\xEF\xBB\xBF")) return false;
  }
  std::vector<char> open;  // '{' or '['
  const char* key_start = nullptr;  // a top-level member being checked (with `top`)
  const char* key_stop = nullptr;
  const char* value_start = nullptr;
  skip_ws(p, end);
  begin = p;
  for (;;) {
    // A value.
    skip_ws(p, end);
    if (p >= end) return false;
    if (key_start != nullptr && value_start == nullptr) value_start = p;
    switch (*p) {
      case '{':
        ++p;
        skip_ws(p, end);
        if (p < end && *p == '}') {
          ++p;
          break;
        }
        {
          const char* ks = p;
          if (p >= end || *p != '"' || !check_string(p, end)) return false;
          const char* ke = p;
          skip_ws(p, end);
          if (p >= end || *p != ':') return false;
          ++p;
          open.push_back('{');
          if (top != nullptr && open.size() == 1) {
            key_start = ks;
            key_stop = ke;
            value_start = nullptr;
          }
        }
        continue;  // the member's value
      case '[':
        ++p;
        skip_ws(p, end);
        if (p < end && *p == ']') {
          ++p;
          break;
        }
        open.push_back('[');
        continue;
      case '"':
        if (!check_string(p, end)) return false;
        break;
      case 't':
        if (!check_literal(p, end, "true")) return false;
        break;
      case 'f':
        if (!check_literal(p, end, "false")) return false;
        break;
      case 'n':
        if (!check_literal(p, end, "null")) return false;
        break;
      default:
        if (*p != '-' && !is_digit(*p)) return false;
        if (!check_number(p, end)) return false;
        break;
    }
    // After a value: close containers or move to the next item.
    for (;;) {
      if (key_start != nullptr && open.size() == 1) {
        top->emplace_back(std::string_view(key_start, static_cast<std::size_t>(key_stop - key_start)),
                          std::string_view(value_start, static_cast<std::size_t>(p - value_start)));
        key_start = nullptr;
      }
      if (open.empty()) {
        value_end = p;
        skip_ws(p, end);
        return p == end;
      }
      skip_ws(p, end);
      if (p >= end) return false;
      if (open.back() == '{') {
        if (*p == '}') {
          ++p;
          open.pop_back();
          continue;
        }
        if (*p != ',') return false;
        ++p;
        skip_ws(p, end);
        const char* ks = p;
        if (p >= end || *p != '"' || !check_string(p, end)) return false;
        const char* ke = p;
        skip_ws(p, end);
        if (p >= end || *p != ':') return false;
        ++p;
        if (top != nullptr && open.size() == 1) {
          key_start = ks;
          key_stop = ke;
          value_start = nullptr;
        }
        break;
      }
      if (*p == ']') {
        ++p;
        open.pop_back();
        continue;
      }
      if (*p != ',') return false;
      ++p;
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading checked text

// Past the string starting at the opening quote at p (checked text). Sets `escaped`.
const char* skip_string(const char* p, const char* end, bool& escaped) noexcept {
  ++p;
  while (p < end) {
    if (*p == '"') return p + 1;
    if (*p == '\\') {
      escaped = true;
      p += 2;
      continue;
    }
    ++p;
  }
  return end;
}

// Past the container starting at p (checked text).
const char* skip_container(const char* p, const char* end) noexcept {
  int depth = 0;
  while (p < end) {
    const char c = *p;
    if (c == '"') {
      bool escaped = false;
      p = skip_string(p, end, escaped);
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return p + 1;
    }
    ++p;
  }
  return end;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The text between the quotes of a checked string, escapes resolved.
std::string decode(std::string_view inner) {
  std::string out;
  out.reserve(inner.size());
  for (std::size_t i = 0; i < inner.size(); ++i) {
    const char c = inner[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    const char e = inner[++i];
    switch (e) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        auto cp = static_cast<std::uint32_t>(hex4(inner.data() + i + 1));
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          const auto low = static_cast<std::uint32_t>(hex4(inner.data() + i + 3));
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(out, cp);
        break;
      }
      default: out.push_back(e); break;  // " \ /
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Value and Object

Value Value::of_raw(std::string_view raw) {
  switch (raw.front()) {
    case '{': return Value(Kind::Object, raw);
    case '[': return Value(Kind::Array, raw);
    case '"': return Value(Kind::String, raw);
    case 't':
    case 'f': return Value(Kind::Bool, raw);
    case 'n': return Value(Kind::Null, raw);
    default: break;
  }
  Value v(Kind::Float, raw);
  if (raw.find_first_of(".eE") == std::string_view::npos && integer_of(raw, v.integer_)) v.kind_ = Kind::Integer;
  return v;
}

Value Value::at(const char*& p, const char* end) {
  const char* start = p;
  switch (*p) {
    case '{':
    case '[': {
      p = skip_container(p, end);
      return Value(*start == '{' ? Kind::Object : Kind::Array, std::string_view(start, p - start));
    }
    case '"': {
      bool escaped = false;
      p = skip_string(p, end, escaped);
      return Value(Kind::String, std::string_view(start, p - start));
    }
    case 't': p += 4; return Value(Kind::Bool, std::string_view(start, 4));
    case 'f': p += 5; return Value(Kind::Bool, std::string_view(start, 5));
    case 'n': p += 4; return Value(Kind::Null, std::string_view(start, 4));
    default: break;
  }
  bool integral = true;
  while (p < end && !is_ws(*p) && *p != ',' && *p != '}' && *p != ']') {
    if (*p == '.' || *p == 'e' || *p == 'E') integral = false;
    ++p;
  }
  const std::string_view text(start, static_cast<std::size_t>(p - start));
  Value v(Kind::Float, text);
  if (integral && integer_of(text, v.integer_)) v.kind_ = Kind::Integer;
  return v;
}

std::string Value::string() const {
  if (kind_ != Kind::String) return {};
  const std::string_view inner = raw_.substr(1, raw_.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return std::string(inner);
  return decode(inner);
}

std::optional<std::string_view> Value::plain_string() const noexcept {
  if (kind_ != Kind::String) return std::nullopt;
  const std::string_view inner = raw_.substr(1, raw_.size() - 2);
  if (inner.find('\\') != std::string_view::npos) return std::nullopt;
  return inner;
}

std::int64_t Value::integer() const noexcept { return kind_ == Kind::Integer ? integer_ : 0; }

std::vector<Value> Value::items() const {
  std::vector<Value> out;
  if (kind_ != Kind::Array) return out;
  const char* p = raw_.data() + 1;
  const char* end = raw_.data() + raw_.size() - 1;
  for (;;) {
    skip_ws(p, end);
    if (p >= end) break;
    out.push_back(at(p, end));
    skip_ws(p, end);
    if (p < end && *p == ',') ++p;
  }
  return out;
}

Object::Object(const Value& object) {
  if (!object.is_object()) return;
  const std::string_view raw = object.raw();
  const char* p = raw.data() + 1;
  const char* end = raw.data() + raw.size() - 1;
  members_.reserve(32);  // a PaymentIntent has about 25
  for (;;) {
    skip_ws(p, end);
    if (p >= end || *p != '"') break;
    Member m;
    const char* key_start = p;
    p = skip_string(p, end, m.escaped);
    m.key = std::string_view(key_start + 1, static_cast<std::size_t>(p - key_start - 2));
    if (m.escaped) m.decoded = decode(m.key);
    skip_ws(p, end);
    ++p;  // ':'
    skip_ws(p, end);
    m.value = Value::at(p, end);
    members_.push_back(std::move(m));
    skip_ws(p, end);
    if (p < end && *p == ',') ++p;
  }
}

std::optional<Object> Object::parse(std::string_view text) {
  const char* begin = nullptr;
  const char* value_end = nullptr;
  thread_local TopMembers top;  // reused: no allocation per answer
  top.clear();
  if (!check_document(text, begin, value_end, &top) || *begin != '{') return std::nullopt;
  Object o;
  o.members_.reserve(top.size());
  for (const auto& [quoted, raw] : top) {
    Member m;
    m.key = quoted.substr(1, quoted.size() - 2);
    m.escaped = m.key.find('\\') != std::string_view::npos;
    if (m.escaped) m.decoded = decode(m.key);
    m.value = Value::of_raw(raw);
    o.members_.push_back(std::move(m));
  }
  return o;
}

std::optional<Value> Object::find(std::string_view key) const {
  for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
    if (it->name() == key) return it->value;
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, Value>> Object::members() const {
  // Insertion into a sorted vector: a later member with the same key replaces the earlier one.
  std::vector<std::pair<std::string, Value>> out;
  out.reserve(members_.size());
  for (const auto& m : members_) {
    const std::string_view name = m.name();
    auto it = std::lower_bound(out.begin(), out.end(), name,
                               [](const std::pair<std::string, Value>& e, std::string_view k) { return e.first < k; });
    if (it != out.end() && it->first == name) {
      it->second = m.value;
    } else {
      out.emplace(it, std::string(name), m.value);
    }
  }
  return out;
}

std::optional<Value> parse(std::string_view text) {
  const char* begin = nullptr;
  const char* value_end = nullptr;
  if (!check_document(text, begin, value_end, nullptr)) return std::nullopt;
  // The check already found where the value ends: no second pass over a container.
  if (*begin == '{' || *begin == '[') {
    return Value(*begin == '{' ? Kind::Object : Kind::Array, std::string_view(begin, value_end - begin));
  }
  const char* p = begin;
  return Value::at(p, value_end);
}

}  // namespace till::sync::json_view
