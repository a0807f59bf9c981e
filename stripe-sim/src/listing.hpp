#pragma once
// Internal: list pages as Stripe answers GET /v1/<objects> (limit, starting_after,
// created[gt|gte|lt|lte]) and two JSON helpers shared by the renderers and endpoints.

#include <algorithm>
#include <string>
#include <vector>

#include "validate.hpp"

namespace till::stripesim {

// The account's rows, newest first (by creation sequence), as every Stripe list is ordered.
template <class T>
std::vector<const T*> newest_first(const Table<T>& m, const std::string& account) {
  std::vector<const T*> out;
  for (const auto& [id, obj] : m) {
    if (obj.account == account) out.push_back(&obj);
  }
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->seq > b->seq; });
  return out;
}

// A list page: limit (1..100, default 10), starting_after, and created[gt|gte|lt|lte] (or
// created=N) for objects that have a creation time.
template <class T, class Render>
Out<Json> list_page(const Ctx& ctx, std::vector<const T*> items, Render render) {
  if constexpr (requires(const T& x) { x.created; }) {
    static constexpr std::pair<std::string_view, int> kOps[] = {
        {"created", 0}, {"created[gt]", 1}, {"created[gte]", 2}, {"created[lt]", 3}, {"created[lte]", 4}};
    for (const auto& [name, op] : kOps) {
      if (!ctx.params.has(name)) continue;
      auto bound = parse_int(ctx.params, name);
      if (!bound) return tl::unexpected(bound.error());
      const std::int64_t b = *bound;
      std::erase_if(items, [&, op = op](const T* x) {
        switch (op) {
          case 0:
            return x->created != b;
          case 1:
            return x->created <= b;
          case 2:
            return x->created < b;
          case 3:
            return x->created >= b;
          default:
            return x->created > b;
        }
      });
    }
  }
  std::int64_t limit = 10;
  if (ctx.params.has("limit")) {
    auto l = parse_int(ctx.params, "limit");
    if (!l) return tl::unexpected(l.error());
    if (*l < 1 || *l > 100) return invalid("limit must be between 1 and 100", "limit");
    limit = *l;
  }
  std::size_t start = 0;
  if (const std::string* after = ctx.params.get("starting_after")) {
    auto it = std::find_if(items.begin(), items.end(), [&](const T* x) { return x->id == *after; });
    if (it == items.end()) return invalid("No such object: '" + *after + "'", "starting_after");
    start = static_cast<std::size_t>(it - items.begin()) + 1;
  }
  Json data = Json::array();
  std::size_t i = start;
  for (; i < items.size() && data.size() < static_cast<std::size_t>(limit); ++i) {
    data.push_back(render(*items[i]));
  }
  return Json{
      {"object", "list"},
      {"data", data},
      {"has_more", i < items.size()},
      {"url",
       "/v1/" + ctx.segments.front() +
           (ctx.segments.size() > 1 && ctx.segments.front() == "terminal" ? "/" + ctx.segments[1] : "")}};
}

inline Json optional_int(const std::optional<std::int64_t>& v) { return v ? Json(*v) : Json(nullptr); }
inline Json string_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

}  // namespace till::stripesim
