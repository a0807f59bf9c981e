// Events (stripe.md section 9): one per state change, queued for webhook delivery, listed at
// GET /v1/events; and the work that happens between requests (deferred reader actions, expiry of
// uncaptured authorizations), which emits events too.

#include <algorithm>

#include "handlers.hpp"

namespace till::stripesim {

void Api::Impl::emit(const Ctx* ctx, const std::string& account, bool livemode, std::string type,
                     Json object) {
  Event e;
  e.id = new_object_id("evt_");
  e.account = account == config.platform_account ? std::string() : account;
  e.type = std::move(type);
  e.livemode = livemode;
  e.created = unix_now();
  e.object = std::move(object);
  e.seq = ++seq;
  if (ctx) {
    e.request_id = ctx->request_id;
    e.idempotency_key = ctx->idempotency_key;
  }
  for (const WebhookEndpoint& ep : config.webhooks) {
    if (ep.connect == !e.account.empty()) ++e.pending_webhooks;
  }
  const std::string payload = render(e).dump(2);
  for (const WebhookEndpoint& ep : config.webhooks) {
    if (ep.connect != !e.account.empty()) continue;
    outbox.push_back(Delivery{ep.url, ep.secret, e.id, payload});
  }
  events.push_back(std::move(e));
}

void Api::Impl::expire_uncaptured() {
  if (now() - last_expiry_sweep < std::chrono::minutes(1)) return;
  last_expiry_sweep = now();
  const std::int64_t cutoff = unix_now() - 7 * 24 * 3600;
  payment_intents.edit_each([&](PaymentIntent& pi) {
    if (pi.status != "requires_capture" || pi.created > cutoff) return false;
    pi.status = "canceled";
    pi.cancellation_reason = "automatic";
    pi.canceled_at = unix_now();
    pi.amount_capturable = 0;
    if (Charge* ch = charges.edit(pi.latest_charge)) ch->amount_released = ch->amount;
    emit(nullptr, pi.account, pi.livemode, "payment_intent.canceled", render(pi));
    return true;
  });
}

bool Api::Impl::run_deferred() {
  bool changed = false;
  readers.edit_each([&](Reader& r) {
    if (!r.action || !r.action->complete_soon || r.action->status != "in_progress") return false;
    r.action->status = "succeeded";
    r.action->complete_soon = false;
    emit(nullptr, r.account, r.livemode, "terminal.reader.action_succeeded", render(r));
    changed = true;
    return true;
  });
  return changed;
}

// Events are scoped to the account of the request; the platform sees its own (account empty).
// type (a '*' wildcard at the end, as Stripe allows: "payment_intent.*") or types[] (up to
// 20), never both.
Out<Json> Handlers::list_events() {
  if (auto a = allow_only(ctx.params, {"type", "types", "limit", "starting_after", "ending_before", "created",
                                       "delivery_success"});
      !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), true, kNothingExpandable); !x) return tl::unexpected(x.error());
  if (auto x = exclusive(ctx.params, {"type", "types"}); !x) return tl::unexpected(x.error());
  if (auto d = parse_bool(ctx.params, "delivery_success"); !d) return tl::unexpected(d.error());
  std::vector<std::string> types;
  if (const std::string* type = ctx.params.get("type")) types.push_back(*type);
  if (ctx.params.top_level().contains("types")) {
    auto listed = ctx.params.array("types");
    if (!listed) return tl::unexpected(listed.error());
    if (listed->size() > 20) return invalid("types may list at most 20 event types.", "types");
    types = *listed;
  }
  auto wanted = [&](const std::string& t) {
    if (types.empty()) return true;
    return std::any_of(types.begin(), types.end(), [&](const std::string& w) {
      return w.ends_with("*") ? t.starts_with(std::string_view(w).substr(0, w.size() - 1)) : t == w;
    });
  };
  std::vector<const Event*> items;
  const std::string scope = ctx.connected ? ctx.account : std::string();
  for (auto it = s.events.rbegin(); it != s.events.rend(); ++it) {
    if (it->account == scope && wanted(it->type)) items.push_back(&*it);
  }
  return list_page(ctx, items, [&](const Event& e) { return s.render(e); });
}

Out<Json> Handlers::get_event(const std::string& id) {
  if (auto a = allow_only(ctx.params, {}); !a) return tl::unexpected(a.error());
  if (auto x = allow_expand(expand(), false, kNothingExpandable); !x) return tl::unexpected(x.error());
  const std::string scope = ctx.connected ? ctx.account : std::string();
  for (const Event& e : s.events) {
    if (e.id == id && e.account == scope) return s.render(e);
  }
  return missing("event", id);
}

}  // namespace till::stripesim
