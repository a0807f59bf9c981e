// Terminal, server-driven (stripe.md section 6): locations, readers and the reader actions
// process_payment_intent, set_reader_display, refund_payment, cancel_action.

#include "handlers.hpp"

namespace till::stripesim {

Out<Reader*> Handlers::find_reader(const std::string& id) {
  const Reader* r = s.readers.find(id);
  if (!r || r->account != ctx.account) return missing("terminal.reader", id);
  return s.readers.edit(id);
}

Out<const Reader*> Handlers::view_reader(const std::string& id) const {
  const Reader* r = s.readers.find(id);
  if (!r || r->account != ctx.account) return missing("terminal.reader", id);
  return r;
}

Out<void> Handlers::reader_available(const Reader& r) const {
  if (r.status != "online") {
    return state_error(
        "Reader is currently offline, please ensure the reader is powered on and "
        "connected to the internet before retrying your request.",
        "terminal_reader_offline");
  }
  if (r.action && r.action->status == "in_progress") {
    return state_error(
        "Reader is currently busy processing another request. Please reference "
        "the docs for more information on how to handle this error.",
        "terminal_reader_busy");
  }
  return {};
}

// The answer to an action POST once the action was handed to the reader: the reader, or, for
// an unreachable reader, terminal_reader_timeout (stored under the key like every state error;
// the action did start, which is exactly why a client must treat this answer as unknown).
Out<Json> Handlers::action_started(Reader& r) {
  if (r.unreachable) {
    return state_error(
        "The request to the reader timed out. The reader may or may not have received it; "
        "retrieve the reader to see its current action.",
        "terminal_reader_timeout");
  }
  return s.render(r);
}

Out<Json> Handlers::create_location() {
  const Params& p = ctx.params;
  if (auto a = allow_only(p, {"display_name", "address", "metadata", "configuration_overrides"}); !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), false, kNothingExpandable); !x) return tl::unexpected(x.error());
  auto name = required(p, "display_name");
  if (!name) return tl::unexpected(name.error());
  if (auto n = allow_nested(p, "address", {"[line1]", "[line2]", "[city]", "[state]", "[postal_code]", "[country]"});
      !n) {
    return tl::unexpected(n.error());
  }
  auto country = required(p, "address[country]");
  if (!country) return tl::unexpected(country.error());
  auto address = p.children("address");
  std::map<std::string, std::string> metadata;
  if (auto m = apply_metadata(p, metadata); !m) return tl::unexpected(m.error());
  Location l;
  l.id = s.new_object_id("tml_");
  l.account = ctx.account;
  l.livemode = ctx.livemode;
  l.display_name = *name;
  for (auto& [k, v] : address) l.address[k] = v;
  l.metadata = std::move(metadata);
  l.seq = ++s.seq;
  const Json j = s.render(l);
  s.locations.insert(std::move(l));
  return j;
}

Out<Json> Handlers::create_reader() {
  const Params& p = ctx.params;
  if (auto a = allow_only(p, {"registration_code", "label", "location", "metadata"}); !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), false, kReaderExpandable); !x) return tl::unexpected(x.error());
  auto code = required(p, "registration_code");
  if (!code) return tl::unexpected(code.error());
  if (*code != "simulated-wpe") {
    return invalid("The registration code '" + *code +
                       "' is invalid. In test mode, use "
                       "simulated-wpe to register a simulated WisePOS E.",
                   "registration_code", "invalid_registration_code");
  }
  auto loc = required(p, "location");
  if (!loc) return tl::unexpected(loc.error());
  std::map<std::string, std::string> metadata;
  if (auto m = apply_metadata(p, metadata); !m) return tl::unexpected(m.error());
  const Location* location = s.locations.find(*loc);
  if (!location || location->account != ctx.account) {
    return missing("terminal.location", *loc, "location");
  }
  Reader r;
  r.id = s.new_object_id("tmr_");
  r.account = ctx.account;
  r.livemode = ctx.livemode;
  r.location = *loc;
  r.serial_number = s.new_id("WSC513", 9);
  if (const std::string* label = p.get("label")) r.label = *label;
  r.metadata = std::move(metadata);
  r.seq = ++s.seq;
  const Json j = s.render(r);
  s.readers.insert(std::move(r));
  return j;
}

