// Params lookups over the decoded pairs and the parameter checks of validate.hpp.

#include <algorithm>
#include <charconv>

#include "validate.hpp"

namespace till::stripesim {

const std::string* Params::get(std::string_view key) const {
  for (const form::Pair& p : pairs_) {
    if (p.key == key) return &p.value;
  }
  return nullptr;
}

std::set<std::string> Params::top_level() const {
  std::set<std::string> out;
  for (const form::Pair& p : pairs_) out.insert(p.path.front());
  return out;
}

std::map<std::string, std::string> Params::children(std::string_view name, bool* nested) const {
  std::map<std::string, std::string> out;
  for (const form::Pair& p : pairs_) {
    if (p.path.front() != name || p.path.size() < 2) continue;
    if (p.path.size() > 2) {
      if (nested) *nested = true;
      continue;
    }
    out[p.path[1]] = p.value;
  }
  return out;
}

Out<std::vector<std::string>> Params::array(std::string_view name) const {
  std::map<std::size_t, std::string> indexed;
  std::vector<std::string> appended;
  const std::string param(name);
  for (const form::Pair& p : pairs_) {
    if (p.path.front() != name) continue;
    if (p.path.size() != 2) return invalid("Invalid array: " + p.key, param);
    const std::string& index = p.path[1];
    if (index.empty()) {
      appended.push_back(p.value);
      continue;
    }
    if (!form::is_index(index)) return invalid("Invalid array index in " + p.key, param);
    indexed[static_cast<std::size_t>(std::stoul(index))] = p.value;
  }
  if (!indexed.empty() && indexed.rbegin()->first + 1 != indexed.size()) {
    return invalid("Invalid array: the indices of " + param + " must be 0, 1, 2, ... without gaps", param);
  }
  std::vector<std::string> out;
  out.reserve(indexed.size() + appended.size());
  for (auto& [i, v] : indexed) out.push_back(v);
  out.insert(out.end(), appended.begin(), appended.end());
  return out;
}

std::string Params::fingerprint() const {
  std::vector<std::pair<std::string, std::string>> sorted;
  sorted.reserve(pairs_.size());
  for (const form::Pair& p : pairs_) sorted.emplace_back(p.key, p.value);
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [k, v] : sorted) {
    // Length-prefixed, so no key or value can imitate a separator.
    out += std::to_string(k.size()) + ':' + k + std::to_string(v.size()) + ':' + v + ';';
  }
  return out;
}

Out<std::string> required(const Params& p, std::string_view key) {
  const std::string* s = p.get(key);
  if (!s) return invalid("Missing required param: " + std::string(key) + ".", std::string(key), "parameter_missing");
  if (s->empty()) {
    return invalid("You passed an empty string for '" + std::string(key) +
                       "'. We assume empty values are an attempt to unset a parameter; however '" + std::string(key) +
                       "' cannot be unset. You should remove '" + std::string(key) +
                       "' from your request or supply a non-empty value.",
                   std::string(key), "parameter_invalid_empty");
  }
  return *s;
}

Out<std::int64_t> parse_int(const Params& p, std::string_view key) {
  auto text = required(p, key);
  if (!text) return tl::unexpected(text.error());
  const std::string* s = &*text;
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc{} || ptr != s->data() + s->size()) {
    return invalid("Invalid integer: " + *s, std::string(key), "parameter_invalid_integer");
  }
  return v;
}

Out<std::optional<std::string>> parse_enum(const Params& p, std::string_view key,
                                           std::initializer_list<std::string_view> allowed) {
  const std::string* s = p.get(key);
  if (!s) return std::optional<std::string>();
  if (std::find(allowed.begin(), allowed.end(), *s) != allowed.end()) return std::optional<std::string>(*s);
  std::string list;
  std::size_t i = 0;
  for (std::string_view a : allowed) {
    if (i > 0) list += allowed.size() > 2 ? ", " : " ";
    if (i + 1 == allowed.size() && allowed.size() > 1) list += "or ";
    list += a;
    ++i;
  }
  return invalid("Invalid " + std::string(key) + ": must be one of " + list, std::string(key));
}

