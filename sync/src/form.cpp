#include "till/sync/form.hpp"

#include <algorithm>
#include <charconv>
#include <map>

namespace till::sync {

FormValue FormValue::object(std::vector<FormField> fields) {
  FormValue v;
  v.type_ = Type::Object;
  v.fields_ = std::move(fields);
  return v;
}

FormValue FormValue::array(std::vector<FormValue> items) {
  FormValue v;
  v.type_ = Type::Array;
  v.items_ = std::move(items);
  return v;
}

bool FormValue::operator==(const FormValue& other) const {
  if (type_ != other.type_) return false;
  switch (type_) {
    case Type::Scalar: return scalar_ == other.scalar_;
    case Type::Object: return fields_ == other.fields_;
    case Type::Array: return items_ == other.items_;
  }
  return false;
}

const FormValue* FormParams::find(std::string_view key) const {
  for (const auto& f : fields_) {
    if (f.key == key) return &f.value;
  }
  return nullptr;
}

namespace {

void flatten_into(const std::string& prefix, const FormValue& value, FlatParams& out) {
  switch (value.type()) {
    case FormValue::Type::Scalar: out.emplace_back(prefix, value.scalar()); return;
    case FormValue::Type::Object:
      for (const auto& f : value.fields()) flatten_into(prefix + "[" + f.key + "]", f.value, out);
      return;
    case FormValue::Type::Array:
      for (std::size_t i = 0; i < value.items().size(); ++i) {
        flatten_into(prefix + "[" + std::to_string(i) + "]", value.items()[i], out);
      }
      return;
  }
}

constexpr bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// What percent_encode_into() copies as it is: unreserved characters, and brackets in keys.
struct CopyTable {
  bool plain[256] = {};
  bool key[256] = {};
  constexpr CopyTable() {
    for (int c = 0; c < 256; ++c) {
      plain[c] = is_unreserved(static_cast<unsigned char>(c));
      key[c] = plain[c] || c == '[' || c == ']';
    }
  }
};
constexpr CopyTable kCopy;

void percent_encode_into(std::string_view text, bool keep_brackets, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const bool* copy = keep_brackets ? kCopy.key : kCopy.plain;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t run = i;
    while (run < text.size() && copy[static_cast<unsigned char>(text[run])]) ++run;
    out.append(text, i, run - i);
    if (run >= text.size()) break;
    const auto c = static_cast<unsigned char>(text[run]);
    out.push_back('%');
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0F]);
    i = run + 1;
  }
}

// encode(FormParams) without the flattened copy: the key path grows and shrinks in `key` as the
// walk goes down and up; the pairs come out in flatten()'s order with the same bytes.
void encode_into(std::string& key, const FormValue& value, std::string& out) {
  switch (value.type()) {
    case FormValue::Type::Scalar:
      if (!out.empty()) out.push_back('&');
      percent_encode_into(key, true, out);
      out.push_back('=');
      percent_encode_into(value.scalar(), false, out);
      return;
    case FormValue::Type::Object:
      for (const auto& f : value.fields()) {
        const std::size_t n = key.size();
        key += '[';
        key += f.key;
        key += ']';
        encode_into(key, f.value, out);
        key.resize(n);
      }
      return;
    case FormValue::Type::Array:
      for (std::size_t i = 0; i < value.items().size(); ++i) {
        const std::size_t n = key.size();
        key += '[';
        key += std::to_string(i);
        key += ']';
        encode_into(key, value.items()[i], out);
        key.resize(n);
      }
      return;
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) {
        return fail(ErrorKind::InvalidArgument, "form: truncated percent escape");
      }
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return fail(ErrorKind::InvalidArgument, "form: invalid percent escape");
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// RFC 3629: rejects overlong forms, surrogates and code points above U+10FFFF.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool is_index(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A mutable tree used while nesting; converted to FormValue at the end.
struct Node {
  bool is_scalar = false;
  bool is_append_array = false;  // built only from "[]" segments
  std::string scalar;
  // Children in first-seen order, as parallel vectors: a vector of the (still incomplete) Node
  // is allowed, a vector of pair<string, Node> is not.
  std::vector<std::string> child_keys;
  std::vector<Node> child_nodes;
  std::vector<Node> appended;

  bool has_children() const { return !child_keys.empty(); }
  Node* child(const std::string& key);
};

Node* Node::child(const std::string& key) {
  for (std::size_t i = 0; i < child_keys.size(); ++i) {
    if (child_keys[i] == key) return &child_nodes[i];
  }
  child_keys.push_back(key);
  child_nodes.emplace_back();
  return &child_nodes.back();
}

FormValue to_value(const Node& node) {
  if (node.is_scalar) return FormValue(node.scalar);
  if (node.is_append_array) {
    std::vector<FormValue> items;
    items.reserve(node.appended.size());
    for (const auto& n : node.appended) items.push_back(to_value(n));
    return FormValue::array(std::move(items));
  }
  const bool all_indices = node.has_children() &&
                           std::all_of(node.child_keys.begin(), node.child_keys.end(), is_index);
  if (all_indices) {
    std::vector<const Node*> slots(node.child_keys.size(), nullptr);
    bool dense = true;
    for (std::size_t i = 0; i < node.child_keys.size(); ++i) {
      const auto idx = static_cast<std::size_t>(std::stoul(node.child_keys[i]));
      if (idx >= slots.size() || slots[idx] != nullptr) {
        dense = false;
        break;
      }
      slots[idx] = &node.child_nodes[i];
    }
    if (dense) {
      std::vector<FormValue> items;
      items.reserve(slots.size());
      for (const Node* n : slots) items.push_back(to_value(*n));
      return FormValue::array(std::move(items));
    }
  }
  std::vector<FormField> fields;
  fields.reserve(node.child_keys.size());
  for (std::size_t i = 0; i < node.child_keys.size(); ++i) {
    fields.push_back(FormField{node.child_keys[i], to_value(node.child_nodes[i])});
  }
  return FormValue::object(std::move(fields));
}

}  // namespace

