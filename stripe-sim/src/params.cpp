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

Out<std::int64_t> parse_int(const Params& p, std::string_view key) {
  const std::string* s = p.get(key);
  std::int64_t v = 0;
  if (!s || s->empty()) {
    return invalid("Missing required param: " + std::string(key) + ".", std::string(key), "parameter_missing");
  }
  const auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc{} || ptr != s->data() + s->size()) {
    return invalid("Invalid integer: " + *s, std::string(key), "parameter_invalid_integer");
  }
  return v;
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