namespace {

// "[line_items][0][amount]" matches "[line_items][#][amount]".
bool matches_suffix(const std::vector<std::string>& path, std::string_view pattern) {
  std::size_t i = 1;
  while (!pattern.empty()) {
    if (pattern.front() != '[' || i >= path.size()) return false;
    const auto close = pattern.find(']');
    const std::string_view seg = pattern.substr(1, close - 1);
    if (seg == "#" ? !form::is_index(path[i]) : seg != path[i]) return false;
    pattern.remove_prefix(close + 1);
    ++i;
  }
  return i == path.size();
}

}  // namespace

Out<void> allow_nested(const Params& p, std::string_view name, std::initializer_list<std::string_view> suffixes) {
  for (const form::Pair& pair : p.pairs()) {
    if (pair.path.front() != name) continue;
    const bool known = std::any_of(suffixes.begin(), suffixes.end(),
                                   [&](std::string_view s) { return matches_suffix(pair.path, s); });
    if (!known) return invalid("Received unknown parameter: " + pair.key, pair.key, "parameter_unknown");
  }
  return {};
}

Out<void> exclusive(const Params& p, std::initializer_list<std::string_view> names) {
  std::vector<std::string> given;
  const auto top = p.top_level();
  for (std::string_view n : names) {
    if (top.contains(std::string(n))) given.emplace_back(n);
  }
  if (given.size() < 2) return {};
  return invalid("You may only specify one of these parameters: " + given[0] + ", " + given[1] + ".", given[1],
                 "parameters_exclusive");
}

Out<void> allow_expand(const std::vector<std::string>& expand, bool list,
                       std::span<const std::string_view> expandable) {
  for (const std::string& e : expand) {
    std::string_view field = e;
    if (list) {
      if (!field.starts_with("data.")) return invalid("This property cannot be expanded (" + e + ").", "expand");
      field.remove_prefix(5);
    }
    field = field.substr(0, field.find('.'));
    if (std::find(expandable.begin(), expandable.end(), field) == expandable.end()) {
      return invalid("This property cannot be expanded (" + e + ").", "expand");
    }
  }
  return {};
}

Out<bool> parse_bool(const Params& p, std::string_view key) {
  const std::string* s = p.get(key);
  if (!s) return false;
  if (*s == "true") return true;
  if (*s == "false" || s->empty()) return false;
  return invalid("Invalid boolean: " + *s, std::string(key));
}

Out<void> allow_only(const Params& p, std::initializer_list<std::string_view> allowed) {
  for (const std::string& name : p.top_level()) {
    if (name == "expand") continue;
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return invalid("Received unknown parameter: " + name, name, "parameter_unknown");
    }
  }
  return {};
}

Out<void> apply_metadata(const Params& p, std::map<std::string, std::string>& metadata) {
  if (const std::string* whole = p.get("metadata")) {
    if (!whole->empty()) return invalid("Invalid metadata: must be an object", "metadata");
    metadata.clear();
  }
  bool nested = false;
  auto children = p.children("metadata", &nested);
  if (nested) return invalid("Metadata values must be strings, not objects.", "metadata");
  auto updated = metadata;
  for (auto& [k, v] : children) {
    if (k.empty() || k.size() > 40) {
      return invalid("Metadata keys can have up to 40 characters. Found key '" + k + "'.", "metadata[" + k + "]");
    }
    if (v.size() > 500) {
      return invalid("Metadata values can have up to 500 characters, but you passed in a value that is " +
                         std::to_string(v.size()) + " characters.",
                     "metadata[" + k + "]");
    }
    if (v.empty()) {
      updated.erase(k);
    } else {
      updated[k] = v;
    }
  }
  if (updated.size() > 50) {
    return invalid("You can have up to 50 metadata keys, but you specified " + std::to_string(updated.size()) + ".",
                   "metadata");
  }
  metadata = std::move(updated);
  return {};
}

}  // namespace till::stripesim
