// The simulator's strict form decoder (form.hpp). Written from the HTML/URL spec's
// application/x-www-form-urlencoded rules and Stripe's bracket convention, not from the client.

#include "till/stripesim/form.hpp"

#include <map>

namespace till::stripesim::form {

namespace {

tl::unexpected<Error> refuse(std::string message) {
  return fail(ErrorKind::InvalidArgument, "form: " + std::move(message));
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  const char lower = static_cast<char>(c | 0x20);
  if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
  return -1;
}

Result<std::string> unescape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) return refuse("truncated %-escape");
      const int hi = hex_digit(in[i + 1]);
      const int lo = hex_digit(in[i + 2]);
      if (hi < 0 || lo < 0) return refuse("%-escape is not two hex digits");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 3;
      continue;
    }
    out.push_back(c == '+' ? ' ' : c);
    ++i;
  }
  return out;
}

// Well-formed UTF-8 after the Unicode standard's table of byte sequences (Table 3-7): the
// lead byte fixes the length and the allowed range of the second byte, which excludes overlong
// forms, surrogates and code points past U+10FFFF in one place.
bool well_formed_utf8(std::string_view s) noexcept {
  auto in = [](unsigned char b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 <= 0x7F) {
      ++i;
      continue;
    }
    unsigned lo = 0x80, hi = 0xBF;
    std::size_t len = 0;
    if (in(b0, 0xC2, 0xDF)) {
      len = 2;
    } else if (b0 == 0xE0) {
      len = 3, lo = 0xA0;
    } else if (in(b0, 0xE1, 0xEC) || in(b0, 0xEE, 0xEF)) {
      len = 3;
    } else if (b0 == 0xED) {
      len = 3, hi = 0x9F;
    } else if (b0 == 0xF0) {
      len = 4, lo = 0x90;
    } else if (in(b0, 0xF1, 0xF3)) {
      len = 4;
    } else if (b0 == 0xF4) {
      len = 4, hi = 0x8F;
    } else {
      return false;
    }
    if (n - i < len) return false;
    if (!in(static_cast<unsigned char>(s[i + 1]), lo, hi)) return false;
    for (std::size_t k = 2; k < len; ++k) {
      if (!in(static_cast<unsigned char>(s[i + k]), 0x80, 0xBF)) return false;
    }
    i += len;
  }
  return true;
}

// The identity of a path prefix in check_tree's table: each segment length-prefixed, so that
// segments holding any byte (NUL included) cannot run into each other.
void append_segment(std::string& id, const std::string& segment) {
  id += std::to_string(segment.size());
  id += ':';
  id += segment;
}

struct NodeState {
  bool scalar = false;
  bool container = false;
  bool appended = false;  // has "[]" children
  bool named = false;     // has named or indexed children
};

}  // namespace

bool is_index(std::string_view segment) noexcept {
  if (segment.empty() || segment.size() > 9) return false;
  if (segment.size() > 1 && segment.front() == '0') return false;
  for (char c : segment) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Result<std::vector<std::string>> split_key(std::string_view key) {
  const std::size_t first = key.find('[');
  const std::string_view name = key.substr(0, first);
  if (name.empty()) return refuse("empty parameter name");
  if (name.find(']') != std::string_view::npos) return refuse("']' in parameter name '" + std::string(key) + "'");
  std::vector<std::string> path{std::string(name)};
  std::size_t at = first;
  while (at < key.size()) {
    if (key[at] != '[') return refuse("text after ']' in '" + std::string(key) + "'");
    const std::size_t close = key.find_first_of("[]", at + 1);
    if (close == std::string_view::npos || key[close] != ']') {
      return refuse("unbalanced '[' in '" + std::string(key) + "'");
    }
    path.emplace_back(key.substr(at + 1, close - at - 1));
    at = close + 1;
  }
  return path;
}

Result<Pairs> decode(std::string_view text) {
  Pairs out;
  if (text.empty()) return out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t amp = text.find('&', start);
    const std::size_t end = amp == std::string_view::npos ? text.size() : amp;
    const std::string_view raw = text.substr(start, end - start);
    if (raw.empty()) return refuse("empty pair (doubled or trailing '&')");
    const std::size_t eq = raw.find('=');
    if (eq == std::string_view::npos) return refuse("pair without '='");
    auto key = unescape(raw.substr(0, eq));
    if (!key) return fail(key.error());
    auto value = unescape(raw.substr(eq + 1));
    if (!value) return fail(value.error());
    if (!well_formed_utf8(*key) || !well_formed_utf8(*value)) return refuse("not valid UTF-8");
    auto path = split_key(*key);
    if (!path) return fail(path.error());
    out.push_back(Pair{std::move(*key), std::move(*path), std::move(*value)});
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

Status check_tree(const Pairs& pairs) {
  std::map<std::string, NodeState> nodes;
  for (const Pair& p : pairs) {
    std::string id;
    for (std::size_t i = 0; i < p.path.size(); ++i) {
      const bool last = i + 1 == p.path.size();
      if (i > 0 && p.path[i].empty()) {
        // "[]": append to the parent (already marked as a container below).
        if (!last) return refuse("'[]' must be the last segment in '" + p.key + "'");
        break;
      }
      append_segment(id, p.path[i]);
      NodeState& node = nodes[id];
      if (last) {
        if (node.container) return refuse("'" + p.key + "' is both a value and an object");
        if (node.scalar) return refuse("'" + p.key + "' is given twice");
        node.scalar = true;
        break;
      }
      if (node.scalar) return refuse("'" + p.key + "' nests under a value");
      node.container = true;
      if (p.path[i + 1].empty()) {
        node.appended = true;
      } else {
        node.named = true;
      }
      if (node.appended && node.named) return refuse("'" + p.key + "' mixes '[]' with indexed or named keys");
    }
  }
  return ok();
}

Result<Pairs> decode_strict(std::string_view text) {
  auto pairs = decode(text);
  if (!pairs) return pairs;
  if (auto tree = check_tree(*pairs); !tree) return fail(tree.error());
  return pairs;
}

}  // namespace till::stripesim::form