Out<Json> Handlers::process_payment_intent(Reader& r) {
  if (auto a = allow_only(ctx.params, {"payment_intent", "process_config"}); !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), false, kReaderExpandable); !x) return tl::unexpected(x.error());
  if (auto n = allow_nested(ctx.params, "process_config",
                            {"[skip_tipping]", "[enable_customer_cancellation]", "[tipping][amount_eligible]"});
      !n) {
    return tl::unexpected(n.error());
  }
  for (const char* flag : {"process_config[skip_tipping]", "process_config[enable_customer_cancellation]"}) {
    if (auto b = parse_bool(ctx.params, flag); !b) return tl::unexpected(b.error());
  }
  auto id = required(ctx.params, "payment_intent");
  if (!id) return tl::unexpected(id.error());
  auto pi = find_pi(*id, "payment_intent");
  if (!pi) return tl::unexpected(pi.error());
  if (auto av = reader_available(r); !av) return tl::unexpected(av.error());
  if ((*pi)->status != "requires_payment_method" && (*pi)->status != "requires_confirmation") {
    return state_error(
        "PaymentIntent " + *id + " has status " + (*pi)->status + " and cannot be processed.",
        "payment_intent_unexpected_state");
  }
  ReaderAction a;
  a.type = "process_payment_intent";
  a.status = "in_progress";
  a.payment_intent = *id;
  a.detail = {{"payment_intent", *id}};
  auto config = ctx.params.children("process_config");
  if (!config.empty()) a.detail["process_config"] = config;
  r.action = std::move(a);
  return action_started(r);
}

Out<Json> Handlers::set_reader_display(Reader& r) {
  const Params& p = ctx.params;
  if (auto a = allow_only(p, {"type", "cart"}); !a) return tl::unexpected(a.error());
  if (auto x = allow_expand(expand(), false, kReaderExpandable); !x) return tl::unexpected(x.error());
  if (auto t = required(p, "type"); !t) return tl::unexpected(t.error());
  if (auto t = parse_enum(p, "type", {"cart"}); !t) return tl::unexpected(t.error());
  if (auto n = allow_nested(p, "cart",
                            {"[currency]", "[tax]", "[total]", "[line_items][#][amount]",
                             "[line_items][#][description]", "[line_items][#][quantity]"});
      !n) {
    return tl::unexpected(n.error());
  }
  Json cart = Json::object();
  Json items = Json::array();
  for (int i = 0;; ++i) {
    const std::string base = "cart[line_items][" + std::to_string(i) + "]";
    if (!p.has(base + "[amount]") && !p.has(base + "[description]")) break;
    Json item = Json::object();
    for (const char* f : {"amount", "quantity"}) {
      if (p.has(base + "[" + f + "]")) {
        auto v = parse_int(p, base + "[" + f + "]");
        if (!v) return tl::unexpected(v.error());
        item[f] = *v;
      }
    }
    if (const std::string* d = p.get(base + "[description]")) item["description"] = *d;
    items.push_back(item);
  }
  cart["line_items"] = items;
  if (const std::string* c = p.get("cart[currency]")) cart["currency"] = *c;
  for (const char* f : {"tax", "total"}) {
    if (p.has(std::string("cart[") + f + "]")) {
      auto v = parse_int(p, std::string("cart[") + f + "]");
      if (!v) return tl::unexpected(v.error());
      cart[f] = *v;
    }
  }
  for (const char* required_key : {"cart[currency]", "cart[total]"}) {
    if (auto v = required(p, required_key); !v) return tl::unexpected(v.error());
  }
  if (auto av = reader_available(r); !av) return tl::unexpected(av.error());
  ReaderAction a;
  a.type = "set_reader_display";
  a.status = "in_progress";
  a.detail = {{"type", "cart"}, {"cart", cart}};
  a.complete_soon = true;
  r.action = std::move(a);
  return action_started(r);
}

