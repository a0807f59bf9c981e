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
  // Every line Till logs passes through here, so the scan copies runs of text that cannot start
  // a secret in bulk and tries the prefixes only where one could begin (the first characters of
  // kStarts). The result is the same as trying every prefix at every position.
  static constexpr auto kMayStart = [] {
    std::array<bool, 256> t{};
    for (auto s : kStarts) t[static_cast<unsigned char>(s.front())] = true;
    return t;
  }();
  const auto may_start = [](char c) { return kMayStart[static_cast<unsigned char>(c)]; };
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t run = i;
    while (run < text.size() && !may_start(text[run])) ++run;
    out.append(text, i, run - i);
    i = run;
    if (i >= text.size()) break;
    bool matched = false;
    for (auto s : kStarts) {
      if (s.front() != text[i] || text.substr(i, s.size()) != s) continue;
      if (s == "_secret_") {
        // A PaymentIntent client secret "pi_123_secret_abc": mask what follows "_secret_".
        std::size_t end = i + s.size();
        while (end < text.size() && is_token_char(text[end])) ++end;
        out += "_secret_****";
        i = end;
        matched = true;
        break;
      }
      // Only at a token boundary, so "desk_test_x" is left alone.
      if (i > 0 && is_token_char(text[i - 1])) continue;
      std::size_t end = i + s.size();
      while (end < text.size() && is_token_char(text[end])) ++end;
      out += Secret::mask_secret(text.substr(i, end - i));
      i = end;
      matched = true;
      break;
    }
    if (!matched) out.push_back(text[i++]);
  }
  return out;
}

}  // namespace till
