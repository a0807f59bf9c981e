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
  if (value <= 0) return invalid("Refund amount must be positive.", "amount");
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

Out<Json> Handlers::create_refund() {
  const Params& p = ctx.params;
  if (auto a = allow_only(
          p, {"payment_intent", "charge", "amount", "reason", "refund_application_fee", "metadata"});
      !a) {
    return tl::unexpected(a.error());
  }
  std::string pi_id;
  if (const std::string* id = p.get("payment_intent")) {
    pi_id = *id;
  } else if (const std::string* cid = p.get("charge")) {
    const Charge* ch = s.charges.find(*cid);
    if (!ch || ch->account != ctx.account) return missing("charge", *cid, "charge");
    pi_id = ch->payment_intent;
  } else {
    return invalid(
        "One of the following params should be provided for this request: "
        "payment_intent or charge.",
        "payment_intent", "parameter_missing");
  }
  std::optional<std::int64_t> amount;
  if (p.has("amount")) {
    auto a = parse_int(p, "amount");
    if (!a) return tl::unexpected(a.error());
    amount = *a;
  }
  std::string reason;
  if (const std::string* r = p.get("reason")) {
    if (*r != "duplicate" && *r != "fraudulent" && *r != "requested_by_customer") {
      return invalid(
          "Invalid reason: must be one of duplicate, fraudulent, or "
          "requested_by_customer",
          "reason");
    }
    reason = *r;
  }
  auto fee = parse_bool(p, "refund_application_fee");
  if (!fee) return tl::unexpected(fee.error());
  std::map<std::string, std::string> md;
  if (auto m = apply_metadata(p, md); !m) return tl::unexpected(m.error());
  auto pi = find_pi(pi_id, "payment_intent");
  if (!pi) return tl::unexpected(pi.error());
  if (const Charge* ch = s.charges.find((*pi)->latest_charge); ch && ch->card.interac) {
    return state_error(
        "Interac refunds must be made in person on a reader "
        "(POST /v1/terminal/readers/{id}/refund_payment).",
        "refund_requires_card_present");
  }
  return do_refund(**pi, amount, *fee, reason, md);
}

Out<Json> Handlers::list_refunds() {
  auto items = newest_first(s.refunds, ctx.account);
  if (const std::string* pi = ctx.params.get("payment_intent")) {
    std::erase_if(items, [&](const Refund* r) { return r->payment_intent != *pi; });
  }
  return list_page(ctx, items, [&](const Refund& r) { return s.render(r); });
}

Out<Json> Handlers::get_refund(const std::string& id) {
  const Refund* r = s.refunds.find(id);
  if (!r || r->account != ctx.account) return missing("refund", id);
  return s.render(*r);
}

Out<Json> Handlers::get_charge(const std::string& id) {
  const Charge* ch = s.charges.find(id);
  if (!ch || ch->account != ctx.account) return missing("charge", id);
  return s.render(*ch);
}

}  // namespace till::stripesim
