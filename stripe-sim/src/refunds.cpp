// Refunds (stripe.md section 5): POST /v1/refunds, GET /v1/refunds[/{id}], GET /v1/charges/{id}.

#include "handlers.hpp"

namespace till::stripesim {

Out<Json> Handlers::do_refund(PaymentIntent& pi, std::optional<std::int64_t> amount, bool refund_fee,
                              const std::string& reason, const std::map<std::string, std::string>& md) {
  if (pi.status == "requires_capture") {
    return state_error(
        "This PaymentIntent has not been captured: cancel it instead of "
        "refunding.",
        "charge_not_captured");
  }
  if (pi.status != "succeeded") {
    return state_error("This PaymentIntent has no successful charge to refund (status " + pi.status + ").",
                       "payment_intent_unexpected_state");
  }
  Charge& ch = *s.charges.edit(pi.latest_charge);
  const std::int64_t remaining = ch.amount_captured - ch.amount_refunded;
  if (remaining <= 0) {
    return state_error("Charge " + ch.id + " has already been refunded.", "charge_already_refunded");
  }
  const std::int64_t value = amount.value_or(remaining);
  if (value <= 0) return invalid("This value must be greater than or equal to 1.", "amount", "amount_too_small");
  if (value > remaining) {
    return state_error("Refund amount (" + std::to_string(value) +
                           ") is greater than unrefunded amount on charge (" + std::to_string(remaining) +
                           ")",
                       "amount_too_large");
  }
  Refund r;
  r.id = s.new_object_id("re_");
  r.account = pi.account;
  r.livemode = pi.livemode;
  r.charge = ch.id;
  r.payment_intent = pi.id;
  r.currency = pi.currency;
  r.amount = value;
  r.reason = reason;
  r.metadata = md;
  r.created = s.unix_now();
  r.seq = ++s.seq;
  if (refund_fee && ch.application_fee_amount) {
    // Proportional, as Stripe does for partial refunds; the last refund takes the rest.
    const std::int64_t fee = *ch.application_fee_amount;
    std::int64_t part = ch.amount_captured > 0 ? fee * value / ch.amount_captured : 0;
    if (ch.amount_refunded + value >= ch.amount_captured) part = fee - ch.application_fee_refunded;
    part = std::min(part, fee - ch.application_fee_refunded);
    r.application_fee_refunded = part;
    ch.application_fee_refunded += part;
  }
  ch.amount_refunded += value;
  ch.refunds.push_back(r.id);
  const Json refund_json = s.render(r);
  s.refunds.insert(std::move(r));
  s.emit(&ctx, pi.account, pi.livemode, "refund.created", refund_json);
  s.emit(&ctx, pi.account, pi.livemode, "charge.refunded", s.render(ch));
  return refund_json;
}

// payment_intent or charge (exactly one), resolved to the PaymentIntent's id. Run after the
// other params were validated: a missing object is an answer Stripe stores under the key.
Out<std::string> Handlers::refund_target() {
  const Params& p = ctx.params;
  if (auto x = exclusive(p, {"payment_intent", "charge"}); !x) return tl::unexpected(x.error());
  if (p.has("payment_intent")) return required(p, "payment_intent");
  if (!p.has("charge")) {
    return invalid("One of the following params should be provided for this request: payment_intent or charge.",
                   "payment_intent", "parameter_missing");
  }
  auto cid = required(p, "charge");
  if (!cid) return cid;
  return *cid;
}

Out<std::string> Handlers::charge_to_pi(const std::string& target) {
  if (!ctx.params.has("charge")) return target;
  const Charge* ch = s.charges.find(target);
  if (!ch || ch->account != ctx.account) return missing("charge", target, "charge");
  return ch->payment_intent;
}

Out<Json> Handlers::create_refund() {
  const Params& p = ctx.params;
  if (auto a = allow_only(p, {"payment_intent", "charge", "amount", "reason", "refund_application_fee", "metadata"});
      !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), false, kRefundExpandable); !x) return tl::unexpected(x.error());
  auto target = refund_target();
  if (!target) return tl::unexpected(target.error());
  std::optional<std::int64_t> amount;
  if (p.has("amount")) {
    auto a = parse_int(p, "amount");
    if (!a) return tl::unexpected(a.error());
    if (*a < 1) return invalid("This value must be greater than or equal to 1.", "amount", "amount_too_small");
    amount = *a;
  }
  auto reason = parse_enum(p, "reason", {"duplicate", "fraudulent", "requested_by_customer"});
  if (!reason) return tl::unexpected(reason.error());
  auto fee = parse_bool(p, "refund_application_fee");
  if (!fee) return tl::unexpected(fee.error());
  std::map<std::string, std::string> md;
  if (auto m = apply_metadata(p, md); !m) return tl::unexpected(m.error());
  auto pi_id = charge_to_pi(*target);
  if (!pi_id) return tl::unexpected(pi_id.error());
  auto pi = find_pi(*pi_id, "payment_intent");
  if (!pi) return tl::unexpected(pi.error());
  if (const Charge* ch = s.charges.find((*pi)->latest_charge); ch && ch->card.interac) {
    return state_error(
        "Interac refunds must be made in person on a reader (POST /v1/terminal/readers/{id}/refund_payment).",
        "refund_requires_card_present");
  }
  return do_refund(**pi, amount, *fee, reason->value_or(""), md);
}

Out<Json> Handlers::list_refunds() {
  if (auto a = allow_only(ctx.params, {"payment_intent", "charge", "limit", "starting_after", "ending_before", "created"});
      !a) {
    return tl::unexpected(a.error());
  }
  if (auto x = allow_expand(expand(), true, kRefundExpandable); !x) return tl::unexpected(x.error());
  auto items = newest_first(s.refunds, ctx.account);
  if (const std::string* pi = ctx.params.get("payment_intent")) {
    std::erase_if(items, [&](const Refund* r) { return r->payment_intent != *pi; });
  }
  if (const std::string* ch = ctx.params.get("charge")) {
    std::erase_if(items, [&](const Refund* r) { return r->charge != *ch; });
  }
  return list_page(ctx, items, [&](const Refund& r) { return s.render(r); });
}

Out<Json> Handlers::get_refund(const std::string& id) {
  if (auto a = allow_only(ctx.params, {}); !a) return tl::unexpected(a.error());
  if (auto x = allow_expand(expand(), false, kRefundExpandable); !x) return tl::unexpected(x.error());
  const Refund* r = s.refunds.find(id);
  if (!r || r->account != ctx.account) return missing("refund", id);
  return s.render(*r);
}

Out<Json> Handlers::get_charge(const std::string& id) {
  if (auto a = allow_only(ctx.params, {}); !a) return tl::unexpected(a.error());
  if (auto x = allow_expand(expand(), false, kChargeExpandable); !x) return tl::unexpected(x.error());
  const Charge* ch = s.charges.find(id);
  if (!ch || ch->account != ctx.account) return missing("charge", id);
  return s.render(*ch, expand());
}

}  // namespace till::stripesim