FlatParams flatten(const FormParams& params) {
  FlatParams out;
  for (const auto& f : params.fields()) flatten_into(f.key, f.value, out);
  return out;
}

std::string percent_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  percent_encode_into(text, false, out);
  return out;
}

std::string encode(const FlatParams& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    percent_encode_into(k, true, out);
    out.push_back('=');
    percent_encode_into(v, false, out);
  }
  return out;
}

std::string encode(const FormParams& params) {
  std::string out;
  out.reserve(256);
  std::string key;
  for (const auto& f : params.fields()) {
    key = f.key;
    encode_into(key, f.value, out);
  }
  return out;
}

FormWriter& FormWriter::add(std::string_view key, std::string_view scalar) {
  if (!out_.empty()) out_.push_back('&');
  percent_encode_into(key, true, out_);
  out_.push_back('=');
  percent_encode_into(scalar, false, out_);
  return *this;
}

FormWriter& FormWriter::add(std::string_view key, std::int64_t n) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  (void)ec;
  return add(key, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

FormWriter& FormWriter::add_value(std::string_view key, const FormValue& value) {
  key_.assign(key);
  encode_into(key_, value, out_);
  return *this;
}

Result<std::vector<std::string>> parse_key(std::string_view key) {
  std::vector<std::string> path;
  const auto open = key.find('[');
  const std::string_view base = key.substr(0, open);
  if (base.empty()) return fail(ErrorKind::InvalidArgument, "form: empty parameter name");
  if (base.find(']') != std::string_view::npos) {
    return fail(ErrorKind::InvalidArgument, "form: stray ']' in parameter name");
  }
  path.emplace_back(base);
  std::size_t i = open;
  while (i != std::string_view::npos && i < key.size()) {
    if (key[i] != '[') {
      return fail(ErrorKind::InvalidArgument, "form: text after ']' in parameter name");
    }
    const auto close = key.find(']', i + 1);
    if (close == std::string_view::npos) {
      return fail(ErrorKind::InvalidArgument, "form: unclosed '[' in parameter name");
    }
    const std::string_view seg = key.substr(i + 1, close - i - 1);
    if (seg.find('[') != std::string_view::npos) {
      return fail(ErrorKind::InvalidArgument, "form: '[' inside a bracketed segment");
    }
    path.emplace_back(seg);
    i = close + 1;
  }
  return path;
}

Result<FlatParams> decode(std::string_view body) {
  FlatParams out;
  if (body.empty()) return out;
  std::size_t start = 0;
  while (true) {
    const auto amp = body.find('&', start);
    const std::string_view pair =
        body.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (pair.empty()) return fail(ErrorKind::InvalidArgument, "form: empty pair");
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) return fail(ErrorKind::InvalidArgument, "form: pair without '='");
    auto key = percent_decode(pair.substr(0, eq));
    if (!key) return fail(key.error());
    auto value = percent_decode(pair.substr(eq + 1));
    if (!value) return fail(value.error());
    if (key->empty()) return fail(ErrorKind::InvalidArgument, "form: empty parameter name");
    if (!valid_utf8(*key) || !valid_utf8(*value)) {
      return fail(ErrorKind::InvalidArgument, "form: parameter is not valid UTF-8");
    }
    if (auto path = parse_key(*key); !path) return fail(path.error());
    out.emplace_back(std::move(*key), std::move(*value));
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

Result<FormParams> nest(const FlatParams& flat) {
  Node root;
  for (const auto& [key, value] : flat) {
    auto path = parse_key(key);
    if (!path) return fail(path.error());
    Node* node = &root;
    for (std::size_t i = 0; i < path->size(); ++i) {
      const std::string& seg = (*path)[i];
      const bool last = i + 1 == path->size();
      if (node->is_scalar) {
        return fail(ErrorKind::InvalidArgument, "form: '" + key + "' nests under a scalar");
      }
      if (seg.empty() && i > 0) {
        if (!last) return fail(ErrorKind::InvalidArgument, "form: '[]' must be the last segment");
        if (node->has_children()) {
          return fail(ErrorKind::InvalidArgument, "form: '" + key + "' mixes '[]' with named keys");
        }
        node->is_append_array = true;
        Node item;
        item.is_scalar = true;
        item.scalar = value;
        node->appended.push_back(std::move(item));
        node = nullptr;
        break;
      }
      if (node->is_append_array) {
        return fail(ErrorKind::InvalidArgument, "form: '" + key + "' mixes '[]' with named keys");
      }
      Node* next = node->child(seg);
      if (last) {
        if (next->is_scalar || next->has_children() || next->is_append_array) {
          return fail(ErrorKind::InvalidArgument, "form: '" + key + "' given twice");
        }
        next->is_scalar = true;
        next->scalar = value;
      }
      node = next;
    }
  }
  FormParams out;
  for (std::size_t i = 0; i < root.child_keys.size(); ++i) out.add(root.child_keys[i], to_value(root.child_nodes[i]));
  return out;
}

}  // namespace till::sync
