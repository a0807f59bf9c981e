// Listing and searching PaymentIntents: GET /v1/payment_intents and
// GET /v1/payment_intents/search?query=metadata['k']:'v' [AND status:'x'] [AND amount:1234].

#include <algorithm>

#include "handlers.hpp"

namespace till::stripesim {

namespace {

struct Clause {
  std::string field, key, value;
};

void skip_spaces(std::string_view& rest) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
}

// The field part of one clause: metadata['key'] (either quote) or one of the plain fields.
Out<void> read_field(std::string_view& rest, const std::string& query, Clause& c) {
  if (rest.starts_with("metadata[")) {
    rest.remove_prefix(9);
    const char quote = rest.empty() ? '\0' : rest.front();
    if (quote != '\'' && quote != '"') return invalid("Invalid search query: " + query, "query");
    const auto end = rest.find(quote, 1);
    if (end == std::string_view::npos || rest.substr(end + 1, 2) != "]:") {
      return invalid("Invalid search query: " + query, "query");
    }
    c.field = "metadata";
    c.key = std::string(rest.substr(1, end - 1));
    rest.remove_prefix(end + 3);
    return {};
  }
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos) return invalid("Invalid search query: " + query, "query");
  c.field = std::string(rest.substr(0, colon));
  if (c.field != "status" && c.field != "amount" && c.field != "currency") {
    return invalid("Field '" + c.field + "' is not supported by this simulator's search.", "query");
  }
  rest.remove_prefix(colon + 1);
  return {};
}

// The value part: quoted (a backslash escapes the next character, as in Stripe's query
// language) or a bare word up to the next space.
Out<void> read_value(std::string_view& rest, const std::string& query, Clause& c) {
  if (rest.empty() || (rest.front() != '\'' && rest.front() != '"')) {
    const auto sp = rest.find(' ');
    c.value = std::string(rest.substr(0, sp));
    rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp);
    return {};
  }
  const char quote = rest.front();
  for (std::size_t i = 1; i < rest.size(); ++i) {
    if (rest[i] == '\\' && i + 1 < rest.size()) {
      c.value.push_back(rest[++i]);
    } else if (rest[i] == quote) {
      rest.remove_prefix(i + 1);
      return {};
    } else {
      c.value.push_back(rest[i]);
    }
  }
  return invalid("Invalid search query: " + query, "query");
}

Out<std::vector<Clause>> parse_query(const std::string& query) {
  std::vector<Clause> clauses;
  std::string_view rest = query;
  while (!rest.empty()) {
    skip_spaces(rest);
    Clause c;
    if (auto f = read_field(rest, query, c); !f) return tl::unexpected(f.error());
    if (auto v = read_value(rest, query, c); !v) return tl::unexpected(v.error());
    clauses.push_back(std::move(c));
    skip_spaces(rest);
    if (rest.empty()) break;
    if (!rest.starts_with("AND ")) {
      return invalid("Only AND is supported between search clauses by this simulator.", "query");
    }
    rest.remove_prefix(4);
  }
  return clauses;
}

bool matches(const PaymentIntent& pi, const Clause& c) {
  if (c.field == "metadata") {
    auto it = pi.metadata.find(c.key);
    return it != pi.metadata.end() && it->second == c.value;
  }
  if (c.field == "status") return pi.status == c.value;
  if (c.field == "currency") return pi.currency == c.value;
  return std::to_string(pi.amount) == c.value;
}

}  // namespace

// "data.latest_charge" on a list is "latest_charge" on each item.
static std::vector<std::string> item_expand(const std::vector<std::string>& expand) {
  std::vector<std::string> out;
  for (const std::string& e : expand) out.push_back(e.substr(5));
  return out;
}

Out<Json> Handlers::list_pis() {
  if (auto a = allow_only(ctx.params, {"limit", "starting_after", "ending_before", "created", "customer"}); !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), true, kPiExpandable); !x) return tl::unexpected(x.error());
  auto items = newest_first(s.payment_intents, ctx.account);
  if (ctx.params.has("customer")) items.clear();  // the simulator's PaymentIntents have no customer
  const auto each = item_expand(expand());
  return list_page(ctx, items, [&](const PaymentIntent& pi) { return s.render(pi, each); });
}

Out<Json> Handlers::search_pis() {
  if (auto a = allow_only(ctx.params, {"query", "limit", "page"}); !a) return tl::unexpected(a.error());
  if (auto x = allow_expand(expand(), true, kPiExpandable); !x) return tl::unexpected(x.error());
  auto q = required(ctx.params, "query");
  if (!q) return tl::unexpected(q.error());
  auto clauses = parse_query(*q);
  if (!clauses) return tl::unexpected(clauses.error());
  std::vector<const PaymentIntent*> hits;
  for (const PaymentIntent* pi : newest_first(s.payment_intents, ctx.account)) {
    if (std::all_of(clauses->begin(), clauses->end(), [&](const Clause& c) { return matches(*pi, c); })) {
      hits.push_back(pi);
    }
  }
  // The page cursor is opaque to clients; here it is the id of the last hit of the page before.
  std::size_t start = 0;
  if (const std::string* cursor = ctx.params.get("page")) {
    auto it = std::find_if(hits.begin(), hits.end(), [&](const PaymentIntent* pi) { return "page_" + pi->id == *cursor; });
    if (it == hits.end()) return invalid("Invalid page: " + *cursor, "page");
    start = static_cast<std::size_t>(it - hits.begin()) + 1;
  }
  hits.erase(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(start));
  const auto each = item_expand(expand());
  auto page = list_page(ctx, hits, [&](const PaymentIntent& pi) { return s.render(pi, each); });
  if (!page) return page;
  (*page)["object"] = "search_result";
  const Json& data = (*page)["data"];
  (*page)["next_page"] =
      (*page)["has_more"].get<bool>() ? Json("page_" + data.back()["id"].get<std::string>()) : Json(nullptr);
  (*page)["url"] = "/v1/payment_intents/search";
  return page;
}

}  // namespace till::stripesim
