// The URL table: which handler answers which method and path under /v1. Reads use the view_*
// lookups, so that a GET never marks a row for the journal.

#include "handlers.hpp"

namespace till::stripesim {

namespace {

struct Route {
  Handlers& h;
  const Ctx& ctx;
  const std::vector<std::string>& seg = ctx.segments;
  const std::string& m = ctx.method;
  const std::size_t n = ctx.segments.size();

  bool is(std::size_t i, std::string_view v) const { return n > i && seg[i] == v; }

  std::optional<Out<Json>> payment_intents() {
    if (n == 1 && m == "POST") return h.create_pi();
    if (n == 1 && m == "GET") return h.list_pis();
    if (n == 2 && seg[1] == "search" && m == "GET") return h.search_pis();
    if (n == 2 && m == "GET") {
      if (auto a = allow_only(ctx.params, {"client_secret"}); !a) return tl::unexpected(a.error());
      if (auto x = allow_expand(h.expand(), false, kPiExpandable); !x) return tl::unexpected(x.error());
      auto pi = h.view_pi(seg[1]);
      if (!pi) return tl::unexpected(pi.error());
      return h.s.render(**pi, h.expand());
    }
    if (m != "POST" || n < 2 || n > 3) return std::nullopt;
    if (n == 3 && seg[2] != "confirm" && seg[2] != "capture" && seg[2] != "cancel") return std::nullopt;
    auto pi = h.find_pi(seg[1]);
    if (!pi) return tl::unexpected(pi.error());
    if (n == 2) return h.update_pi(**pi);
    if (seg[2] == "confirm") return h.confirm_pi(**pi);
    if (seg[2] == "capture") return h.capture_pi(**pi);
    return h.cancel_pi(**pi);
  }

  std::optional<Out<Json>> refunds_and_charges() {
    if (is(0, "refunds")) {
      if (n == 1 && m == "POST") return h.create_refund();
      if (n == 1 && m == "GET") return h.list_refunds();
      if (n == 2 && m == "GET") return h.get_refund(seg[1]);
    }
    if (is(0, "charges") && n == 2 && m == "GET") return h.get_charge(seg[1]);
    return std::nullopt;
  }

  std::optional<Out<Json>> terminal() {
    if (is(1, "locations")) {
      if (n == 2 && m == "POST") return h.create_location();
      if (n == 2 && m == "GET") return h.list_locations();
      if (n == 3 && m == "GET") return h.get_location(seg[2]);
      return std::nullopt;
    }
    if (!is(1, "readers")) return std::nullopt;
    if (n == 2 && m == "POST") return h.create_reader();
    if (n == 2 && m == "GET") return h.list_readers();
    if (n == 3 && m == "GET") {
      if (auto a = allow_only(ctx.params, {}); !a) return tl::unexpected(a.error());
      if (auto x = allow_expand(h.expand(), false, kReaderExpandable); !x) return tl::unexpected(x.error());
      auto r = h.view_reader(seg[2]);
      if (!r) return tl::unexpected(r.error());
      return h.s.render(**r);
    }
    if (n != 4 || m != "POST") return std::nullopt;
    using Action = Out<Json> (Handlers::*)(Reader&);
    Action action = nullptr;
    if (seg[3] == "process_payment_intent") action = &Handlers::process_payment_intent;
    if (seg[3] == "set_reader_display") action = &Handlers::set_reader_display;
    if (seg[3] == "refund_payment") action = &Handlers::refund_payment;
    if (seg[3] == "cancel_action") action = &Handlers::cancel_action;
    if (!action) return std::nullopt;
    auto r = h.find_reader(seg[2]);
    if (!r) return tl::unexpected(r.error());
    return (h.*action)(**r);
  }

  std::optional<Out<Json>> test_helpers() {
    if (!(is(1, "terminal") && is(2, "readers") && n == 5 && seg[4] == "present_payment_method" && m == "POST")) {
      return std::nullopt;
    }
    if (ctx.livemode) return invalid("Test helpers are only available in test mode.");
    auto r = h.find_reader(seg[3]);
    if (!r) return tl::unexpected(r.error());
    return h.present_payment_method(**r);
  }

  std::optional<Out<Json>> dispatch() {
    if (is(0, "payment_intents")) return payment_intents();
    if (is(0, "refunds") || is(0, "charges")) return refunds_and_charges();
    if (is(0, "terminal")) return terminal();
    if (is(0, "test_helpers")) return test_helpers();
    if (is(0, "events") && m == "GET") {
      if (n == 1) return h.list_events();
      if (n == 2) return h.get_event(seg[1]);
    }
    if (is(0, "account") && n == 1 && m == "GET") return h.get_account();
    return std::nullopt;
  }
};

}  // namespace

Out<Json> Handlers::get_account() {
  if (auto a = allow_only(ctx.params, {}); !a) return tl::unexpected(a.error());
  if (auto x = allow_expand(expand(), false, kNothingExpandable); !x) return tl::unexpected(x.error());
  return Json{{"id", ctx.account},
              {"object", "account"},
              {"business_profile", {{"name", nullptr}, {"url", nullptr}, {"mcc", nullptr}}},
              {"capabilities", {{"card_payments", "active"}, {"transfers", "active"}}},
              {"charges_enabled", true},
              {"controller", {{"type", ctx.connected ? "application" : "account"}}},
              {"country", "US"},
              {"default_currency", "usd"},
              {"details_submitted", true},
              {"email", nullptr},
              {"metadata", Json::object()},
              {"payouts_enabled", true},
              {"type", ctx.connected ? "standard" : "platform"}};
}

Out<Json> Api::Impl::route(Ctx& ctx) {
  Handlers h{*this, ctx};
  Route r{h, ctx};
  if (auto answer = r.dispatch()) return std::move(*answer);
  ApiError e;
  e.status = 404;
  e.message = "Unrecognized request URL (" + ctx.method + ": " + ctx.path + ").";
  return tl::unexpected(e);
}

}  // namespace till::stripesim
