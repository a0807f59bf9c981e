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

// A list page: limit (1..100, default 10), starting_after or ending_before (never both), and
// created[gt|gte|lt|lte] (or created=N) for objects that have a creation time. With
// ending_before the walk goes backwards, and has_more says whether more lie further back.
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
    if (*l < 1) return invalid("This value must be greater than or equal to 1.", "limit", "parameter_invalid_integer");
    if (*l > 100) return invalid("This value must be less than or equal to 100.", "limit", "parameter_invalid_integer");
    limit = *l;
  }
  if (auto x = exclusive(ctx.params, {"starting_after", "ending_before"}); !x) return tl::unexpected(x.error());
  auto position = [&](const std::string& id, const char* param) -> Out<std::size_t> {
    auto it = std::find_if(items.begin(), items.end(), [&](const T* x) { return x->id == id; });
    if (it == items.end()) return invalid("No such object: '" + id + "'", param, "resource_missing");
    return static_cast<std::size_t>(it - items.begin());
  };
  // starting_after: the page after the cursor; ending_before: the page just before it.
  std::size_t start = 0;
  if (const std::string* after = ctx.params.get("starting_after")) {
    auto at = position(*after, "starting_after");
    if (!at) return tl::unexpected(at.error());
    start = *at + 1;
  } else if (const std::string* before = ctx.params.get("ending_before")) {
    auto at = position(*before, "ending_before");
    if (!at) return tl::unexpected(at.error());
    start = *at > static_cast<std::size_t>(limit) ? *at - static_cast<std::size_t>(limit) : 0;
    items.resize(*at);
  }
  Json data = Json::array();
  std::size_t i = start;
  for (; i < items.size() && data.size() < static_cast<std::size_t>(limit); ++i) {
    data.push_back(render(*items[i]));
  }
  return Json{
      {"object", "list"},
      {"data", data},
      {"has_more", ctx.params.has("ending_before") ? start > 0 : i < items.size()},
      {"url",
       "/v1/" + ctx.segments.front() +
           (ctx.segments.size() > 1 && ctx.segments.front() == "terminal" ? "/" + ctx.segments[1] : "")}};
}

inline Json optional_int(const std::optional<std::int64_t>& v) { return v ? Json(*v) : Json(nullptr); }
inline Json string_or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

}  // namespace till::stripesim