Out<Json> Handlers::refund_payment(Reader& r) {
  const Params& p = ctx.params;
  if (auto a = allow_only(p, {"payment_intent", "charge", "amount", "refund_application_fee", "metadata",
                              "reverse_transfer"});
      !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), false, kReaderExpandable); !x) return tl::unexpected(x.error());
  auto target = refund_target();
  if (!target) return tl::unexpected(target.error());
  ReaderAction a;
  a.type = "refund_payment";
  a.status = "in_progress";
  if (p.has("amount")) {
    auto v = parse_int(p, "amount");
    if (!v) return tl::unexpected(v.error());
    if (*v < 1) return invalid("This value must be greater than or equal to 1.", "amount", "amount_too_small");
    a.refund_amount = *v;
  }
  for (const char* flag : {"refund_application_fee", "reverse_transfer"}) {
    auto b = parse_bool(p, flag);
    if (!b) return tl::unexpected(b.error());
    if (std::string_view(flag) == "refund_application_fee") a.refund_application_fee = *b;
  }
  if (auto m = apply_metadata(p, a.refund_metadata); !m) return tl::unexpected(m.error());
  auto pi_id = charge_to_pi(*target);
  if (!pi_id) return tl::unexpected(pi_id.error());
  auto pi = find_pi(*pi_id, "payment_intent");
  if (!pi) return tl::unexpected(pi.error());
  a.payment_intent = *pi_id;
  if (auto av = reader_available(r); !av) return tl::unexpected(av.error());
  a.detail = {{"payment_intent", *pi_id},
              {"charge", (*pi)->latest_charge},
              {"amount", optional_int(a.refund_amount)},
              {"refund_application_fee", a.refund_application_fee}};
  r.action = std::move(a);
  return action_started(r);
}

Out<Json> Handlers::cancel_action(Reader& r) {
  if (auto a = allow_only(ctx.params, {}); !a) return tl::unexpected(a.error());
  if (auto x = allow_expand(expand(), false, kReaderExpandable); !x) return tl::unexpected(x.error());
  if (r.status != "online") return tl::unexpected(reader_available(r).error());
  if (!r.action || r.action->status != "in_progress") {
    return state_error("This reader has no in-progress action to cancel.",
                       "terminal_reader_action_not_cancelable");
  }
  if (r.unreachable) {
    // The cancel never reached the reader: its action carries on.
    return action_started(r);
  }
  // As Stripe answers: the reader comes back with no action. The interrupted action is
  // reported as failed (canceled) to webhooks so a waiting client learns of it.
  ReaderAction failed = *r.action;
  failed.status = "failed";
  failed.failure_code = "canceled";
  failed.failure_message = "The action was canceled.";
  r.action = failed;
  s.emit(&ctx, r.account, r.livemode, "terminal.reader.action_failed", s.render(r));
  r.action.reset();
  return s.render(r);
}

Out<Json> Handlers::list_locations() {
  if (auto a = allow_only(ctx.params, {"limit", "starting_after", "ending_before"}); !a) return tl::unexpected(a.error());
  if (auto x = allow_expand(expand(), true, kNothingExpandable); !x) return tl::unexpected(x.error());
  auto items = newest_first(s.locations, ctx.account);
  return list_page(ctx, items, [&](const Location& l) { return s.render(l); });
}

Out<Json> Handlers::get_location(const std::string& id) {
  if (auto a = allow_only(ctx.params, {}); !a) return tl::unexpected(a.error());
  if (auto x = allow_expand(expand(), false, kNothingExpandable); !x) return tl::unexpected(x.error());
  const Location* l = s.locations.find(id);
  if (!l || l->account != ctx.account) return missing("terminal.location", id);
  return s.render(*l);
}

Out<Json> Handlers::list_readers() {
  if (auto a = allow_only(ctx.params, {"location", "status", "device_type", "serial_number", "limit",
                                       "starting_after", "ending_before"});
      !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), true, kReaderExpandable); !x) return tl::unexpected(x.error());
  auto status = parse_enum(ctx.params, "status", {"online", "offline"});
  if (!status) return tl::unexpected(status.error());
  auto items = newest_first(s.readers, ctx.account);
  std::erase_if(items, [&](const Reader* r) {
    const std::string* loc = ctx.params.get("location");
    const std::string* serial = ctx.params.get("serial_number");
    const std::string* type = ctx.params.get("device_type");
    return (loc && r->location != *loc) || (*status && r->status != **status) ||
           (serial && r->serial_number != *serial) || (type && *type != "simulated_wisepos_e");
  });
  return list_page(ctx, items, [&](const Reader& r) { return s.render(r); });
}

}  // namespace till::stripesim
