#include "till/base/secret.hpp"

#include <array>
#include <cctype>

namespace till {

Secret::~Secret() {
  // Best effort: overwrite before the allocator gets the buffer back.
  volatile char* p = value_.data();
  for (std::size_t i = 0; i < value_.size(); ++i) p[i] = 0;
}

std::string Secret::mask_secret(std::string_view value) {
  if (value.size() < 12) return "****";
  // Keep a known scheme prefix ("sk_test_", "rk_live_", "whsec_", "pst_test_") so people can
  // tell which key is configured, and the last four characters.
  std::size_t prefix = 0;
  static constexpr std::array<std::string_view, 9> kPrefixes = {
      "sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_", "whsec_",
      "pst_test_", "pst_live_"};
  for (auto p : kPrefixes) {
    if (value.substr(0, p.size()) == p) {
      prefix = p.size();
      break;
    }
  }
  std::string out(value.substr(0, prefix));
  out += "...";
  out += value.substr(value.size() - 4);
  return out;
}

namespace {
bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}
}  // namespace

std::string redact_secrets(std::string_view text) {
  static constexpr std::array<std::string_view, 8> kStarts = {
      "sk_test_", "sk_live_", "rk_test_", "rk_live_", "whsec_", "pst_test_", "pst_live_", "_secret_"};
  // Every line Till logs passes through here, so the scan leans on one fact: each prefix has a
  // '_' within its first six characters (at offset 0, 2, 3 or 5). A secret can only start at most
  // five characters before the next '_', so the text up to there is copied in bulk and the
  // prefixes are tried only on the few positions just before each '_'. The result is the same as
  // trying every prefix at every position (secret_test.cpp checks it).
  const auto match_at = [&](std::size_t i, std::string& out) -> std::size_t {
    for (auto s : kStarts) {
      if (s.front() != text[i] || text.substr(i, s.size()) != s) continue;
      if (s == "_secret_") {
        // A PaymentIntent client secret "pi_123_secret_abc": mask what follows "_secret_".
        std::size_t end = i + s.size();
        while (end < text.size() && is_token_char(text[end])) ++end;
        out += "_secret_****";
        return end;
      }
      // Only at a token boundary, so "desk_test_x" is left alone.
      if (i > 0 && is_token_char(text[i - 1])) continue;
      std::size_t end = i + s.size();
      while (end < text.size() && is_token_char(text[end])) ++end;
      out += Secret::mask_secret(text.substr(i, end - i));
      return end;
    }
    return 0;  // no match (a match always ends past i)
  };
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t underscore = text.find('_', i);
    if (underscore == std::string_view::npos) {
      out.append(text, i, std::string_view::npos);
      break;
    }
    const std::size_t from = underscore >= i + 5 ? underscore - 5 : i;
    out.append(text, i, from - i);
    i = from;
    while (i <= underscore) {
      const char c = text[i];
      if (c != 's' && c != 'r' && c != 'w' && c != 'p' && c != '_') {  // no prefix starts so
        out.push_back(c);
        ++i;
        continue;
      }
      if (const std::size_t end = match_at(i, out); end > i) {
        i = end;  // past the underscore: every prefix reaches beyond its '_'
        break;
      }
      out.push_back(text[i++]);
    }
  }
  return out;
}

bool has_secret(std::string_view text) {
  // Each prefix has its first '_' at a fixed offset: 0 (_secret_), 2 (sk_, rk_), 3 (pst_) or 5
  // (whsec_). So every match starts at one of those offsets before some '_' of the text.
  const auto at = [&](std::size_t start, std::string_view prefix) {
    return text.substr(start, prefix.size()) == prefix;
  };
  const auto boundary = [&](std::size_t start) { return start == 0 || !is_token_char(text[start - 1]); };
  for (std::size_t u = text.find('_'); u != std::string_view::npos; u = text.find('_', u + 1)) {
    if (at(u, "_secret_")) return true;
    if (u >= 2 && boundary(u - 2) &&
        (at(u - 2, "sk_test_") || at(u - 2, "sk_live_") || at(u - 2, "rk_test_") || at(u - 2, "rk_live_"))) {
      return true;
    }
    if (u >= 3 && boundary(u - 3) && (at(u - 3, "pst_test_") || at(u - 3, "pst_live_"))) return true;
    if (u >= 5 && boundary(u - 5) && at(u - 5, "whsec_")) return true;
  }
  return false;
}

}  // namespace till
